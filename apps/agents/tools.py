"""What the MCP tools do, as plain functions of the token's owner (no MCP here).

Each reads or writes only through the access app's selectors, policies, the portal's own
request form and ``access_request_submit``, so an agent meets every rule a person meets on
the portal, with the same messages: eligibility, windows, the policy's justification, ticket
and purpose, duplicates. Nothing here decides, cancels, revokes or extends: an agent may ask
and read its owner's own requests and grants, never more (docs/agents.md).

Results are JSON-ready dicts: times in UTC, ISO 8601; codes beside their text in the
organisation's language (``LANGUAGE_CODE``). Refusals raise :class:`ToolRefused` with the
message a person would read on the portal.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.access import selectors, services
from apps.access.forms import AccessRequestForm, target_value
from apps.access.models import AccessRequest, AccessRole, Grant, RequestStatus
from apps.access.requester_factor import requester_factor_missing
from apps.inventory.models import DataAsset, ProcessingActivity
from jitportal.durations import duration_text
from jitportal.inputs import TEXT_MAX_LENGTH, is_ascii_number, parse_id, text_problem

#: Rows per page of every list a tool returns.
PER_PAGE = 50


class ToolRefused(Exception):
    """A tool call refused; ``str()`` is the message for the agent (and its person)."""


#: The most characters of a one-line argument (a target, a time, a status, a ticket).
LINE_MAX_LENGTH = 100


def _text(name: str, value: Any, *, multiline: bool = False, numbers: bool = False) -> str:
    """Argument ``name`` as text: a JSON string (or null: empty), a whole number where
    ``numbers`` (a ticket ``12345``). Refused with the portal's words when of another type,
    too long, or holding control characters (which are described, never repeated)."""
    if value is None:
        return ""
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ToolRefused(_("“%(name)s” must be text.") % {"name": name})
    limit = TEXT_MAX_LENGTH if multiline else LINE_MAX_LENGTH
    if problem := text_problem(value, multiline=multiline, max_length=limit):
        raise ToolRefused(f"{name}: {problem}")
    return value


def _number(name: str, value: Any) -> str:
    """Argument ``name`` (hours) as the form reads it: a JSON number or a string of ASCII
    digits (``4``, ``"0.5"``); empty when null or empty. Anything else is refused."""
    if value is None or value == "":
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and len(value) <= LINE_MAX_LENGTH and is_ascii_number(value):
        return value.strip()
    raise ToolRefused(
        _("“%(name)s” must be a number, such as 4 or 0.5, in ASCII digits.") % {"name": name}
    )


def _whole(name: str, value: Any) -> str:
    """Argument ``name`` (an id) as the form reads it: a JSON whole number or a string of
    ASCII digits, from 1; empty when null or empty. Anything else is refused."""
    if value is None or value == "":
        return ""
    number = parse_id(value)
    if number is None:
        raise ToolRefused(
            _("“%(name)s” must be a whole number from 1, in ASCII digits.") % {"name": name}
        )
    return str(number)


def _flag(name: str, value: Any) -> bool:
    """Argument ``name`` as true or false: a JSON boolean, or ``"true"``/``"false"``."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ToolRefused(_("“%(name)s” must be true or false.") % {"name": name})


def _utc(moment: Any) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def portal_url(path: str) -> str:
    """An absolute link to a portal page (``PORTAL_BASE_URL``)."""
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _page(rows: QuerySet, page: Any) -> tuple[list[Any], dict[str, int]]:
    """One page of ``rows``, and where it stands; a page that is not a whole number from 1
    is refused, one past the end is empty."""
    number = parse_id(page)
    if number is None:
        raise ToolRefused(_("The page must be a whole number from 1."))
    paginator = Paginator(rows, PER_PAGE)
    items = list(paginator.page(number).object_list) if number <= paginator.num_pages else []
    return items, {"page": number, "pages": paginator.num_pages, "total": paginator.count}


