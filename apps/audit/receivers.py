"""Security events recorded in the chain: sign-in lockouts (django-axes) and the issue and
revocation of integration tokens (apps.integrations), and second-factor enrolment, reset and
failed codes (apps.signin, through jitportal.security_signals)."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_failure_limit
from axes.signals import user_locked_out
from django.dispatch import receiver

from apps.integrations.models import IntegrationToken
from apps.integrations.signals import integration_token_created, integration_token_revoked
from jitportal.security_signals import second_factor_event

from .services import audit_event_record


@receiver(user_locked_out, dispatch_uid="audit.auth.locked_out")
def record_lockout(
    sender: Any, request: Any, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    """``auth.locked_out`` once per lockout: on the failure that reaches the limit, not on
    each refused attempt while locked (django-axes signals both)."""
    credentials = getattr(request, "axes_credentials", None)
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None or failures != get_failure_limit(request, credentials):
        return
    audit_event_record(
        action="auth.locked_out",
        actor_label="system:axes",
        reason="too many failed sign-ins",
        data={
            "username": username or "",
            "ip_address": ip_address or "",
            "path": getattr(request, "path", ""),
            "failures": failures,
        },
    )


def _token_data(token: IntegrationToken) -> dict[str, Any]:
    return {
        "prefix": token.prefix,
        "owner_id": token.owner_id,
        "scopes": list(token.scopes),
        "expires_at": token.expires_at.isoformat(),
    }


@receiver(integration_token_created, dispatch_uid="audit.integration_token.created")
def record_token_created(sender: Any, token: IntegrationToken, actor: Any, **kwargs: Any) -> None:
    audit_event_record(
        action="integrations.token.created",
        actor=actor,
        actor_label="" if actor is not None else "system:command",
        target=token,
        data=_token_data(token),
    )


@receiver(integration_token_revoked, dispatch_uid="audit.integration_token.revoked")
def record_token_revoked(sender: Any, token: IntegrationToken, actor: Any, **kwargs: Any) -> None:
    audit_event_record(
        action="integrations.token.revoked",
        actor=actor,
        actor_label="" if actor is not None else "system:command",
        target=token,
        data=_token_data(token),
    )


@receiver(second_factor_event, dispatch_uid="audit.signin.second_factor")
def record_second_factor(
    sender: Any, action: str, user: Any, actor: Any, data: dict[str, Any], **kwargs: Any
) -> None:
    """``signin.mfa.enrolled``, ``signin.mfa.reset`` and ``signin.mfa.failed`` (a wrong code)."""
    audit_event_record(action=action, actor=actor, target=user, data={"user_id": user.pk, **data})
