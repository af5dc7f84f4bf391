"""What each audit action code and each reason the portal itself writes reads as, in the
reader's language.

The trail stores codes (``access.grant.revoked``) and, where the portal rather than a person
gives the reason, a fixed reason (``deleted``): the hash covers them, so they never change
and never depend on the language of whoever acted (architecture.md, invariant 19). People
read them through :func:`action_label`, :func:`reason_label` and :func:`actor_label`. ``tests/audit/
test_action_labels.py`` reads every module for the codes and fixed reasons it records and
fails on one missing here.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

#: action code → what it reads as (a short phrase: what happened).
ACTION_LABELS: dict[str, Promise] = {
    # access: requests, approvals, grants, records, roles, offboarding
    "access.request.submitted": _("Access requested"),
    "access.approval.given": _("Approval given"),
    "access.request.approved": _("Request approved"),
    "access.request.denied": _("Request denied"),
    "access.request.cancelled": _("Request cancelled"),
    "access.request.lapsed": _("Request lapsed undecided"),
    "access.grant.activated": _("Grant activated"),
    "access.grant.extended": _("Grant extended"),
    "access.grant.expired": _("Grant expired"),
    "access.grant.revoked": _("Grant revoked"),
    "access.grant.relinquished": _("Grant given back"),
    "access.breakglass.used": _("Break-glass access used"),
    "access.breakglass.reviewed": _("Break-glass access reviewed"),
    "access.record.viewed": _("Record viewed"),
    "access.record.viewed_as_superuser": _("Record viewed by a superuser"),
    "access.records.listed": _("Records listed"),
    "access.records.listed_as_superuser": _("Records listed by a superuser"),
    "access.role.changed": _("Access role saved"),
    "access.role.deleted": _("Access role deleted"),
    "access.user.offboarded": _("Person offboarded"),
    # the trail itself, sign-in and machine access
    "audit.chain.verification_failed": _("Audit chain verification failed"),
    "audit.trail.exported": _("Audit trail exported"),
    "audit.trail.export_failed": _("Audit trail export failed"),
    "audit.trail.export_aborted": _("Audit trail export stopped"),
    "audit.trail.purged": _("Audit events purged"),
    "auth.locked_out": _("Sign-in locked"),
    "signin.mfa.enrolled": _("Second factor added"),
    "signin.mfa.removed": _("Second factor removed"),
    "signin.mfa.reset": _("Second factors reset"),
    "signin.mfa.failed": _("Wrong second-factor code"),
    "integrations.token.created": _("Integration token created"),
    "integrations.token.revoked": _("Integration token revoked"),
    "chat.slack_account.linked": _("Slack account linked"),
    # inventory, reports, retention
    "inventory.asset.archived": _("Data asset archived"),
    "inventory.asset.unarchived": _("Data asset restored"),
    "inventory.demo.loaded": _("Demo organisation loaded"),
    "reports.ropa.snapshot_taken": _("Record of processing snapshot taken"),
    "retention.rule.created": _("Retention rule created"),
    "retention.rule.changed": _("Retention rule changed"),
    "retention.rule.deleted": _("Retention rule deleted"),
    "retention.hold.placed": _("Legal hold placed"),
    "retention.hold.reviewed": _("Legal hold reviewed"),
    "retention.hold.lifted": _("Legal hold lifted"),
    "retention.purge.confirmation_requested": _("Purge confirmation asked for"),
    "retention.purge.confirmed": _("Purge confirmed"),
    "retention.purge.started": _("Purge started"),
    "retention.purge.stop_requested": _("Purge stop asked for"),
    "retention.purge.finished": _("Purge finished"),
    # connectors and webhooks
    "connectors.account.provisioned": _("Account opened in a target"),
    "connectors.account.refreshed": _("Account in a target renewed"),
    "connectors.account.removed": _("Account in a target removed"),
    "connectors.provisioning.alerted": _("Target failing: DPO alerted"),
    "connectors.drift.found": _("Drift found in a target"),
    "connectors.secret.shown": _("One-time password shown"),
    "connectors.webhook.settled": _("Webhook target answered"),
    "webhooks.subscription.created": _("Webhook subscription created"),
    "webhooks.subscription.changed": _("Webhook subscription changed"),
    "webhooks.subscription.secret_rotated": _("Webhook signing secret rotated"),
    "webhooks.delivery.resent": _("Webhook delivery sent again"),
    "webhooks.deliveries.pruned": _("Old webhook deliveries deleted"),
}

#: A reason the portal writes itself (never one a person typed) → what it reads as.
SYSTEM_REASONS: dict[str, Promise] = {
    "created": pgettext_lazy("audit reason", "created"),
    "changed": pgettext_lazy("audit reason", "changed"),
    "deleted": pgettext_lazy("audit reason", "deleted"),
    "too many failed sign-ins": _("too many failed sign-ins"),
    "download from the admin": _("download from the admin"),
    "The account was deactivated.": _("The account was deactivated."),
    "Audit events past their retention period were purged.": _(
        "Audit events past their retention period were purged."
    ),
    "Nobody decided before the request's deadline.": _(
        "Nobody decided before the request's deadline."
    ),
    "Approved automatically by the policy.": _("Approved automatically by the policy."),
}

#: The portal's own actors (``system:…`` in ``actor_label``) → what they read as.
SYSTEM_ACTORS: dict[str, Promise] = {
    "system:beat": _("the scheduler (Celery beat)"),
    "system:worker": _("a background worker"),
    "system:policy": _("the access policy"),
    "system:offboarding": _("offboarding"),
    "system:connectors": _("the connectors"),
    "system:axes": _("sign-in lockout"),
    "system:slack": _("Slack"),
    "system:command": _("a management command"),
    "system:demo": _("the demo loader"),
    "system:audit_verify": _("the audit chain check"),
    "system:webhook_retention": _("the webhook delivery retention"),
}


def action_label(code: str) -> str:
    """What the action ``code`` reads as in the active language; an unknown code (one from a
    newer or older version) reads as itself."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def actor_label(label: str) -> str:
    """``label`` in the active language when it names one of the portal's own actors
    (:data:`SYSTEM_ACTORS`); a person's user name is shown as it is."""
    known = SYSTEM_ACTORS.get(label)
    return str(known) if known is not None else label


def reason_label(reason: str) -> str:
    """``reason`` in the active language when the portal wrote it itself
    (:data:`SYSTEM_REASONS`); a person's reason is shown as they typed it."""
    label = SYSTEM_REASONS.get(reason)
    return str(label) if label is not None else reason
