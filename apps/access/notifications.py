"""Email notices of the access app, rendered from templates/access/email/.

Called from the notice outbox only (``apps.access.outbox``): a notice is a row written with
its decision and sent by the ``access.notify`` task or the reconcile, so a mail server or a
broker that is down delays a notice (retried with backoff) and never loses or undoes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.functional import lazy

from apps.inventory.models import DataAsset
from apps.inventory.roles import DPO

from .models import AccessRequest, Grant, NoticeKind
from .selectors import approvals_still_needed_label, eligible_approvers_for

KINDS = tuple(NoticeKind.values)


def _url(name: str, *args: Any, fallback: str = "/") -> str:
    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        path = fallback
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def recipient_language(user: Any) -> str:
    """The language a notice to ``user`` is written in: their own when the portal knows it
    (a ``language`` the user model or its profile carries, one of ``LANGUAGES``), else the
    organisation's ``LANGUAGE_CODE``. Users carry no language today: every notice goes out in
    the organisation's language, whatever language the person who caused it was reading."""
    own = getattr(user, "language", "") or getattr(getattr(user, "profile", None), "language", "")
    return own if own in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _send(*, kind: str, recipients: Iterable[Any], context: dict[str, Any]) -> int:
    """One message per recipient, so nobody sees who else was told, each in the recipient's
    language (``recipient_language``)."""
    messages = []
    for user in recipients:
        if not user.email:
            continue
        ctx = {**context, "recipient": user}
        with translation.override(recipient_language(user)):
            subject = " ".join(render_to_string(f"access/email/{kind}_subject.txt", ctx).split())
            body = render_to_string(f"access/email/{kind}_body.txt", ctx)
        messages.append(EmailMessage(subject=subject, body=body, to=[user.email]))
    if not messages:
        return 0
    return get_connection(fail_silently=False).send_messages(messages) or 0


def _request_assets(request: AccessRequest) -> list[DataAsset]:
    if request.role is not None:
        return list(request.role.assets.select_related("system"))
    assert request.asset is not None, "a request names a role or an asset (request_role_xor_asset)"
    return [request.asset]


def _request_context(request: AccessRequest) -> dict[str, Any]:
    return {
        "req": request,
        "target": request.target_label,
        "assets": _request_assets(request),
        # Written out when each message is rendered, in its recipient's language.
        "still_needed": lazy(approvals_still_needed_label, str)(request),
        "admin_url": _url("admin:access_accessrequest_change", request.pk),
        "queue_url": _url("admin:access_accessrequest_queue"),
        "portal_url": _url("portal-home"),
    }


def notification_send(*, kind: str, object_id: int) -> int:
    """Send the notice ``kind`` about request or grant ``object_id``; returns mails sent."""
    if kind not in KINDS:
        raise ValueError(f"Unknown notice {kind!r}")
    if kind in {"request_submitted", "request_reminder", "request_decided"}:
        request = (
            AccessRequest.objects.select_related(
                "requester", "role", "asset__system", "decided_by", "extends_grant"
            )
            .filter(pk=object_id)
            .first()
        )
        if request is None:
            return 0
        context = _request_context(request)
        if kind == "request_decided":
            return _send(kind=kind, recipients=[request.requester], context=context)
        if request.status != "pending":
            return 0
        return _send(kind=kind, recipients=eligible_approvers_for(request), context=context)
    grant = (
        Grant.objects.select_related(
            "user", "request__role", "request__asset__system", "revoked_by"
        )
        .filter(pk=object_id)
        .first()
    )
    if grant is None:
        return 0
    context = {
        "grant": grant,
        "assets": list(grant.assets.select_related("system")),
        "target": grant.request.target_label,
        "admin_url": _url("admin:access_grant_change", grant.pk),
        "portal_url": _url("portal-home"),
    }
    if kind == "break_glass":
        dpos = get_user_model().objects.filter(groups__name=DPO, is_active=True).distinct()
        return _send(kind=kind, recipients=dpos, context=context)
    if kind == "grant_target_failing":
        admins = (
            get_user_model()
            .objects.filter(Q(groups__name=DPO) | Q(is_superuser=True), is_active=True)
            .distinct()
        )
        return _send(kind=kind, recipients=admins, context=context)
    return _send(kind=kind, recipients=[grant.user], context=context)
