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


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


class Customer(models.Model):
    external_ref = models.CharField(max_length=30, unique=True)
    full_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True)
    status = models.CharField(
        max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE, db_index=True
    )
    health_notes = models.TextField(
        blank=True, help_text="Special-category data (Art. 9): accessibility or medical needs."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    contract_ended_on = models.DateField(null=True, blank=True, db_index=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["full_name"]

    def __str__(self) -> str:
        # The reference only: see the module docstring.
        return self.external_ref


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class SupportTicket(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tickets")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=TicketStatus.choices, default=TicketStatus.OPEN, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        # The reference only, never the subject: see the module docstring.
        return f"Ticket #{self.pk}"
