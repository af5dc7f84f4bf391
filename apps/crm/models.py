"""Governed sample data: customers and their support tickets.

These rows are what just-in-time access protects and what retention purges. Each model is
registered as a data asset (``DataAsset.governed_model``) by the demo loader.

``str()`` of a governed row is its reference and nothing else ("CUST-00001", "Ticket #12"):
it is what every generic display shows (select and raw-id widgets, related fields in the
admin, breadcrumbs, the admin's LogEntry, the audit trail's ``target_repr``), also to people
without a grant on the row's asset and for years after the row is gone. Names and free text
are shown only by the pages that open under a grant, field by field.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Customer(models.Model):
    external_ref = models.CharField(max_length=30, unique=True, verbose_name=_("external ref"))
    full_name = models.CharField(max_length=200, verbose_name=_("full name"))
    email = models.EmailField(blank=True, verbose_name=_("email"))
    phone = models.CharField(max_length=50, blank=True, verbose_name=_("phone"))
    date_of_birth = models.DateField(null=True, blank=True, verbose_name=_("date of birth"))
    address = models.TextField(blank=True, verbose_name=_("address"))
    country = models.CharField(max_length=2, blank=True, verbose_name=_("country"))
    status = models.CharField(
        max_length=10,
        choices=CustomerStatus.choices,
        default=CustomerStatus.ACTIVE,
        db_index=True,
        verbose_name=_("status"),
    )
    health_notes = models.TextField(
        blank=True,
        help_text=_("Special-category data (Art. 9): accessibility or medical needs."),
        verbose_name=_("health notes"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )
    last_activity_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("last activity at")
    )
    contract_ended_on = models.DateField(
        null=True, blank=True, db_index=True, verbose_name=_("contract ended on")
    )
    anonymised_at = models.DateTimeField(null=True, blank=True, verbose_name=_("anonymised at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["full_name"]

    def __str__(self) -> str:
        # The reference only: see the module docstring.
        return self.external_ref


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class SupportTicket(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="tickets", verbose_name=_("customer")
    )
    subject = models.CharField(max_length=200, verbose_name=_("subject"))
    body = models.TextField(verbose_name=_("body"))
    status = models.CharField(
        max_length=10,
        choices=TicketStatus.choices,
        default=TicketStatus.OPEN,
        db_index=True,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )
    closed_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("closed at")
    )

    class Meta:
        verbose_name = _("support ticket")
        verbose_name_plural = _("support tickets")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        # The reference only, never the subject: see the module docstring.
        return f"Ticket #{self.pk}"
