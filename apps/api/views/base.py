"""What every endpoint shares: the problem responses it documents, and the lookup of a row
by its id (ASCII digits within a bigint, else 404, as the pages do)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework.generics import GenericAPIView

from jitportal.inputs import parse_id

from ..serializers import ProblemSerializer

M = TypeVar("M", bound=Model)

PROBLEM = OpenApiResponse(ProblemSerializer, description="RFC 9457 problem details")
ERRORS = {400: PROBLEM, 401: PROBLEM, 403: PROBLEM, 404: PROBLEM}
WRITE_ERRORS = {**ERRORS, 409: PROBLEM}


class ApiView(GenericAPIView):
    """Any scope a token may carry for this view, by HTTP method (see authentication)."""

    token_scopes: Any = ()
    required_permissions: Any = ()
    any_permissions: Any = ()


class ApiListView(ApiView):
    """A paginated list of ``get_queryset()`` (a queryset or a list)."""

    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def row_or_404(queryset: QuerySet[M], raw: Any) -> M:
    pk = parse_id(str(raw))
    if pk is None:
        raise Http404
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row
