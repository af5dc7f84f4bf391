"""Reads for the DPO, auditors and integrations: the inventory, the record of processing
(Art. 30) as JSON, the access registers and the audit trail (with a cursor)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from apps.audit.models import AuditEvent
from apps.inventory.models import DataAsset, ProcessingActivity, System
from apps.reports.forms import AssetRegisterForm, UserRegisterForm
from apps.reports.registers import access_register
from apps.reports.ropa import ropa_build

from ..pagination import AuditCursorPagination
from ..problems import Problem
from ..serializers import (
    ActivitySerializer,
    AssetSerializer,
    AuditEventSerializer,
    RegisterRowSerializer,
    SystemSerializer,
)
from .base import ERRORS, ApiListView, ApiView, row_or_404

READ = ("read",)


def _search(request: Any) -> list[str]:
    """The words of ``?q=`` (its length and characters are checked by ``ApiView``)."""
    return request.query_params.get("q", "").split()


class _InventoryList(ApiListView):
    token_scopes = READ
    search_fields: tuple[str, ...] = ("name",)

    def get_queryset(self):
        qs = super().get_queryset()
        for word in _search(self.request):
            any_field = Q()
            for name in self.search_fields:
                any_field |= Q(**{f"{name}__icontains": word})
            qs = qs.filter(any_field)
        return qs


class _InventoryItem(ApiView):
    token_scopes = READ

    def get(self, request, pk: str):
        return Response(self.get_serializer(row_or_404(self.get_queryset(), pk)).data)


_Q = [OpenApiParameter("q", str, description="Words to search for (all must match).")]


@extend_schema(
    tags=["inventory"], parameters=_Q, responses={200: SystemSerializer(many=True), **ERRORS}
)
class SystemsView(_InventoryList):
    required_permissions = ("inventory.view_system",)
    serializer_class = SystemSerializer
    search_fields = ("name", "description", "vendor", "owner_team")
    queryset = System.objects.select_related("owner").order_by("name", "pk")


@extend_schema(tags=["inventory"], responses={200: SystemSerializer, **ERRORS})
class SystemView(_InventoryItem):
    required_permissions = ("inventory.view_system",)
    serializer_class = SystemSerializer
    queryset = System.objects.select_related("owner")


def _assets():
    return DataAsset.objects.select_related("system", "owner").prefetch_related("categories")


@extend_schema(
    tags=["inventory"], parameters=_Q, responses={200: AssetSerializer(many=True), **ERRORS}
)
class AssetsView(_InventoryList):
    required_permissions = ("inventory.view_dataasset",)
    serializer_class = AssetSerializer
    search_fields = ("name", "description", "system__name")
    queryset = _assets().order_by("system__name", "name", "pk")


@extend_schema(tags=["inventory"], responses={200: AssetSerializer, **ERRORS})
class AssetView(_InventoryItem):
    required_permissions = ("inventory.view_dataasset",)
    serializer_class = AssetSerializer
    queryset = _assets()


def _activities():
    return ProcessingActivity.objects.select_related("owner").prefetch_related("assets")


@extend_schema(
    tags=["inventory"], parameters=_Q, responses={200: ActivitySerializer(many=True), **ERRORS}
)
class ActivitiesView(_InventoryList):
    required_permissions = ("inventory.view_processingactivity",)
    serializer_class = ActivitySerializer
    search_fields = ("name", "reference", "purposes", "business_function")
    queryset = _activities().order_by("name", "pk")


@extend_schema(tags=["inventory"], responses={200: ActivitySerializer, **ERRORS})
class ActivityView(_InventoryItem):
    required_permissions = ("inventory.view_processingactivity",)
    serializer_class = ActivitySerializer
    queryset = _activities()


@extend_schema(
    tags=["records"],
    parameters=[OpenApiParameter("record", str, enum=["controller", "processor"])],
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class RopaView(ApiView):
    """The record of processing activities (Art. 30(1), or ``record=processor`` for Art.
    30(2)) as the JSON document the ROPA page downloads (one document, not a list)."""

    token_scopes = READ
    required_permissions = ("reports.view_ropa",)

    def get(self, request, *args, **kwargs):
        record = request.query_params.get("record", "controller")
        if record not in ("controller", "processor"):
            raise Problem.invalid([("record", _("Choose controller or processor."))])
        return Response(ropa_build(processor=record == "processor"))


class _RegisterView(ApiView):
    """An access register: the grants that gave access in a period (``start``, ``end``:
    whole local days, the last included; default the last 30 days), as the register page
    lists them, one row per grant, paginated."""

    token_scopes = READ
    required_permissions = ("reports.view_registers",)
    serializer_class = RegisterRowSerializer
    by = "asset"

    def get(self, request, *args, **kwargs):
        form_class = AssetRegisterForm if self.by == "asset" else UserRegisterForm
        fields = {k: v for k, v in request.query_params.items() if k in form_class.base_fields}
        form = form_class(fields)
        if not form.is_valid():
            raise Problem.from_form(form)
        start, end = form.bounds()
        subject = form.cleaned_data[self.by]
        rows = access_register(
            start=start,
            end=end,
            now=timezone.now(),
            **({"asset_id": subject.pk} if self.by == "asset" else {"user_id": subject.pk}),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


_PERIOD = [OpenApiParameter("start", OpenApiTypes.DATE), OpenApiParameter("end", OpenApiTypes.DATE)]


@extend_schema(
    tags=["records"],
    parameters=[OpenApiParameter("asset", int, required=True), *_PERIOD],
    responses={200: RegisterRowSerializer(many=True), **ERRORS},
)
class AssetRegisterView(_RegisterView):
    by = "asset"


@extend_schema(
    tags=["records"],
    parameters=[OpenApiParameter("user", int, required=True), *_PERIOD],
    responses={200: RegisterRowSerializer(many=True), **ERRORS},
)
class UserRegisterView(_RegisterView):
    by = "user"


@extend_schema(
    tags=["records"],
    parameters=[
        OpenApiParameter(
            "action", str, description="Exactly this action, e.g. access.request.denied"
        ),
        OpenApiParameter("target_type", str),
    ],
    responses={200: AuditEventSerializer(many=True), **ERRORS},
)
class AuditEventsView(ApiListView):
    """The hash-chained audit trail, oldest first, with an opaque ``cursor`` (follow
    ``next``; events appended later are never skipped nor repeated)."""

    token_scopes = ("audit",)
    required_permissions = ("audit.view_auditevent",)
    serializer_class = AuditEventSerializer
    pagination_class = AuditCursorPagination

    def get_queryset(self):
        qs = AuditEvent.objects.all()
        for name in ("action", "target_type"):
            value = self.request.query_params.get(name)
            if value is not None:
                if len(value) > 100:
                    raise Problem.invalid([(name, _("Give at most 100 characters."))])
                qs = qs.filter(**{name: value})
        return qs
