"""The approver's side, as in the access admin (apps/access/admin): the queue with its
filters, approve (optionally shortening the window), deny, who holds access now, revoke.

Break-glass is never taken here, and approving Art. 9/10 data where MFA applies needs a
fresh second factor a token cannot carry: the answer is a problem detail whose ``portal_url``
is the page where a person presents the factor and decides (docs/api.md).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from apps.access import selectors, services
from apps.access.admin.forms import ApproveForm, HoldersForm, QueueFilterForm, ReasonForm
from apps.access.models import AccessRequest, Grant
from apps.signin.mfa import factor_is_fresh, mfa_on

from ..inputs import body_object, call_service, form_data
from ..problems import CONFLICT, Problem, fresh_factor_problem
from ..serializers import (
    ApproveBody,
    GrantSerializer,
    QueueItemSerializer,
    ReasonBody,
    ShortenBody,
)
from .base import ERRORS, WRITE_ERRORS, ApiView, row_or_404

DECIDE = ("decide",)
DECIDE_PERM = "access.decide_accessrequest"


def _with_columns():
    return selectors.with_queue_columns(AccessRequest.objects.all()).select_related(
        "grant", "decided_by"
    )


def _queue(user: Any):
    return selectors.approval_queue_for(user).select_related("grant", "decided_by")


def _answer(view: ApiView, pk: int) -> Response:
    obj = _with_columns().get(pk=pk)
    return Response(QueueItemSerializer(obj, context={"request": view.request}).data)


def _decidable(request: Any, pk: str) -> AccessRequest:
    """A request waiting for my decision. One I decided myself is a conflict (409: I know
    it exists); anything else outside my queue (decided or cancelled by others, my own,
    another approver's asset) is 404, as the queue shows it: nothing is confirmed."""
    try:
        return row_or_404(_queue(request.user), pk)
    except Http404:
        obj = row_or_404(
            AccessRequest.objects.filter(
                Q(approvals__approver=request.user) | Q(decided_by=request.user)
            ).distinct(),
            pk,
        )
        raise Problem(
            status=409,
            type_=CONFLICT,
            title=_("This cannot be done in the current state."),
            detail=_("You have already decided request #%(id)s.") % {"id": obj.pk},
        ) from None


def _refuse_without_fresh_factor(request: Any, obj: AccessRequest) -> None:
    """Approving Art. 9/10 data follows the portal's own rule (``apps.signin.mfa``): where
    MFA applies (``MFA_REQUIRED``), only after a second factor presented within
    ``MFA_FRESH_MINUTES``, which an integration token never carries and a session may lack;
    the answer is a 403 problem with the decision page as ``portal_url``. Without MFA the
    portal asks for no factor, so neither does the API: the approval service still requires
    the DPO's approval for special-category data (architecture.md, invariants 3 and 24)."""
    if not mfa_on():
        return
    if request.auth is not None:
        detail = _(
            "Request #%(id)s opens special-category (Art. 9/10) data: approving it needs a "
            "fresh second factor, which an API token cannot carry. Approve it on the "
            "portal's decision page."
        )
    elif not factor_is_fresh(request._request):
        detail = _(
            "Request #%(id)s opens special-category (Art. 9/10) data: approving it needs a "
            "second factor presented within the last minutes. Present it on the portal's "
            "decision page and approve it there."
        )
    else:
        return
    raise fresh_factor_problem(
        detail=detail % {"id": obj.pk}, portal_url=_decide_url(request, obj, "approve")
    )


def _decide_url(request: Any, obj: AccessRequest, decision: str) -> str:
    return request.build_absolute_uri(
        reverse("admin:access_accessrequest_decide", args=[obj.pk, decision])
    )


class QueueView(ApiView):
    """Requests waiting for my decision, oldest first, with the admin queue's search and
    filters (``q``, ``asset``, ``role``, ``requester``, ``special=yes|no``,
    ``age=hour|day|week|older``)."""

    token_scopes = DECIDE
    required_permissions = (DECIDE_PERM,)
    serializer_class = QueueItemSerializer

    @extend_schema(
        tags=["queue"],
        parameters=[
            OpenApiParameter("q", str),
            OpenApiParameter("asset", int),
            OpenApiParameter("role", int),
            OpenApiParameter("requester", int),
            OpenApiParameter("special", str, enum=["yes", "no"]),
            OpenApiParameter("age", str, enum=list(QueueFilterForm.AGES)),
        ],
        responses={200: QueueItemSerializer(many=True), **ERRORS},
    )
    def get(self, request, *args, **kwargs):
        queue = _queue(request.user)
        filters = {
            k: v for k, v in request.query_params.items() if k in QueueFilterForm.base_fields
        }
        shown = queue
        if filters:
            # The admin queue's form: its choices are read from the queue (one pass), only
            # when there is something to check against them.
            form = QueueFilterForm(filters, queue=queue)
            if not form.is_valid():
                raise Problem.from_form(form)
            shown = form.apply(queue)
        # The page's ids first (no per-row columns for the rows an offset skips), then its
        # rows with their columns: the same number of queries, and as fast, on any page.
        ids = list(self.paginate_queryset(shown.values_list("pk", flat=True)))
        rows = {r.pk: r for r in _with_columns().filter(pk__in=ids)}
        page = [rows[pk] for pk in ids if pk in rows]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["queue"], responses={200: QueueItemSerializer, **ERRORS})
class QueueItemView(ApiView):
    """One request waiting for my decision."""

    token_scopes = DECIDE
    required_permissions = (DECIDE_PERM,)
    serializer_class = QueueItemSerializer

    def get(self, request, pk: str):
        obj = row_or_404(_queue(request.user), pk)
        return Response(QueueItemSerializer(obj, context={"request": request}).data)


