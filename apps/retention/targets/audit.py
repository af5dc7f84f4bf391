"""The audit trail as a purge target: only a prefix of its hash chain may go."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Max, Min
from django.utils.translation import gettext as _

from jitportal.inputs import parse_id

from ..holds import HoldState
from ..models import LegalHoldRecord, PurgeAction, RetentionRule
from .base import AUDIT_PURGED_ACTION, ChunkResult, Counts, _text, installed_model
from .model import ModelTarget


class AuditChainTarget(ModelTarget):
    """The audit trail's hash chain: only a prefix of it may go, or it would not verify.

    A batch deletes the oldest events (never the newest one, which the next event links
    to) up to the first event that is younger than the cutoff or held, and records an
    ``audit.trail.purged`` event whose ``data.anchor`` is the digest of the last removed
    event: verification starts from the oldest remaining event and that event vouches for
    where it starts.
    """

    @classmethod
    def rule_problems(cls, rule: RetentionRule) -> list[tuple[str, str]]:
        """The chain is purged oldest first, whole, by delete only, and kept at least
        ``AUDIT_RETENTION_DAYS``."""
        model = installed_model(rule)
        problems = cls._key_problems(model) if model is not None else []
        if rule.action != PurgeAction.DELETE:
            problems.append(
                ("action", _("Audit events can only be deleted: rewriting them breaks the chain."))
            )
        if rule.filter:
            problems.append(
                ("filter", _("Audit events are purged oldest first, as a whole: no filter."))
            )
        if rule.date_field and rule.date_field != "occurred_at":
            problems.append(("date_field", _("Audit events are judged by occurred_at.")))
        minimum = settings.JITPORTAL["AUDIT_RETENTION_DAYS"]
        if rule.period_unit and rule.period_amount:
            days = rule.period_in_days()
            if days < minimum:
                problems.append(
                    (
                        "period_amount",
                        _(
                            "Audit events are kept at least %(minimum)s days "
                            "(settings.JITPORTAL['AUDIT_RETENTION_DAYS']); this period is "
                            "%(days)s."
                        )
                        % {"minimum": minimum, "days": days},
                    )
                )
        return problems

    def _limit(self, holds: HoldState) -> int | None:
        """Events with an id below this may go."""
        events = self.model._base_manager.db_manager(self.using)
        head = events.aggregate(m=Max("pk"))["m"]
        if head is None:
            return None
        limit = head
        first_young = events.filter(occurred_at__gte=self.cutoff).aggregate(m=Min("pk"))["m"]
        if first_young is not None:
            limit = min(limit, first_young)
        if self._ct(self.model) in holds.record_cts:
            held = LegalHoldRecord.objects.filter(
                hold__lifted_at__isnull=True, content_type_id=self._ct(self.model)
            ).values_list("object_id", flat=True)
            held_ids = [pk for x in held if (pk := parse_id(x)) is not None]
            if held_ids:
                limit = min(limit, min(held_ids))
        return limit

    def matching(self) -> models.QuerySet:
        return (
            self.model._base_manager.db_manager(self.using)
            .filter(occurred_at__lt=self.cutoff)
            .order_by()
        )

    def counts(self, holds: HoldState) -> Counts:
        matched = self.matching().count()
        if holds.blocks_rule:
            return Counts(matched=matched, held=matched)
        limit = self._limit(holds)
        going = self.matching().filter(pk__lt=limit).count() if limit is not None else 0
        held = 0
        ct = self._ct(self.model)
        if ct in holds.record_cts:
            held = self.matching().filter(pk__in=self._held_keys(ct)).count()
        # The rest stay because an event after them must stay: the chain has no gaps.
        return Counts(matched=matched, held=held, protected=max(0, matched - going - held))

    def sample(self, holds: HoldState, size: int = 10) -> list[dict[str, Any]]:
        if holds.blocks_rule:
            return []
        limit = self._limit(holds) or 0
        rows = (
            self.matching()
            .filter(pk__lt=limit)
            .order_by("pk")
            .values("pk", "occurred_at", "action")
        )
        return [{k: _text(v) for k, v in row.items()} for row in rows[:size]]

    def key_bounds(self) -> tuple[int, int] | None:
        found = self.matching().aggregate(lo=Min("pk"), hi=Max("pk"))
        return None if found["lo"] is None else (found["lo"], found["hi"])

    def next_key(self, after: int, upper: int) -> int | None:
        return after if after <= upper else None

    def run_chunk(self, lo: int, hi: int, holds: HoldState) -> ChunkResult:
        from apps.audit.services import audit_event_record

        limit = self._limit(holds)
        if limit is None or lo >= limit:
            return ChunkResult()
        end = min(hi, limit)
        events = self.model._base_manager.db_manager(self.using)
        doomed = events.filter(pk__gte=lo, pk__lt=end)
        keys = list(doomed.order_by("pk").values_list("pk", flat=True))
        if not keys:
            return ChunkResult()
        deleted = doomed._raw_delete(self.using)
        first_kept = (
            events.filter(pk__gte=end).order_by("pk").values_list("pk", "prev_hash").first()
        )
        if first_kept is not None:
            audit_event_record(
                action=AUDIT_PURGED_ACTION,
                actor=self.context.actor,
                actor_label=self.context.actor_label,
                reason="Audit events past their retention period were purged.",
                data={
                    "anchor": first_kept[1],
                    "oldest_kept_id": first_kept[0],
                    "deleted": deleted,
                    "first_deleted_id": keys[0],
                    "last_deleted_id": keys[-1],
                    "cutoff": self.cutoff.isoformat(),
                    "purge_run_id": self.context.run_id,
                    "retention_rule_id": self.context.rule_id,
                },
            )
        return ChunkResult(
            examined=len(keys), affected=deleted, keys="\n".join(str(k) for k in keys)
        )
