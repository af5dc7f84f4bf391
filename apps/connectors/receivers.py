"""Receivers of the access app's grant signals (apps/access/signals.py): they write the
provisioning rows in the access service's own transaction and queue the connector tasks on
commit, so a grant and its accounts' state never disagree after a crash."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from apps.access.models import Grant
from apps.access.signals import (
    PANELS_ADMIN,
    PANELS_HOLDER,
    grant_ended,
    grant_live,
    grant_panels,
    grant_window_changed,
)

from .selectors import grant_accounts, grant_bound_targets, holder_accounts
from .services import _provisionings_close, _provisionings_open, _provisionings_refresh


def on_grant_live(sender: Any, grant_ids: list[int], **kwargs: Any) -> None:
    _provisionings_open(grant_ids=list(grant_ids))


def on_grant_ended(sender: Any, grant_ids: list[int], **kwargs: Any) -> None:
    _provisionings_close(grant_ids=list(grant_ids))


def on_grant_window_changed(sender: Any, grant_ids: list[int], **kwargs: Any) -> None:
    _provisionings_refresh(grant_ids=list(grant_ids))


def on_grant_panels(
    sender: Any, grants: list[Grant], user: Any, audience: str = PANELS_HOLDER, **kwargs: Any
) -> dict[int, list[str]]:
    """The holder's pages: their accounts in other systems, one panel per grant that has
    any. A grant's admin change page (``audience="admin"``): its provisionings, for whoever
    may view provisionings, with an empty text that says why a grant has none."""
    if audience == PANELS_ADMIN:
        return _admin_panels(grants, user)
    panels: dict[int, list[str]] = {}
    for grant_id, accounts in holder_accounts(grant_ids=[g.pk for g in grants], user=user).items():
        panels[grant_id] = [
            render_to_string("connectors/_grant_accounts.html", {"accounts": accounts})
        ]
    return panels


def _admin_panels(grants: list[Grant], user: Any) -> dict[int, list[str]]:
    if not grants or not user.has_perm("connectors.view_provisioning"):
        return {}
    ids = [g.pk for g in grants]
    accounts = grant_accounts(grant_ids=ids)
    bound = grant_bound_targets(grant_ids=ids)
    now = timezone.now()
    return {
        grant.pk: [
            render_to_string(
                "admin/connectors/_grant_provisionings.html",
                {
                    "grant": grant,
                    "accounts": accounts.get(grant.pk, []),
                    "bound": ", ".join(bound.get(grant.pk, [])),
                    "not_started": grant.revoked_at is None and grant.starts_at > now,
                },
            )
        ]
        for grant in grants
    }


def connect() -> None:
    grant_live.connect(on_grant_live, dispatch_uid="connectors.grant_live")
    grant_ended.connect(on_grant_ended, dispatch_uid="connectors.grant_ended")
    grant_window_changed.connect(on_grant_window_changed, dispatch_uid="connectors.window")
    grant_panels.connect(on_grant_panels, dispatch_uid="connectors.panels")