class _DecisionView(ApiView):
    token_scopes = DECIDE
    required_permissions = (DECIDE_PERM,)
    serializer_class = QueueItemSerializer
    shorten = False

    def _approve(self, request, pk: str):
        # The queue's own visibility first (404 for what is not waiting for my decision: a
        # decided or cancelled request, someone else's queue), then the input, and the
        # fresh-factor refusal last, so that it confirms nothing the queue would not show.
        obj = _decidable(request, pk)
        body = body_object(request)
        if self.shorten and form_value_missing(body, "ends_at"):
            raise Problem.invalid([("ends_at", _("Give a date and time for the new end."))])
        form = ApproveForm(form_data(body, {"comment": "comment", "ends_at": "ends_at"}))
        if not form.is_valid():
            raise Problem.from_form(form)
        if getattr(obj, "holds_special", False):
            _refuse_without_fresh_factor(request, obj)
        call_service(
            services.access_request_approve,
            request_id=obj.pk,
            approver=request.user,
            comment=form.cleaned_data["comment"],
            ends_at=form.cleaned_data["ends_at"],
            channel="api",
        )
        return _answer(self, obj.pk)


def form_value_missing(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    return value is None or (isinstance(value, str) and not value.strip())


@extend_schema(tags=["queue"], responses={200: QueueItemSerializer, **WRITE_ERRORS})
class ApproveView(_DecisionView):
    """Approve (one approval; the request is approved once enough are in). ``ends_at`` may
    shorten the window."""

    body_serializer = ApproveBody

    def post(self, request, pk: str):
        return self._approve(request, pk)


@extend_schema(tags=["queue"], responses={200: QueueItemSerializer, **WRITE_ERRORS})
class ShortenView(_DecisionView):
    """Approve a shorter window than asked for: ``ends_at`` is required."""

    shorten = True
    body_serializer = ShortenBody

    def post(self, request, pk: str):
        return self._approve(request, pk)


@extend_schema(tags=["queue"], responses={200: QueueItemSerializer, **WRITE_ERRORS})
class DenyView(_DecisionView):
    """Deny, with a reason (recorded and shown to the requester)."""

    body_serializer = ReasonBody

    def post(self, request, pk: str):
        obj = _decidable(request, pk)
        form = ReasonForm(form_data(body_object(request), {"reason": "reason"}))
        if not form.is_valid():
            raise Problem.from_form(form)
        call_service(
            services.access_request_deny,
            request_id=obj.pk,
            approver=request.user,
            reason=form.cleaned_data["reason"],
            channel="api",
        )
        return _answer(self, obj.pk)


class HoldersView(ApiView):
    """Who holds access right now (live grants), optionally for one ``asset`` and/or
    ``user`` (ids), as the admin's "who holds access" page."""

    token_scopes = ("read", "decide")
    required_permissions = ("access.view_grant",)
    serializer_class = GrantSerializer

    @extend_schema(
        tags=["grants"],
        parameters=[OpenApiParameter("asset", int), OpenApiParameter("user", int)],
        responses={200: GrantSerializer(many=True), **ERRORS},
    )
    def get(self, request, *args, **kwargs):
        filters = {k: v for k, v in request.query_params.items() if k in HoldersForm.base_fields}
        asset = user = None
        if filters:
            form = HoldersForm(filters)
            if not form.is_valid():
                raise Problem.from_form(form)
            asset, user = form.cleaned_data["asset"], form.cleaned_data["user"]
        grants = selectors.holders_now(asset=asset, user=user)
        page = self.paginate_queryset(grants)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["grants"], responses={200: GrantSerializer, **ERRORS})
class GrantView(ApiView):
    token_scopes = ("read", "decide")
    required_permissions = ("access.view_grant",)
    serializer_class = GrantSerializer

    def get(self, request, pk: str):
        grant = row_or_404(
            Grant.objects.select_related(
                "user", "request__role", "request__asset", "revoked_by"
            ).prefetch_related("assets__system"),
            pk,
        )
        return Response(GrantSerializer(grant).data)


@extend_schema(tags=["grants"], responses={200: GrantSerializer, **WRITE_ERRORS})
class RevokeView(ApiView):
    """Revoke a grant now, with a reason."""

    token_scopes = DECIDE
    body_serializer = ReasonBody
    required_permissions = ("access.revoke_grant",)
    serializer_class = GrantSerializer

    def post(self, request, pk: str):
        grant = row_or_404(Grant.objects.all(), pk)
        form = ReasonForm(form_data(body_object(request), {"reason": "reason"}))
        if not form.is_valid():
            raise Problem.from_form(form)
        call_service(
            services.grant_revoke,
            grant_id=grant.pk,
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
        fresh = Grant.objects.prefetch_related("assets__system").get(pk=grant.pk)
        return Response(GrantSerializer(fresh).data)


@extend_schema(tags=["grants"], responses={403: ERRORS[403]})
class BreakGlassView(ApiView):
    """Break-glass is never done through the API: it needs a fresh second factor on the
    portal. The answer names the page."""

    token_scopes = DECIDE
    required_permissions = ("access.break_glass",)

    def post(self, request, *args, **kwargs):
        raise fresh_factor_problem(
            detail=_(
                "Break-glass access needs a fresh second factor: take it on the portal's "
                "break-glass page."
            ),
            portal_url=request.build_absolute_uri(reverse("admin:access_grant_break_glass")),
        )
