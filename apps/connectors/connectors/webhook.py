"""Signed webhook: a JSON POST per provision and per removal, for systems without a
connector of their own (docs/connectors.md, "Signed webhook").

The deliveries are those of the webhooks app (``apps.webhooks.services``): written in the
transaction of the provisioning service (outbox), signed with HMAC-SHA256 over the timestamp
and the body, sent with an ``Idempotency-Key`` header that never changes across tries,
retried with exponential backoff, and logged in the admin (webhook deliveries).

The portal counts an account made or removed only once the endpoint has answered 2xx: the
first call writes the delivery and raises a retryable ``ConnectorError`` ("waiting"), so the
provisioning row stays not yet provisioned / not yet removed. When the delivery is settled
(``webhook_delivery_settled``), the receiver below queues the provisioning task again, which
then finds the delivery delivered and records the outcome; the connectors' reconcile does the
same on its next tick if that message is lost.

The deliveries are the steps' idempotency keys: the delivery log's retention keeps every
delivery of an account not yet removed (``webhook_deliveries_pruning`` below), so a step run
again finds its delivery and sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.dispatch import receiver
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.webhooks.events import webhook_event_type_register
from apps.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from apps.webhooks.services import webhook_delivery_create
from apps.webhooks.signals import webhook_deliveries_pruning, webhook_delivery_settled
from jitportal.inputs import parse_id
from jitportal.tasking import enqueue_on_commit

from ..base import (
    Connector,
    ConnectorError,
    GrantContext,
    ObservedAccount,
    Problem,
    ProvisionResult,
)
from ..models import Provisioning, ProvisioningState, Target
from ..registry import register

EVENT_PROVISION = webhook_event_type_register(
    "connector.provision", _("connector: account to make")
)
EVENT_DEPROVISION = webhook_event_type_register(
    "connector.deprovision", _("connector: account to remove")
)
#: Registered names of the core's tasks (apps/connectors/tasks.py), queued by name.
TASK_PROVISION = "connectors.provision"
TASK_DEPROVISION = "connectors.deprovision"
_KEY_PREFIX = "jitportal:connector"


def idempotency_key(target_id: int, account: str, verb: str) -> str:
    """The delivery's key, the same on every try of the same step: ``jitportal:connector:
    <target id>:<account>:<provision|deprovision>``."""
    return f"{_KEY_PREFIX}:{target_id}:{account}:{verb}"


def _parse_key(key: str) -> tuple[int, str, str] | None:
    parts = key.split(":")
    target_id = parse_id(parts[2]) if len(parts) == 5 else None
    if target_id is None or ":".join(parts[:2]) != _KEY_PREFIX:
        return None
    return target_id, parts[3], parts[4]


@register
class WebhookConnector(Connector):
    kind = "webhook"
    label = _("Signed webhook")
    needs_url = False
    account_label = _("Webhook account")
    observable = False
    guarantees = _(
        "A signed JSON POST (HMAC-SHA256 over the timestamp and the body, an idempotency key "
        "that stays the same across tries) when a grant starts and when it ends, retried with "
        "backoff until the endpoint answers 2xx. The portal counts access as removed only "
        "after that answer; what the receiving system does with it, and when, is up to it. "
        "The portal cannot ask the endpoint what it holds, so drift is not checked."
    )

    # -- helpers ---------------------------------------------------------------------------
    def _subscription(self) -> WebhookSubscription:
        name = (self.target.options or {}).get("subscription")
        subscription = (
            WebhookSubscription.objects.filter(name=name).first() if isinstance(name, str) else None
        )
        if subscription is None:
            raise ConnectorError(
                f"the target names no webhook subscription ({name!r})", retryable=False
            )
        return subscription

    def _confirmed(self, delivery: WebhookDelivery) -> bool:
        """True once delivered; a delivery still waiting or given up raises."""
        if delivery.status == DeliveryStatus.DELIVERED:
            return True
        if delivery.status == DeliveryStatus.FAILED:
            raise ConnectorError(
                f"webhook delivery {delivery.event_id} was given up after {delivery.tries} "
                "tries; re-send it from the webhook delivery log"
            )
        return False

    def _send(self, *, account: str, verb: str, event_type: str, data: dict[str, Any]):
        subscription = self._subscription()
        return webhook_delivery_create(
            subscription_id=subscription.pk,
            event_type=event_type,
            data=data,
            idempotency_key=idempotency_key(self.target.pk, account, verb),
        )

    # -- interface -------------------------------------------------------------------------
    def provision(self, context: GrantContext) -> ProvisionResult:
        delivery = self._send(
            account=context.account,
            verb="provision",
            event_type=EVENT_PROVISION,
            data={
                "action": "provision",
                "target": self.target.name,
                "account": context.account,
                "grant": context.grant_id,
                "user": {"id": context.user_id, "username": context.username},
                "actions": sorted(context.actions),
                "assets": [
                    {"id": b.asset_id, "options": b.options or {}} for b in context.bindings
                ],
                "starts_at": context.starts_at.isoformat(),
                "ends_at": context.ends_at.isoformat(),
            },
        )
        if not self._confirmed(delivery):
            raise ConnectorError(f"waiting for the endpoint to confirm {delivery.event_id}")
        return ProvisionResult(account=context.account, secret=None)

    def deprovision(self, accounts: Sequence[str]) -> None:
        names = sorted({a for a in accounts if a.startswith(self.prefix)})
        if not names:
            return
        grants = dict(
            Provisioning.objects.filter(target=self.target, account__in=names).values_list(
                "account", "grant_id"
            )
        )
        waiting = []
        for name in names:
            delivery = self._send(
                account=name,
                verb="deprovision",
                event_type=EVENT_DEPROVISION,
                data={
                    "action": "deprovision",
                    "target": self.target.name,
                    "account": name,
                    "grant": grants.get(name),
                },
            )
            if not self._confirmed(delivery):
                waiting.append(str(delivery.event_id))
        if waiting:
            raise ConnectorError(
                f"waiting for the endpoint to confirm {len(waiting)} removal(s): "
                + ", ".join(waiting[:5])
            )

    def observe(self) -> list[ObservedAccount]:
        raise ConnectorError(
            "a webhook endpoint cannot be asked what it holds; drift is not checked",
            retryable=False,
        )

    def check_target(self) -> list[Problem]:
        name = (self.target.options or {}).get("subscription")
        if not isinstance(name, str) or not name:
            return [
                Problem(
                    "options",
                    gettext('Name the webhook subscription in the options: {"subscription": "…"}.'),
                )
            ]
        subscription = WebhookSubscription.objects.filter(name=name).first()
        if subscription is None:
            return [
                Problem(
                    "options",
                    gettext("There is no webhook subscription “%(name)s”.") % {"name": name},
                )
            ]
        if not subscription.active:
            return [
                Problem(
                    "options",
                    gettext("Webhook subscription “%(name)s” is paused.") % {"name": name},
                )
            ]
        return []

    def check_binding(self, binding) -> list[Problem]:
        if not isinstance(binding.options, dict):
            return [Problem("options", gettext("Give the options as a JSON object."))]
        return [Problem("target", p.message) for p in self.check_target()]


@receiver(webhook_delivery_settled, dispatch_uid="connectors.webhook.settled")
def _delivery_settled(sender, delivery: WebhookDelivery, outcome: str, **kwargs) -> None:
    """A connector delivery got its final answer: run the provisioning step again now, so it
    records the outcome (made, removed, or failed) without waiting for its backoff."""
    parsed = _parse_key(delivery.idempotency_key)
    if parsed is None:
        return
    target_id, account, verb = parsed
    if not Target.objects.filter(pk=target_id, kind=WebhookConnector.kind).exists():
        return
    row = Provisioning.objects.filter(target_id=target_id, account=account).first()
    if row is None:
        return
    if verb == "provision":
        enqueue_on_commit(TASK_PROVISION, row.pk)
    elif verb == "deprovision":
        enqueue_on_commit(TASK_DEPROVISION, [row.pk])


@receiver(webhook_deliveries_pruning, dispatch_uid="connectors.webhook.pruning")
def _deliveries_still_needed(
    sender, deliveries: list[tuple[int, int, str]], **kwargs: Any
) -> set[int]:
    """Of the deliveries the log's retention is about to delete, the ids of this connector's
    steps whose account is not yet removed (its provisioning row is not ``deprovisioned``):
    a step run again must find its delivery rather than send a second POST."""
    steps: dict[int, tuple[int, str]] = {}
    for pk, _subscription_id, key in deliveries:
        parsed = _parse_key(key)
        if parsed is not None:
            steps[pk] = (parsed[0], parsed[1])
    if not steps:
        return set()
    live = set(
        Provisioning.objects.filter(
            target_id__in={target for target, _account in steps.values()},
            account__in={account for _target, account in steps.values()},
        )
        .exclude(state=ProvisioningState.DEPROVISIONED)
        .values_list("target_id", "account")
    )
    return {pk for pk, step in steps.items() if step in live}
