"""Demo retention rules and one legal hold; ``manage.py load_demo`` calls this.

Idempotent: a rule is created only when no rule of that name exists (one the DPO edited is
left alone), the hold only when no hold with its reference is in force. The CRM rules need
the "Customers" and "Support tickets" assets of the "CRM" system (apps/demo/crm.py); they
are skipped, with a message, when those are absent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TextIO

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from apps.access.models import AccessRequest, Grant
from apps.audit.models import AuditEvent
from apps.crm.models import Customer, CustomerStatus, SupportTicket, TicketStatus
from apps.inventory.gdpr import Sensitivity
from apps.inventory.models import DataAsset, System
from apps.retention.models import HoldBasis, HoldScope, LegalHold, PurgeRun, RetentionRule
from apps.retention.services import legal_hold_place, retention_rule_save

ACTOR = "system:demo"
CRM_SYSTEM = "CRM"
PORTAL_SYSTEM = "jitportal"
HOLD_REFERENCE = "CLAIM-2024-017"


def _log(stdout: TextIO | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def _portal_asset(name: str, model: type[models.Model], description: str) -> DataAsset:
    system = System.objects.filter(name=PORTAL_SYSTEM).first()
    if system is None:
        system = System(
            name=PORTAL_SYSTEM,
            description="This portal: its audit trail, access requests, grants and purge runs.",
            owner_team="Data protection office",
        )
        system.full_clean()
        system.save()
    asset = DataAsset.objects.filter(system=system, name=name).first()
    if asset is None:
        asset = DataAsset(
            system=system,
            name=name,
            description=description,
            sensitivity=Sensitivity.CONFIDENTIAL,
            governed_model=ContentType.objects.get_for_model(model),
        )
        asset.full_clean()
        asset.save()
    return asset


def _rule(name: str, fields: list[dict[str, str]] | None = None, **values: Any) -> bool:
    if RetentionRule.objects.filter(name=name).exists():
        return False
    retention_rule_save(
        rule=RetentionRule(name=name, **values), actor=None, actor_label=ACTOR, fields=fields
    )
    return True


def _crm_rules(stdout: TextIO | None) -> tuple[int, list[str]]:
    customers = DataAsset.objects.filter(system__name=CRM_SYSTEM, name="Customers").first()
    tickets = DataAsset.objects.filter(system__name=CRM_SYSTEM, name="Support tickets").first()
    skipped = []
    created = 0
    if customers is None:
        skipped.append("Customers")
        _log(stdout, "retention demo: no CRM / Customers asset (load the CRM demo first); skipped")
    elif _rule(
        "Closed customers: anonymise 6 years after the contract ended",
        asset=customers,
        content_type=ContentType.objects.get_for_model(Customer),
        date_field="contract_ended_on",
        filter={"status": CustomerStatus.CLOSED},
        period_amount=6,
        period_unit="years",
        action="anonymise",
        anonymised_marker_field="anonymised_at",
        legal_reason="Kept while a claim under the contract is possible, then anonymised: "
        "the statistics stay, the person does not.",
        legal_citation="Limitation Act 1980 s.5 (6 years for contract claims); GDPR Art. 5(1)(e)",
        fields=[
            {"field_name": "full_name", "strategy": "fixed", "value": "Anonymised customer"},
            {"field_name": "email", "strategy": "hash"},
            {"field_name": "phone", "strategy": "fixed", "value": ""},
            {"field_name": "address", "strategy": "fixed", "value": ""},
            {"field_name": "health_notes", "strategy": "fixed", "value": ""},
            {"field_name": "date_of_birth", "strategy": "truncate_date", "truncate_to": "year"},
        ],
    ):
        created += 1
    if tickets is None:
        skipped.append("Support tickets")
        _log(stdout, "retention demo: no CRM / Support tickets asset; its rule skipped")
    elif _rule(
        "Closed support tickets: delete 2 years after closing",
        asset=tickets,
        content_type=ContentType.objects.get_for_model(SupportTicket),
        date_field="closed_at",
        filter={"status": TicketStatus.CLOSED},
        period_amount=2,
        period_unit="years",
        action="delete",
        legal_reason="Support history is useful for two years after a ticket is closed.",
        legal_citation="Customer service retention schedule CS-3; GDPR Art. 5(1)(e)",
    ):
        created += 1
    return created, skipped


def _portal_rules() -> int:
    created = 0
    audit_days = settings.JITPORTAL["AUDIT_RETENTION_DAYS"]
    specs = [
        (
            "Audit trail: delete events after the audit retention period",
            _portal_asset("Audit trail", AuditEvent, "Decisions and events of the portal."),
            AuditEvent,
            {
                "date_field": "occurred_at",
                "period_amount": audit_days,
                "period_unit": "days",
                "legal_reason": "Evidence of access decisions and purges, kept for the "
                "audit retention period (JITPORTAL_AUDIT_RETENTION_DAYS).",
                "legal_citation": "GDPR Art. 5(2) accountability; Art. 5(1)(e)",
            },
        ),
        (
            "Decided access requests: delete 2 years after they were made",
            _portal_asset("Access requests", AccessRequest, "Requests for access to data."),
            AccessRequest,
            {
                "date_field": "created_at",
                "filter": {"status__in": ["approved", "denied", "cancelled", "lapsed"]},
                "period_amount": 2,
                "period_unit": "years",
                "legal_reason": "Who asked for what and why, kept for two years for reviews; "
                "approved ones stay while their grant is kept.",
                "legal_citation": "Internal access control policy AC-7; GDPR Art. 32(4)",
            },
        ),
        (
            "Ended grants: delete 2 years after they ended",
            _portal_asset("Access grants", Grant, "Time-boxed access given to staff."),
            Grant,
            {
                "date_field": "ends_at",
                "filter": {"status__in": ["expired", "revoked"]},
                "period_amount": 2,
                "period_unit": "years",
                "legal_reason": "Who had access to what, kept for two years after it ended.",
                "legal_citation": "Internal access control policy AC-7; GDPR Art. 32(4)",
            },
        ),
        (
            "Purge runs: delete 6 years after they finished",
            _portal_asset("Purge runs", PurgeRun, "Evidence of retention purges."),
            PurgeRun,
            {
                "date_field": "finished_at",
                "period_amount": 6,
                "period_unit": "years",
                "legal_reason": "Evidence that retention ran, kept as long as the audit trail.",
                "legal_citation": "GDPR Art. 5(2) accountability",
            },
        ),
    ]
    for name, asset, model, values in specs:
        if _rule(
            name,
            asset=asset,
            content_type=ContentType.objects.get_for_model(model),
            action="delete",
            **values,
        ):
            created += 1
    return created


def _hold(stdout: TextIO | None) -> int:
    if LegalHold.objects.active().filter(reference=HOLD_REFERENCE).exists():
        return 0
    customer = (
        Customer.objects.filter(status=CustomerStatus.CLOSED, contract_ended_on__isnull=False)
        .order_by("contract_ended_on", "pk")
        .first()
    )
    if customer is None:
        _log(stdout, "retention demo: no closed customer to place the demo legal hold on")
        return 0
    legal_hold_place(
        scope=HoldScope.RECORDS,
        basis=HoldBasis.ART_17_3_E,
        reason="The customer disputes the final invoice: keep their records until the "
        "claim is settled.",
        reference=HOLD_REFERENCE,
        review_on=timezone.localdate() + timedelta(days=90),
        content_type=ContentType.objects.get_for_model(Customer),
        object_ids=[customer.pk],
        actor=None,
        actor_label=ACTOR,
    )
    return 1


def load_retention_demo(*, stdout: TextIO | None = None) -> dict[str, Any]:
    """Create the demo rules and hold (once). Returns what was created and skipped."""
    crm_created, skipped = _crm_rules(stdout)
    portal_created = _portal_rules()
    holds = _hold(stdout) if "Customers" not in skipped else 0
    rules_created = crm_created + portal_created
    _log(
        stdout,
        f"retention demo: {rules_created} rule(s) and {holds} legal hold(s) created "
        f"({RetentionRule.objects.count()} rules in all)",
    )
    return {
        "rules_created": rules_created,
        "holds_created": holds,
        "rules": RetentionRule.objects.count(),
        "skipped": skipped,
    }
