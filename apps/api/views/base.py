"""What every endpoint shares: the problem responses it documents, and the lookup of a row
by its id (ASCII digits within a bigint, else 404, as the pages do)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS

from jitportal.inputs import parse_id, search_problem

from ..inputs import body_fields_check
from ..parsers import ProblemJSONParser
from ..problems import (
    Problem,
    not_found_problem,
    problem_response,
    unsupported_media_type_problem,
)
from ..schema import ApiSchema
from ..serializers import ProblemSerializer

M = TypeVar("M", bound=Model)

PROBLEM = OpenApiResponse(ProblemSerializer, description="RFC 9457 problem details")
ERRORS = {400: PROBLEM, 401: PROBLEM, 403: PROBLEM, 404: PROBLEM}
WRITE_ERRORS = {**ERRORS, 409: PROBLEM}


class ApiView(GenericAPIView):
    """Any scope a token may carry for this view, by HTTP method (see authentication).

    Reads JSON bodies only: any other kind of body (a form, multipart/form-data, text) is
    refused with 415 (RFC 9110 section 15.5.16) rather than read as an empty object.

    Every query parameter (a search ``q``, a filter, a cursor) is checked by the search rule
    of the pages (``jitportal.inputs.search_problem``: no control character, at most 200
    characters) before the view runs a query: a 400 problem names the parameter."""

    # The body its unsafe method (POST) takes, for the schema and for the check made here
    # before the view runs: a field it does not name, or names read-only, is refused with a
    # 400 problem naming each such field, and nothing is done (None: it takes no field).

    token_scopes: Any = ()
    required_permissions: Any = ()
    any_permissions: Any = ()
    body_serializer: Any = None
    parser_classes = [ProblemJSONParser]
    schema = ApiSchema()

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.check_query(request)
        self.check_media(request)
        self.check_body(request)

    def check_query(self, request: Any) -> None:
        for name, values in request.query_params.lists():
            for value in values:
                if problem := search_problem(value):
                    raise Problem.invalid([(name, problem)])

    def check_media(self, request: Any) -> None:
        media = request.META.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        if not media or media == "application/json":
            return
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 1
        if length > 0 or media.startswith("multipart/"):
            raise unsupported_media_type_problem(media)

    def check_body(self, request: Any) -> None:
        """Refuse a body with a field the method does not take (see the class)."""
        if request.method not in SAFE_METHODS and hasattr(self, request.method.lower()):
            body_fields_check(
                request, self.body_serializer, getattr(self, "serializer_class", None)
            )


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


@csrf_exempt
def unknown_address(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any address under /api/ that names no endpoint: 404 as a problem detail, for every
    method. When the address lacks only its trailing slash, the answer names the right one
    (no redirect: a redirected POST would lose its method with some clients)."""
    detail = None
    if not request.path_info.endswith("/"):
        match = resolve_or_none(request.path_info + "/")
        if match is not None and match.url_name != "api-unknown":
            detail = _("This address ends with a slash: use %(url)s") % {
                "url": request.build_absolute_uri(request.path + "/")
            }
    return problem_response(not_found_problem(detail), request)


def resolve_or_none(path: str) -> Any:
    try:
        return resolve(path)
    except Resolver404:
        return None