# --- what I may ask for -------------------------------------------------------------------


def _policy_of(user: User, *, role: AccessRole | None = None, asset: DataAsset | None = None):
    try:
        return selectors.effective_policy(role=role, asset=asset, user=user)
    except ValidationError:
        return None


def _policy_fields(policy: Any) -> dict[str, Any]:
    if policy is None:
        return {}
    return {
        "default_hours": policy.default_duration.total_seconds() / 3600,
        "max_hours": policy.max_duration.total_seconds() / 3600,
        "max_duration": duration_text(policy.max_duration),
        "approvals_required": policy.approvals_required,
        "dpo_required": policy.dpo_required,
        "justification_required": policy.require_justification,
        "ticket_required": policy.require_ticket,
        "ticket_hint": policy.ticket_hint_text,
    }


def requestable_list(*, user: User, page: Any = 1) -> dict[str, Any]:
    """The roles and single data assets ``user`` may ask for (page ``page`` of each, 50 a
    page), each with its ``target`` value for :func:`request_ask` and what its policy asks
    (hours, approvals, justification, ticket); and the processing activities a request may
    serve, with whether one must be named."""
    roles, role_pages = _page(selectors.requestable_roles_for(user).order_by("name", "pk"), page)
    assets, asset_pages = _page(
        selectors.requestable_assets_for(user).order_by("system__name", "name", "pk"), page
    )
    activities = ProcessingActivity.objects.filter(is_active=True).order_by("name", "pk")
    return {
        "roles": [
            {
                "target": target_value(role=role),
                "name": role.name,
                "description": role.description,
                "assets": [str(asset) for asset in role.assets.all()],
                "second_factor_on_the_portal": requester_factor_missing(target=role, session=None)
                is not None,
                **_policy_fields(_policy_of(user, role=role)),
            }
            for role in roles
        ],
        "roles_page": role_pages,
        "assets": [
            {
                "target": target_value(asset=asset),
                "name": str(asset),
                "special_category": asset.is_special,
                **_policy_fields(_policy_of(user, asset=asset)),
            }
            for asset in assets
        ],
        "assets_page": asset_pages,
        "processing_activities": [{"id": a.pk, "name": a.name} for a in activities[:200]],
        "processing_activity_required": activities.exists(),
        "portal": portal_url(reverse("access-request-create")),
    }


# --- ask ----------------------------------------------------------------------------------


def _form_errors(form: AccessRequestForm) -> str:
    """Every error of the form, ``label: message`` a line (the form's own words)."""
    lines = []
    for name, errors in form.errors.items():
        label = str(form.fields[name].label) if name in form.fields else ""
        for message in errors:
            lines.append(f"{label}: {message}" if label else str(message))
    return "\n".join(lines)


