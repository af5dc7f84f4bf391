"""Reports own little data: the frozen copies of the record of processing.

``Report`` has no table. It carries the report permissions and gives the reports a place
on the admin index (its changelist is the list of reports a user may open).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jitportal.formats import datetime_display


class Report(models.Model):
    """No rows: the permissions for reading reports, and the admin index entry."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_ropa", _("Can view the records of processing (ROPA) and the data map")),
            (
                "view_registers",
                _("Can view access registers, standing privileges and approval statistics"),
            ),
            ("view_dashboard", _("Can view the dashboard")),
        ]
        verbose_name = _("report")
        verbose_name_plural = _("reports and dashboard")

    def __str__(self) -> str:
        return str(_("report"))


class RopaRecord(models.TextChoices):
    CONTROLLER = "controller", _("Controller record (Art. 30(1))")
    PROCESSOR = "processor", _("Processor record (Art. 30(2))")


class RopaSnapshot(models.Model):
    """A dated copy of the record of processing, kept as it was, with its digest."""

    taken_at = models.DateTimeField(_("taken at"), default=timezone.now, db_index=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("taken by"),
    )
    taken_by_label = models.CharField(_("taken by"), max_length=150)
    record = models.CharField(
        _("record"), max_length=10, choices=RopaRecord.choices, default=RopaRecord.CONTROLLER
    )
    note = models.CharField(
        _("note"), max_length=255, blank=True, help_text=_("Why it was taken, for whom.")
    )
    schema_version = models.PositiveSmallIntegerField(_("schema version"))
    content = models.JSONField(_("content"))
    digest = models.CharField(
        _("SHA-256 digest"),
        max_length=64,
        help_text=_("Of the canonical JSON of the content (keys sorted, no spaces, UTF-8)."),
    )
    activity_count = models.PositiveIntegerField(_("activities"), default=0)
    gaps_total = models.PositiveIntegerField(_("gaps"), default=0)

    class Meta:
        ordering = ["-taken_at", "-id"]
        # Snapshots are taken, never edited or deleted: that is what makes them evidence.
        default_permissions = ("add", "view")
        verbose_name = _("ROPA snapshot")
        verbose_name_plural = _("ROPA snapshots")

    def __str__(self) -> str:
        return _("ROPA snapshot #%(id)s (%(record)s, %(at)s)") % {
            "id": self.pk,
            "record": self.record,
            "at": datetime_display(self.taken_at),
        }
