"""The portal's own audit trail: decisions and events as an append-only hash chain.

django-auditlog records field-level changes of models; this trail records *decisions*
(request, approval, expiry, purge, ...) with actor, time, reason and the policy in force.
Each event stores the digest of the one before it, so an edit to an old row is detectable.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jitportal.formats import datetime_display

# The chain's fields, written out once. Each event's digest covers the digest of the event
# before it (``prev_hash``) and then these values, in this order (docs/audit.md).
CHAIN_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "reason",
    "data",
)
# Every stored column of an event, in the order exports write them.
EVENT_FIELDS = ("id", *CHAIN_FIELDS, "prev_hash", "hash")
# The free-text columns among them (what a spreadsheet must read as text).
TEXT_FIELDS = ("actor_label", "action", "target_type", "target_id", "target_repr", "reason")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_target(self, obj: models.Model) -> "AuditEventQuerySet":
        return self.filter(target_type=obj._meta.label_lower, target_id=str(obj.pk))

    def between(self, start=None, end=None) -> "AuditEventQuerySet":
        qs = self
        if start is not None:
            qs = qs.filter(occurred_at__gte=start)
        if end is not None:
            qs = qs.filter(occurred_at__lt=end)
        return qs


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now, db_index=True)
    # No database constraint: deleting a user must never rewrite (and so break) the chain.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(
        _("actor"),
        max_length=150,
        help_text=_("Username at the time, or system:<process> for beat/commands."),
    )
    # Indexed with the time (Meta.indexes): the admin's filter of one action in a period.
    action = models.CharField(_("action"), max_length=80)
    target_type = models.CharField(_("target type"), max_length=100, blank=True, db_index=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_repr = models.CharField(_("target"), max_length=255, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous digest"), max_length=64)
    hash = models.CharField(_("digest"), max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["action", "occurred_at"]),
        ]
        # Adding is done by services only; the admin is read-only.
        default_permissions = ("view",)
        permissions = [
            ("export_auditevent", _("Can export the audit trail")),
            ("verify_auditevent", _("Can verify the audit chain")),
        ]

    def __str__(self) -> str:
        return f"{datetime_display(self.occurred_at)} {self.actor_label} {self.action}"