def request_ask(
    *,
    user: User,
    target: Any,
    justification: Any = "",
    ticket: Any = "",
    duration_hours: Any = "",
    ends_at: Any = "",
    starts_at: Any = "",
    processing_activity: Any = "",
) -> dict[str, Any]:
    """Ask for access as ``user``, exactly as the portal's form does: the same form reads the
    input (``target`` from :func:`requestable_list`; a start now or at ``starts_at``; an end
    after ``duration_hours`` or at ``ends_at``; times are the portal's local wall time,
    ``YYYY-MM-DDTHH:MM``) and ``access_request_submit`` decides what the policy allows.

    Returns the request (pending, or approved with its grant when the role needs no
    approval). Raises ToolRefused with the form's messages, and for a role that asks its
    requester for a fresh second factor (which only the portal can check), with its page.
    Arguments come as the agent sent them: text as JSON strings, hours as a number or ASCII
    digits, the processing activity's id as a whole number or ASCII digits."""
    target = _text("target", target)
    starts_at = _text("starts_at", starts_at)
    data = {
        "target": target,
        "start": "later" if starts_at.strip() else "now",
        "starts_at": starts_at,
        "duration": _number("duration_hours", duration_hours),
        "ends_at": _text("ends_at", ends_at),
        "justification": _text("justification", justification, multiline=True),
        "ticket": _text("ticket", ticket, numbers=True),
        "processing_activity": _whole("processing_activity", processing_activity),
    }
    form = AccessRequestForm(data, user=user)
    chosen = form.resolve_target(target)
    # The portal's rule; an agent never carries a second factor, so it is sent there.
    if (need := requester_factor_missing(target=chosen, session=None)) is not None:
        raise ToolRefused(need.message(portal_url(need.path)))
    if not form.is_valid():
        raise ToolRefused(_form_errors(form))
    try:
        created = services.access_request_submit(requester=user, **form.submit_kwargs())
    except ValidationError as exc:
        form.add_service_error(exc)
        raise ToolRefused(_form_errors(form)) from exc
    except PermissionDenied as exc:
        raise ToolRefused(str(exc) or _("You may not do that.")) from exc
    created = selectors.requests_for_user(user).get(pk=created.pk)
    if created.status == RequestStatus.APPROVED:
        said = _("Access to %(target)s is granted: this role needs no approval.")
    else:
        said = _("Your request for %(target)s is sent for approval.")
    return {"message": said % {"target": created.target_label}, "request": request_row(created)}


# --- my requests and grants ---------------------------------------------------------------


def request_row(request: AccessRequest) -> dict[str, Any]:
    grant = getattr(request, "grant", None) if request.status == RequestStatus.APPROVED else None
    return {
        "id": request.pk,
        "target": request.target_label,
        "status": request.status,
        "status_label": str(request.get_status_display()),
        "starts_at": _utc(request.starts_at),
        "ends_at": _utc(request.ends_at),
        "created_at": _utc(request.created_at),
        "decided_at": _utc(request.decided_at),
        "decision": request.decision_text,
        "justification": request.justification,
        "ticket": request.ticket,
        "grant_id": grant.pk if grant is not None else None,
        "portal": portal_url(reverse("access-request-detail", args=[request.pk])),
    }


def requests_mine(*, user: User, status: Any = "", page: Any = 1) -> dict[str, Any]:
    """``user``'s own requests, newest first (50 a page), optionally of one ``status``."""
    rows = selectors.requests_for_user(user)
    status = _text("status", status)
    if status:
        if status not in RequestStatus.values:
            # The value is not repeated: it may be long or hold what a terminal obeys.
            raise ToolRefused(
                _("Unknown status; use one of: %(known)s.")
                % {"known": ", ".join(RequestStatus.values)}
            )
        rows = rows.filter(status=status)
    items, where = _page(rows, page)
    return {"requests": [request_row(r) for r in items], **where}


def grant_row(grant: Grant, now: Any) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "target": grant.request.target_label,
        "assets": [str(asset) for asset in grant.assets.all()],
        "can_view": grant.can_view,
        "can_change": grant.can_change,
        "can_export": grant.can_export,
        "starts_at": _utc(grant.starts_at),
        "ends_at": _utc(grant.ends_at),
        "live_now": grant.is_live(now),
        "status": grant.status,
        "status_label": str(grant.get_status_display()),
        "revoked_at": _utc(grant.revoked_at),
        "end_reason": how.value if (how := grant.ended_how(now)) else None,
        "portal": portal_url(reverse("access-grant-detail", args=[grant.pk])),
    }


def grants_mine(*, user: User, current: Any = False, page: Any = 1) -> dict[str, Any]:
    """``user``'s own grants, latest start first (50 a page); ``current``: only those that
    give access now or will (not ended, not revoked)."""
    now = timezone.now()
    rows = selectors.grants_for_user(user)
    if _flag("current", current):
        rows = rows.filter(revoked_at__isnull=True, ends_at__gt=now)
    items, where = _page(rows, page)
    return {"grants": [grant_row(g, now) for g in items], **where}
