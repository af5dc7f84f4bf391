"""Compare targets with live grants now, from the shell or cron (docs/connectors.md, "Drift").

    manage.py connectors_drift                      every enabled target
    manage.py connectors_drift --target "CRM" …     only these (id or exact name; repeatable)
    manage.py connectors_drift --dry-run            observe and compare only: nothing is
                                                    removed, provisioned again or recorded

One line per target as it is checked, each finding below it, then a summary. Exit codes:
0 no drift (targets that cannot be observed, webhook, do not count); 1 drift found; 2 bad
input (an unknown or disabled target), nothing checked; 3 a target did not answer (and no
drift was found on the others). Lines are in the organisation's language (``LANGUAGE_CODE``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.connectors.models import DriftAction, DriftFinding, Target
from apps.connectors.services.drift import (
    DriftResult,
    DriftStatus,
    not_observable_text,
    target_drift_check,
)
from jitportal.inputs import by_id_or_name

EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2
EXIT_DID_NOT_ANSWER = 3


def _would(action: str) -> str:
    """What a real check would do with a finding (dry run)."""
    would: dict[str, str] = {
        DriftAction.REMOVED: _("would be removed"),
        DriftAction.REPORTED: _("would be reported only"),
        DriftAction.REPROVISIONED: _("would be provisioned again"),
    }
    return would.get(action, action)


class Command(BaseCommand):
    help = (
        "Compare every enabled target (or those named) with live grants now: remove or report "
        "accounts no live grant needs, provision again those a live grant lacks. Exit 0 no "
        "drift, 1 drift found, 2 bad input, 3 a target did not answer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--target",
            action="append",
            metavar="TARGET",
            help=_("Check only this target (its id or exact name); may be given again."),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("Observe and compare only: remove, provision and record nothing."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = bool(options["dry_run"])
        targets = self._targets(options["target"])
        if not targets:
            self.stdout.write(_("No enabled target: nothing to check."))
            return
        self.stdout.write(
            ngettext(
                "Checking %(count)d target for drift.",
                "Checking %(count)d targets for drift.",
                len(targets),
            )
            % {"count": len(targets)}
        )
        if dry_run:
            self.stdout.write(_("Dry run: nothing is removed, provisioned again or recorded."))
        results = []
        for target in targets:
            result = target_drift_check(target_id=target.pk, dry_run=dry_run)
            self._report(target, result, dry_run=dry_run)
            results.append(result)
        self._finish(results)

    # --- helpers --------------------------------------------------------------------------

    def _targets(self, refs: list[str] | None) -> list[Target]:
        """The targets named (in the order given, each once), or every enabled one."""
        if refs is None:
            return list(Target.objects.filter(enabled=True).order_by("pk"))
        chosen: list[Target] = []
        for ref in refs:
            target = self._target(ref)
            if target.pk not in {t.pk for t in chosen}:
                chosen.append(target)
        return chosen

    def _target(self, ref: str) -> Target:
        ref = ref.strip()
        if not ref:
            raise CommandError(
                _("Name the target to check by its id or its exact name."),
                returncode=EXIT_BAD_INPUT,
            )
        target = by_id_or_name(Target.objects.all(), ref)
        if target is None:
            known = ", ".join(
                f"{pk} ({name})" for pk, name in Target.objects.values_list("pk", "name")
            )
            raise CommandError(
                _("No target with id or name “%(ref)s”. Targets: %(known)s.")
                % {"ref": ref, "known": known or _("none yet")},
                returncode=EXIT_BAD_INPUT,
            )
        if not target.enabled:
            raise CommandError(
                _(
                    "Target “%(target)s” is disabled: the portal does not act on it. Enable "
                    "it in the admin to check it."
                )
                % {"target": target.name},
                returncode=EXIT_BAD_INPUT,
            )
        return target

    def _report(self, target: Target, result: DriftResult, *, dry_run: bool) -> None:
        names = {"target": target.name, "kind": target.kind}
        if result.status == DriftStatus.NOT_OBSERVABLE:
            self.stdout.write(not_observable_text(target))
        elif result.status == DriftStatus.DID_NOT_ANSWER:
            self.stdout.write(
                self.style.ERROR(
                    _("%(target)s (%(kind)s): did not answer: %(error)s")
                    % {**names, "error": result.error}
                )
            )
        elif not result.findings:
            self.stdout.write(_("%(target)s (%(kind)s): no drift") % names)
        else:
            self.stdout.write(
                self.style.WARNING(
                    ngettext(
                        "%(target)s (%(kind)s): %(count)d finding",
                        "%(target)s (%(kind)s): %(count)d findings",
                        len(result.findings),
                    )
                    % {**names, "count": len(result.findings)}
                )
            )
            for finding in result.findings:
                self.stdout.write("  " + self._finding_text(finding, dry_run=dry_run))

    def _finding_text(self, finding: DriftFinding, *, dry_run: bool) -> str:
        action = _would(finding.action) if dry_run else finding.get_action_display()
        return _("%(account)s: %(kind)s; %(action)s") % {
            "account": finding.account,
            "kind": finding.get_kind_display(),
            "action": action,
        }

    def _finish(self, results: list[DriftResult]) -> None:
        findings = sum(len(r.findings) for r in results)
        silent = sum(1 for r in results if r.status == DriftStatus.DID_NOT_ANSWER)
        said = []
        if findings:
            said.append(
                ngettext(
                    "Drift found: %(count)d finding.", "Drift found: %(count)d findings.", findings
                )
                % {"count": findings}
            )
        if silent:
            said.append(
                ngettext(
                    "%(count)d target did not answer.", "%(count)d targets did not answer.", silent
                )
                % {"count": silent}
            )
        if said:
            raise CommandError(
                " ".join(said), returncode=EXIT_DRIFT if findings else EXIT_DID_NOT_ANSWER
            )
        self.stdout.write(self.style.SUCCESS(_("No drift.")))
