"""The requester's side, as on the portal's pages (apps/access/views.py): what I may ask for,
my requests (ask, cancel), my grants (give back, ask for more time).

Rows are looked up through ``requests_for_user`` / ``grants_for_user`` (another person's id
is a 404); bodies are read by the pages' own forms; every change is the pages' service call.
A grant's accounts in other systems and their one-time passwords: ``accounts.py``.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from apps.access import selectors, services
from apps.access.forms import AccessRequestForm, GrantExtendForm
from apps.access.models import AccessRequest, AccessRole, Grant, RequestStatus
from apps.access.requester_factor import Action, requester_factor_missing

# The portal page's own policy hints (one round of corrections), so both answer alike.
from apps.access.views import _policy_context, _policy_hints
from apps.inventory.models import DataAsset

from ..inputs import body_object, call_service, form_data, id_fields_check
from ..problems import Problem, fresh_factor_problem
from ..serializers import (
    AssetBriefSerializer,
    ExtendBody,
    GrantSerializer,
    RequestCreateBody,
    RequestSerializer,
    RoleSerializer,
)
from .base import ERRORS, WRITE_ERRORS, ApiListView, ApiView, row_or_404

REQUEST_SCOPES = ("request",)
# API name -> the request form's field.
REQUEST_FIELDS = {
    "starts_at": "starts_at",
    "ends_at": "ends_at",
    "duration_hours": "duration",
    "justification": "justification",
    "ticket": "ticket",
    "processing_activity": "processing_activity",
}
#: The fields of a new request that name a row by its id.
REQUEST_ID_FIELDS = ("role", "asset", "processing_activity")
EXTEND_FIELDS = {
    "ends_at": "ends_at",
    "extend_by_hours": "extend_by",
    "justification": "justification",
    "ticket": "ticket",
}


def _refuse_a_missing_factor(request: Any, *, target: object, action: Action) -> None:
    """The requester's fresh-factor rule, as on the portal (``requester_factor_missing``): a
    token never carries a factor, a session may. Raises the 403 problem whose ``portal_url``
    is the page that asks for the factor."""
    session = request._request if request.auth is None else None
    need = requester_factor_missing(target=target, session=session, action=action)
    if need is not None:
        url = request.build_absolute_uri(need.path)
        raise fresh_factor_problem(detail=need.message(url), portal_url=url)


def _my_requests(user: Any):
    return selectors.with_queue_columns(selectors.requests_for_user(user)).select_related("grant")


def _request_answer(view: ApiView, obj: AccessRequest, *, code: int = 200) -> Response:
    fresh = _my_requests(view.request.user).get(pk=obj.pk)
    return Response(RequestSerializer(fresh, context={"request": view.request}).data, status=code)


@extend_schema(tags=["requestable"], responses={200: RoleSerializer(many=True), **ERRORS})
class RequestableRolesView(ApiListView):
    """Roles I may ask for (the request form's choices)."""

    token_scopes = REQUEST_SCOPES
    serializer_class = RoleSerializer

    def get_queryset(self):
        return selectors.requestable_roles_for(self.request.user).order_by("name", "pk")


@extend_schema(tags=["requestable"], responses={200: AssetBriefSerializer(many=True), **ERRORS})
class RequestableAssetsView(ApiListView):
    """Single data assets I may ask for (covered by a role I may ask for)."""

    token_scopes = REQUEST_SCOPES
    serializer_class = AssetBriefSerializer

    def get_queryset(self):
        return selectors.requestable_assets_for(self.request.user).order_by(
            "system__name", "name", "pk"
        )


@extend_schema_view(
    get=extend_schema(
        tags=["my requests"],
        parameters=[OpenApiParameter("status", str, enum=list(RequestStatus.values))],
        responses={200: RequestSerializer(many=True), **ERRORS},
    )
)
class MyRequestsView(ApiListView):
    """My requests, newest first (``?status=pending|approved|denied|cancelled|lapsed``); POST
    asks for access, exactly as the portal's request form."""

    token_scopes = REQUEST_SCOPES
    serializer_class = RequestSerializer
    body_serializer = RequestCreateBody

    def get_queryset(self):
        qs = _my_requests(self.request.user)
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in RequestStatus.values:
                raise Problem.invalid(
                    [
                        (
                            "status",
                            _("Choose one of: %(choices)s.")
                            % {"choices": ", ".join(RequestStatus.values)},
                        )
                    ]
                )
            qs = qs.filter(status=wanted)
        return qs

    @extend_schema(tags=["my requests"], responses={201: RequestSerializer, **WRITE_ERRORS})
    def post(self, request, *args, **kwargs):
        body = body_object(request)
        id_fields_check(body, REQUEST_ID_FIELDS)
        data = form_data(body, REQUEST_FIELDS)
        data["start"] = "later" if data.get("starts_at") else "now"
        given = [key for key in ("role", "asset") if body.get(key) is not None]
        if len(given) == 2:
            raise Problem.invalid([("role", _("Choose a role or a single data asset, not both."))])
        if given:
            data["target"] = f"{given[0]}-{form_data(body, {given[0]: 'target'})['target']}"
        field_names = {
            "target": given[0] if given else "role",
            "start": "starts_at",
            "duration": "duration_hours",
        }
        form = AccessRequestForm(data, user=request.user)
        chosen = form.resolve_target(data.get("target", ""))
        _refuse_a_missing_factor(request, target=chosen, action="ask")
        created = None
        if form.is_valid():
            try:
                created = call_service(
                    services.access_request_submit,
                    form=form,
                    field_names=field_names,
                    requester=request.user,
                    **form.submit_kwargs(),
                )
            except Problem as problem:
                if problem.status_code != 400:
                    raise
        if created is None:
            policy = _policy_context(
                user=request.user,
                role=chosen if isinstance(chosen, AccessRole) else None,
                asset=chosen if isinstance(chosen, DataAsset) else None,
            )
            if policy is not None:
                _policy_hints(form, policy["policy"])
            raise Problem.from_form(form, field_names)
        response = _request_answer(self, created, code=status.HTTP_201_CREATED)
        response["Location"] = reverse("api-my-request", args=[created.pk])
        return response


@extend_schema(tags=["my requests"], responses={200: RequestSerializer, **ERRORS})
class MyRequestView(ApiView):
    token_scopes = REQUEST_SCOPES
    serializer_class = RequestSerializer

    def get(self, request, pk: str):
        return _request_answer(self, row_or_404(_my_requests(request.user), pk))


@extend_schema(tags=["my requests"], responses={200: RequestSerializer, **WRITE_ERRORS})
class MyRequestCancelView(ApiView):
    """Withdraw a pending request of mine."""

    token_scopes = REQUEST_SCOPES
    serializer_class = RequestSerializer

    def post(self, request, pk: str):
        own = row_or_404(_my_requests(request.user), pk)
        call_service(services.access_request_cancel, request_id=own.pk, actor=request.user)
        return _request_answer(self, own)


def _my_grants(user: Any):
    return selectors.grants_for_user(user)


@extend_schema(
    tags=["my grants"],
    parameters=[OpenApiParameter("live", bool)],
    responses={200: GrantSerializer(many=True), **ERRORS},
)
class MyGrantsView(ApiListView):
    """My grants, latest start first (``?live=true``: only those giving access now)."""

    token_scopes = REQUEST_SCOPES
    serializer_class = GrantSerializer

    def get_queryset(self):
        qs = _my_grants(self.request.user)
        live = self.request.query_params.get("live")
        if live is not None:
            if live not in ("true", "false"):
                raise Problem.invalid([("live", _("Give true or false."))])
            ids = Grant.objects.live().filter(user=self.request.user).values("pk")
            qs = qs.filter(pk__in=ids) if live == "true" else qs.exclude(pk__in=ids)
        return qs


@extend_schema(tags=["my grants"], responses={200: GrantSerializer, **ERRORS})
class MyGrantView(ApiView):
    token_scopes = REQUEST_SCOPES
    serializer_class = GrantSerializer

    def get(self, request, pk: str):
        grant = row_or_404(_my_grants(request.user), pk)
        return Response(GrantSerializer(grant).data)


@extend_schema(tags=["my grants"], responses={200: GrantSerializer, **WRITE_ERRORS})
class MyGrantGiveBackView(ApiView):
    """Give a grant back: my access ends now."""

    token_scopes = REQUEST_SCOPES
    serializer_class = GrantSerializer

    def post(self, request, pk: str):
        grant = row_or_404(_my_grants(request.user), pk)
        call_service(services.grant_relinquish, grant_id=grant.pk, actor=request.user)
        return Response(GrantSerializer(_my_grants(request.user).get(pk=grant.pk)).data)


@extend_schema(tags=["my grants"], responses={201: RequestSerializer, **WRITE_ERRORS})
class MyGrantExtendView(ApiView):
    """Ask for more time on a grant (a request decided like any other)."""

    token_scopes = REQUEST_SCOPES
    serializer_class = RequestSerializer
    body_serializer = ExtendBody

    def post(self, request, pk: str):
        grant = row_or_404(_my_grants(request.user), pk)
        _refuse_a_missing_factor(request, target=grant, action="extend")
        field_names = {"extend_by": "extend_by_hours"}
        form = GrantExtendForm(form_data(body_object(request), EXTEND_FIELDS), grant=grant)
        if not form.is_valid():
            raise Problem.from_form(form, field_names)
        extension = call_service(
            services.access_request_extend,
            form=form,
            field_names=field_names,
            grant_id=grant.pk,
            requester=request.user,
            ends_at=form.cleaned_data["new_ends_at"],
            justification=form.cleaned_data.get("justification", "").strip(),
            ticket=form.cleaned_data.get("ticket", "").strip(),
        )
        response = _request_answer(self, extension, code=status.HTTP_201_CREATED)
        response["Location"] = reverse("api-my-request", args=[extension.pk])
        return response
