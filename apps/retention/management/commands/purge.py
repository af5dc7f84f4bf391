"""List, preview and run retention purges from the shell.

    manage.py purge                      list the rules and whether each is due
    manage.py purge --preview RULE       what a run would do now (recorded as a dry run)
    manage.py purge --run RULE           run one rule now, with a progress line per batch
    manage.py purge --all-due            run every due rule, one after the other
    --batch-size N                       rows per batch (default JITPORTAL["PURGE_BATCH_SIZE"])

RULE is a rule's id or its exact name. Exit codes: 0 done; 1 a run failed or stopped part
way (see its error; running it again continues); 2 bad input; 3 refused (safety check,
four-eyes confirmation needed, legal hold, or the rule is already running).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.retention.models import PurgeRun, PurgeRunStatus, PurgeTrigger, RetentionRule
from apps.retention.selectors import purge_preview, rule_due_state, rules_due
from apps.retention.services import (
    PurgeRefused,
    purge_run_dry,
    purge_run_execute,
    purge_run_request,
    purge_runs_interrupted_close,
)
from apps.retention.validation import MAX_BATCH_SIZE
from jitportal.formats import date_display, datetime_display
from jitportal.inputs import by_id_or_name

ACTOR = "system:command"
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3


class Command(BaseCommand):
    help = "List retention rules, preview a purge, or run one rule or every due rule."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--list", action="store_true", help="List rules (the default).")
        group.add_argument("--preview", metavar="RULE", help="Preview one rule (dry run).")
        group.add_argument("--run", metavar="RULE", help="Run one rule now.")
        group.add_argument("--all-due", action="store_true", help="Run every due rule.")
        parser.add_argument(
            "--batch-size",
            type=int,
            metavar="N",
            help=f"Rows per batch, 1 to {MAX_BATCH_SIZE:,} "
            f"(default {settings.JITPORTAL['PURGE_BATCH_SIZE']:,} or the rule's own).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options.get("batch_size")
        if batch_size is not None and not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(
                f"--batch-size must be between 1 and {MAX_BATCH_SIZE:,}, not {batch_size}.",
                returncode=EXIT_BAD_INPUT,
            )
        if options.get("preview"):
            self._preview(self._rule(options["preview"]))
        elif options.get("run"):
            code = self._run(self._rule(options["run"]), batch_size)
            if code:
                raise CommandError("The purge did not complete (see above).", returncode=code)
        elif options.get("all_due"):
            code = self._all_due(batch_size)
            if code:
                raise CommandError("Not every due rule completed (see above).", returncode=code)
        else:
            if batch_size is not None:
                raise CommandError(
                    "--batch-size goes with --run or --all-due.", returncode=EXIT_BAD_INPUT
                )
            self._list()

    # --- helpers --------------------------------------------------------------------------

    def _rule(self, ref: str) -> RetentionRule:
        ref = ref.strip()
        rule = by_id_or_name(RetentionRule.objects.all(), ref)
        if rule is None:
            known = ", ".join(
                f"{pk} ({name})" for pk, name in RetentionRule.objects.values_list("pk", "name")
            )
            raise CommandError(
                f"No retention rule with id or name “{ref}”. Rules: {known or 'none yet'}.",
                returncode=EXIT_BAD_INPUT,
            )
        return rule

    def _list(self) -> None:
        rules = list(
            RetentionRule.objects.select_related("asset__system", "content_type").order_by("pk")
        )
        if not rules:
            self.stdout.write("No retention rules yet. Add them in the admin.")
            return
        now = timezone.now()
        self.stdout.write(f"{'id':>4}  {'status':<28} {'action':<9} {'period':<10} rule")
        for rule in rules:
            state = rule_due_state(rule, now=now)
            last = rule.runs.real().done().order_by("-finished_at").first()
            last_text = (
                f"; last run #{last.pk} {last.status} {date_display(last.finished_at)}"
                if last and last.finished_at
                else ""
            )
            self.stdout.write(
                f"{rule.pk:>4}  {state.label[:28]:<28} {rule.action:<9} {rule.period_label:<10} "
                f"{rule.name} [{rule.target_label}.{rule.date_field}]{last_text}"
            )

    def _preview(self, rule: RetentionRule) -> None:
        preview = purge_preview(rule=rule)
        if not preview.ok:
            for problem in preview.problems:
                self.stderr.write(f"refused: {problem}")
            raise CommandError(f"“{rule}” cannot run.", returncode=EXIT_REFUSED)
        run = purge_run_dry(
            rule_id=rule.pk, actor=None, actor_label=ACTOR, trigger=PurgeTrigger.COMMAND
        )
        counts = preview.counts
        self.stdout.write(f"Preview of “{rule}” ({preview.target_label}), dry run #{run.pk}")
        cutoff = datetime_display(preview.cutoff) if preview.cutoff else "–"
        self.stdout.write(f"  cutoff:    {cutoff}")
        self.stdout.write(f"  matched:   {counts.matched:,}")
        self.stdout.write(f"  held:      {counts.held:,}")
        self.stdout.write(f"  protected: {counts.protected:,} (other rows still refer to them)")
        verb = "deleted" if rule.action == "delete" else "anonymised"
        self.stdout.write(f"  would be {verb}: {counts.would_go:,}")
        if preview.holds.blocks_rule:
            self.stdout.write(f"  blocked by {preview.holds.blocking_label()}")
        if preview.needs_four_eyes:
            self.stdout.write(
                "  a first run this large needs a second person's confirmation in the admin"
            )
        for row in preview.sample:
            self.stdout.write("  sample: " + ", ".join(f"{k}={v}" for k, v in row.items()))
        self.stdout.write("Nothing was changed.")

    def _run(self, rule: RetentionRule, batch_size: int | None) -> int:
        try:
            request = purge_run_request(
                rule_id=rule.pk,
                actor=None,
                actor_label=ACTOR,
                trigger=PurgeTrigger.COMMAND,
                queue=False,
            )
        except PurgeRefused as exc:
            self.stderr.write(f"refused: {exc}")
            return EXIT_REFUSED
        if request.awaiting_confirmation:
            self.stderr.write(f"refused: {request.message}")
            return EXIT_REFUSED
        run = request.run
        assert run is not None
        self.stdout.write(f"Run #{run.pk} of “{rule}” ({rule.action})")
        started = time.monotonic()
        shown = {"at": 0.0, "batches": 0}

        def progress(current: PurgeRun) -> None:
            now = time.monotonic()
            if current.batches > 1 and now - shown["at"] < 1.0:
                return
            shown.update(at=now, batches=current.batches)
            self._progress_line(current, now - started)

        try:
            run = purge_run_execute(run_id=run.pk, batch_size=batch_size, progress=progress)
        except PurgeRefused as exc:
            self.stderr.write(f"refused: {exc}")
            return EXIT_REFUSED
        if run.batches and run.batches != shown["batches"]:
            self._progress_line(run, time.monotonic() - started)
        return self._report(run, time.monotonic() - started)

    def _progress_line(self, run: PurgeRun, seconds: float) -> None:
        rate = run.done_rows / seconds if seconds > 0 else 0
        self.stdout.write(
            f"  batch {run.batches}: {run.done_rows:,} / {run.matched_label} rows "
            f"({run.percent}%), {rate:,.0f} rows/s"
        )

    def _report(self, run: PurgeRun, seconds: float) -> int:
        verb = "deleted" if run.action == "delete" else "anonymised"
        summary = (
            f"{run.status}: {verb} {run.affected:,} of {run.matched:,} matched; skipped "
            f"{run.skipped_held:,} held and {run.skipped_protected:,} protected; "
            f"{run.batches} batch(es) in {seconds:.1f} s; cutoff "
            f"{datetime_display(run.cutoff)}"
            if run.cutoff
            else f"{run.status}"
        )
        if run.status == PurgeRunStatus.SUCCEEDED:
            self.stdout.write(self.style.SUCCESS(summary))
            if run.note:
                self.stdout.write(f"  {run.note}")
            if run.affected:
                self.stdout.write(f"  digest of the {verb} keys: {run.digest}")
            return 0
        self.stderr.write(summary)
        self.stderr.write(f"  {run.error or run.note}")
        if run.refused:
            return EXIT_REFUSED
        return EXIT_FAILED

    def _all_due(self, batch_size: int | None) -> int:
        for run in purge_runs_interrupted_close(actor_label=ACTOR):
            self.stderr.write(f"closed run #{run.pk} of “{run.rule}” as interrupted")
        due = rules_due()
        if not due:
            self.stdout.write("No rule is due.")
            return 0
        worst = 0
        for rule in due:
            code = self._run(rule, batch_size)
            worst = max(worst, code)
        return worst
