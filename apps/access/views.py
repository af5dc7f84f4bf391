"""Portal pages for staff: my access, ask for access, cancel, give back, extend.

Every page works on the signed-in user's own requests and grants only: objects are looked
up through ``requests_for_user`` / ``grants_for_user``, so another person's id is a 404.
Every change goes through a service; a refused change is a message, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from apps.inventory.models import DataAsset
from apps.signin.mfa import fresh_factor_redirect
from jitportal.durations import duration_text
from jitportal.inputs import parse_page

from . import selectors, services
from .forms import AccessRequestForm, GrantExtendForm, hours_of, target_value, ticket_help_text
from .models import AccessRequest, AccessRole, Grant, RequestStatus
from .requester_factor import requester_factor_missing
from .selectors import NO_TICKET_HINT
from .signals import PANELS_HOLDER, grant_panels_collect

PAST_PAGE_SIZE = 20


class AuthedRequest(HttpRequest):
    """What the views below receive: login_required lets only a signed-in user through."""

    user: User


def _messages_of(error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, ValidationError):
        return [str(m) for m in error.messages]
    return [str(error) or _("You may not do that.")]


def _policy_context(
    *, user: User, role: AccessRole | None = None, asset: DataAsset | None = None
) -> dict[str, Any] | None:
    """The effective policy of a target for ``user`` (whose roles decide an asset's rights),
    with its durations written out for people."""
    if role is None and asset is None:
        return None
    try:
        policy = selectors.effective_policy(role=role, asset=asset, user=user)
    except ValidationError:
        # No active role covers the asset any more (e.g. on an old grant's extend page).
        return None
    return {
        "policy": policy,
        "target": role or asset,
        "is_special": bool(asset is not None and asset.is_special)
        or bool(role is not None and role.assets.filter(is_special=True).exists()),
        "max_duration": duration_text(policy.max_duration),
        "max_hours": hours_of(policy.max_duration),
        "default_duration": duration_text(policy.default_duration),
        "default_hours": hours_of(policy.default_duration),
        "max_start_ahead": duration_text(policy.max_start_ahead),
        "pending_timeout": duration_text(policy.pending_timeout),
        "max_total_duration": duration_text(policy.max_total_duration),
        "ticket_hints": [(name, hint or NO_TICKET_HINT) for name, hint in policy.ticket_hints],
    }


def _target_from_query(form: AccessRequestForm, request: AuthedRequest) -> tuple[str, Any, bool]:
    """(choice value, role or asset, asked-for-but-not-allowed) from ?role= / ?asset= / ?target=."""
    for key in ("target", "role", "asset"):
        raw = request.GET.get(key)
        if raw is None:
            continue
        value = raw if key == "target" else f"{key}-{raw}"
        target = form.resolve_target(value)
        return (value if target is not None else "", target, target is None)
    return "", None, False


def _split_target(target: Any) -> dict[str, Any]:
    if isinstance(target, AccessRole):
        return {"role": target}
    if isinstance(target, DataAsset):
        return {"asset": target}
    return {}


@login_required
@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    requests = selectors.requests_for_user(user).select_related(
        "role", "asset__system", "processing_activity", "extends_grant", "decided_by"
    )
    grants = selectors.grants_for_user(user).select_related(
        "request__role", "request__asset__system"
    )
    active = list(
        grants.filter(pk__in=Grant.objects.live(now).values("pk"))
        .prefetch_related("assets__system")
        .order_by("ends_at")
    )
    upcoming = list(
        grants.filter(starts_at__gt=now, revoked_at__isnull=True)
        .prefetch_related("assets__system")
        .order_by("starts_at")
    )
    current_grant_requests = Grant.objects.filter(
        user=user, revoked_at__isnull=True, ends_at__gt=now
    ).values("request_id")
    past = (
        requests.exclude(status=RequestStatus.PENDING)
        .exclude(pk__in=current_grant_requests)
        .select_related("grant", "grant__revoked_by")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(past, PAST_PAGE_SIZE).get_page(parse_page(request.GET.get("page")))
    _attach_panels([*active, *upcoming], user)
    # "Ending soon" on the page is when the expiry warning goes out (settings.JITPORTAL).
    warn_before = settings.JITPORTAL["EXPIRY_WARNING_BEFORE"]
    return render(
        request,
        "portal/home.html",
        {
            "now": now,
            "pending": list(requests.filter(status=RequestStatus.PENDING)),
            "active": [(g, g.ends_at - now <= warn_before) for g in active],
            "upcoming": upcoming,
            "past_page": page,
            "has_anything": bool(active or upcoming or page.object_list)
            or requests.filter(status=RequestStatus.PENDING).exists(),
        },
    )


def _attach_panels(grants: list[Grant], user: Any) -> None:
    """Panels apps above access add to the holder's grants (their accounts in other
    systems, apps/connectors), asked for through ``signals.grant_panels``."""
    found = grant_panels_collect(grants, user, audience=PANELS_HOLDER)
    for grant in grants:
        grant.panels = found.get(grant.pk, [])  # type: ignore[attr-defined]


def _stale_factor_for(target: Any, request: AuthedRequest) -> HttpResponse | None:
    """A role that asks its requester for a fresh second factor (activation, as Entra PIM
    calls it): the verification page and back to the form, unless the factor is fresh
    (``requester_factor_missing``, the rule every channel shares)."""
    if (need := requester_factor_missing(target=target, session=request)) is not None:
        return fresh_factor_redirect(request, back=need.path)
    return None


@login_required
@require_http_methods(["GET", "POST"])
def request_create(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        form = AccessRequestForm(request.POST, user=request.user)
        chosen = form.resolve_target(request.POST.get("target", ""))
        if (stale := _stale_factor_for(chosen, request)) is not None:
            return stale
        if form.is_valid():
            try:
                created = services.access_request_submit(
                    requester=request.user, **form.submit_kwargs()
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            except PermissionDenied as exc:
                form.add_error(None, _messages_of(exc)[0])
            else:
                if created.status == RequestStatus.APPROVED:
                    messages.success(
                        request,
                        _("Access to %(target)s is granted: this role needs no approval.")
                        % {"target": created.target_label},
                    )
                else:
                    messages.success(
                        request,
                        _("Your request for %(target)s is sent for approval.")
                        % {"target": created.target_label},
                    )
                return redirect("access-request-detail", pk=created.pk)
        not_allowed = False
    else:
        form = AccessRequestForm(user=request.user)
        value, chosen, not_allowed = _target_from_query(form, request)
        if (stale := _stale_factor_for(chosen, request)) is not None:
            return stale
        if chosen is not None:
            form.initial["target"] = value
    policy = _policy_context(user=request.user, **_split_target(chosen))
    if policy is not None:
        if request.method == "GET":
            form.initial.setdefault("duration", policy["default_hours"])
        elif form.errors:
            _policy_hints(form, policy["policy"])
    # Marks the fields this policy requires and what its ticket looks like (the service is
    # what enforces it); without a target, nothing is marked.
    form.mark_policy(policy["policy"] if policy else None)
    return render(
        request,
        "portal/request_form.html",
        {
            "form": form,
            "policy_ctx": policy,
            "ticket_help": ticket_help_text(policy["policy"] if policy else None),
            "not_allowed": not_allowed,
            "nothing_requestable": not form.roles and not form.assets,
        },
    )


def _policy_hints(form: AccessRequestForm, policy: Any) -> None:
    """When other fields stopped the form before the service ran, name the policy's limits
    on the window and the required texts too, so one round of corrections is enough."""
    data = form.cleaned_data
    window = data.get("window")
    # The field the end came from, by what was sent: an error on "Or until" drops its cleaned
    # value, and the limit must not then be put under a duration that was never used.
    duration_field = form.end_field
    if window and duration_field not in form.errors:
        starts_at, ends_at = window
        if ends_at - starts_at > policy.max_duration:
            form.add_error(
                duration_field,
                _("At most %(limit)s can be asked for at once.")
                % {"limit": duration_text(policy.max_duration)},
            )
    if (
        policy.require_justification
        and "justification" not in form.errors
        and not data.get("justification", "").strip()
    ):
        form.add_error("justification", _("Say why you need this access; this policy requires it."))
    if policy.require_ticket and "ticket" not in form.errors and not data.get("ticket", "").strip():
        form.add_error("ticket", _("Give the ticket this access is for; this policy requires one."))


@login_required
@require_GET
def request_policy(request: AuthedRequest) -> HttpResponse:
    """The policy panel of the request form for one target (the form's script fetches it)."""
    form = AccessRequestForm(user=request.user)
    _, chosen, not_allowed = _target_from_query(form, request)
    policy = _policy_context(user=request.user, **_split_target(chosen))
    return render(
        request,
        "portal/_policy.html",
        {
            "policy_ctx": policy,
            "ticket_help": ticket_help_text(policy["policy"] if policy else None),
            "not_allowed": not_allowed,
        },
    )


def _own_request(request: AuthedRequest, pk: int) -> AccessRequest:
    return get_object_or_404(
        selectors.requests_for_user(request.user).select_related(
            "role", "asset__system", "processing_activity", "extends_grant", "decided_by"
        ),
        pk=pk,
    )


def _own_grant(request: AuthedRequest, pk: int) -> Grant:
    return get_object_or_404(
        selectors.grants_for_user(request.user).select_related(
            "request__role", "request__asset__system", "revoked_by"
        ),
        pk=pk,
    )


@login_required
@require_GET
def request_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    access_request = _own_request(request, pk)
    grant = Grant.objects.filter(request=access_request).first()
    return render(
        request,
        "portal/request_detail.html",
        {
            "req": access_request,
            "approvals": access_request.approvals.select_related("approver"),
            "grant": grant,
            "grant_live": grant is not None and grant.is_live(),
            "still_needed": selectors.approvals_still_needed_label(access_request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    access_request = _own_request(request, pk)
    if request.method == "POST":
        try:
            services.access_request_cancel(request_id=access_request.pk, actor=request.user)
        except (ValidationError, PermissionDenied) as exc:
            for text in _messages_of(exc):
                messages.error(request, text)
            return redirect("access-request-detail", pk=access_request.pk)
        messages.success(
            request, _("Request #%(number)s is cancelled.") % {"number": access_request.pk}
        )
        return redirect("portal-home")
    return render(request, "portal/request_cancel.html", {"req": access_request})


@login_required
@require_GET
def grant_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    grant = _own_grant(request, pk)
    now = timezone.now()
    _attach_panels([grant], request.user)
    return render(
        request,
        "portal/grant_detail.html",
        {
            "grant": grant,
            "assets": grant.assets.select_related("system"),
            "extensions": grant.extension_requests.order_by("-created_at"),
            "is_live": grant.is_live(now),
            "is_upcoming": grant.revoked_at is None and grant.starts_at > now,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def grant_relinquish(request: AuthedRequest, pk: int) -> HttpResponse:
    grant = _own_grant(request, pk)
    if request.method == "POST":
        try:
            services.grant_relinquish(grant_id=grant.pk, actor=request.user)
        except (ValidationError, PermissionDenied) as exc:
            for text in _messages_of(exc):
                messages.error(request, text)
            return redirect("access-grant-detail", pk=grant.pk)
        messages.success(
            request,
            _("Grant #%(number)s is given back; your access has ended.") % {"number": grant.pk},
        )
        return redirect("portal-home")
    return render(
        request,
        "portal/grant_relinquish.html",
        {"grant": grant, "assets": grant.assets.select_related("system")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def grant_extend(request: AuthedRequest, pk: int) -> HttpResponse:
    grant = _own_grant(request, pk)
    # More time on a role that asks its requester for a fresh second factor is asking for
    # that role again: the same factor first, back to this page.
    need = requester_factor_missing(target=grant, session=request, action="extend")
    if need is not None and (stale := fresh_factor_redirect(request, back=need.path)):
        return stale
    if request.method == "POST":
        form = GrantExtendForm(request.POST, grant=grant)
        if form.is_valid():
            try:
                extension = services.access_request_extend(
                    grant_id=grant.pk,
                    requester=request.user,
                    ends_at=form.cleaned_data["new_ends_at"],
                    justification=form.cleaned_data.get("justification", "").strip(),
                    ticket=form.cleaned_data.get("ticket", "").strip(),
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            except PermissionDenied as exc:
                form.add_error(None, _messages_of(exc)[0])
            else:
                messages.success(
                    request,
                    (
                        _("Your request to extend grant #%(number)s is sent for approval.")
                        if extension.status == RequestStatus.PENDING
                        else _("Your request to extend grant #%(number)s is sent.")
                    )
                    % {"number": grant.pk},
                )
                return redirect("access-request-detail", pk=extension.pk)
    else:
        form = GrantExtendForm(grant=grant)
    role, asset = grant.request.role, grant.request.asset
    policy_ctx = _policy_context(user=request.user, role=role, asset=asset)
    form.mark_policy(policy_ctx["policy"] if policy_ctx else None)
    return render(
        request,
        "portal/grant_extend.html",
        {
            "grant": grant,
            "form": form,
            "policy_ctx": policy_ctx,
            "ticket_help": ticket_help_text(policy_ctx["policy"] if policy_ctx else None),
            "target_value": target_value(role=role, asset=asset),
            "latest_end": grant.starts_at + policy_ctx["policy"].max_total_duration
            if policy_ctx
            else None,
        },
    )
