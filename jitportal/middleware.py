"""Middleware the whole site shares."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.http.multipartparser import MultiPartParserError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .inputs import search_problem

logger = logging.getLogger(__name__)

NUL = "\x00"
API_PREFIX = "/api/"

# Where a NUL was found, for the person (in their language) and the log (in English).
WHERE = {
    "address": gettext_lazy("the address"),
    "query": gettext_lazy("the query parameter “%(key)s”"),
    "cookie": gettext_lazy("a cookie"),
    "form": gettext_lazy("the form field “%(key)s”"),
    "file": gettext_lazy("the file name of “%(key)s”"),
}


def _where(found: tuple[str, str]) -> str:
    place, key = found
    text = str(WHERE[place])
    return text % {"key": key} if place in {"query", "form", "file"} else text


def _first_nul(pairs: Iterable[tuple[str, list[str]]]) -> str | None:
    for key, values in pairs:
        if NUL in key or any(NUL in value for value in values):
            return key.replace(NUL, "\\x00")
    return None


class UnstorableInputMiddleware:
    """Answer 400 to a request that carries a NUL character (U+0000) anywhere it is read.

    PostgreSQL cannot store NUL in text and refuses a query that compares text with it
    (``DataError: A string literal cannot contain NUL (0x00) characters``), so a NUL in a
    changelist filter, a search, a form field or a URL path reached the database and gave a
    500 on every page that passed it on, third-party admins included. No page of the site
    has a use for NUL, so it is refused here, once, before any view or session lookup runs:
    in the path, the query string, form fields (URL-encoded and multipart, file contents
    excepted) and cookies. The answer names the parameter and changes nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = self._nul_in(request)
        if found is not None:
            with translation.override("en"):
                logger.warning("Refused a request with a NUL character in %s", _where(found))
            # This runs before LocaleMiddleware: answer in the language it would pick.
            with translation.override(translation.get_language_from_request(request)):
                message = _(
                    "Bad request: %(where)s contains a NUL character (U+0000), which cannot be "
                    "stored or searched for. Remove it and try again."
                ) % {"where": _where(found)}
            if request.path_info.startswith(API_PREFIX):
                # The REST API answers every error as a problem detail (RFC 9457, docs/api.md).
                with translation.override(translation.get_language_from_request(request)):
                    title = _("The request could not be read.")
                body = {"type": "urn:jitportal:problem:malformed-request", "title": title,
                        "status": 400, "detail": message, "instance": request.path}  # fmt: skip
                return HttpResponseBadRequest(
                    json.dumps(body, ensure_ascii=False), content_type="application/problem+json"
                )
            return HttpResponseBadRequest(message + "\n", content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Answer 400 when an admin changelist cannot convert a query parameter.

        Django's changelist, and the third-party admins built on it, pass any parameter that
        names a field lookup to the database; Django turns the errors it sees while building
        the query into ``?e=1``, but a value the field cannot convert (``'²'`` for an id, an
        id beyond ``bigint``) or the database refuses can still raise while the rows are
        counted and fetched. A changelist read changes nothing, so the answer is a 400 that
        names the page; any other view's error stays a 500, to be fixed where it happens.
        """
        match = request.resolver_match
        if (
            request.method in ("GET", "HEAD")
            and match is not None
            and (match.url_name or "").endswith("_changelist")
            and isinstance(exception, ValueError | OverflowError | ValidationError | DataError)
        ):
            logger.warning("Changelist refused its query parameters: %r", exception)
            message = _(
                "Bad request: a filter, search or page parameter of this list holds a value "
                "its field cannot take (a number out of range, a non-ASCII digit, a date "
                "outside the calendar). Open the list without it and filter again."
            )
            return HttpResponseBadRequest(message + "\n", content_type="text/plain; charset=utf-8")
        return None

    @staticmethod
    def _nul_in(request: HttpRequest) -> tuple[str, str] | None:
        """Where the first NUL is: ``(place, key)``, place a key of :data:`WHERE`."""
        if NUL in request.path_info or NUL in request.path:
            return ("address", "")
        key = _first_nul(request.GET.lists())
        if key is not None:
            return ("query", key)
        for name, value in request.COOKIES.items():
            if NUL in name or NUL in value:
                return ("cookie", "")
        # The API reads JSON bodies only, and refuses any other kind itself (415).
        if request.method in ("POST", "PUT", "PATCH") and not request.path_info.startswith(
            API_PREFIX
        ):
            try:
                key = _first_nul(request.POST.lists())
            except MultiPartParserError:
                return None  # Django answers a malformed body itself.
            if key is not None:
                return ("form", key)
            for field, files in request.FILES.lists():
                if any(NUL in (f.name or "") for f in files):
                    return ("file", field)
        return None


#: The query parameters that are a search on a page: ``q`` (every admin changelist, the
#: approval queue, the portal's search boxes) and ``term`` (the admin's autocomplete).
SEARCH_PARAMETERS = ("q", "term")
#: Paths with no search box whose answer must not change with a stray ``q``: the REST API
#: (checked by its own base view) and the health probes (a load balancer reads their status).
NOT_SEARCHED = (API_PREFIX, "/health/")


class SearchInputMiddleware:
    """Run no search that holds a control character or is longer than the search rule takes.

    Every search box of the site reads ``q`` (every admin changelist, the project's and the
    libraries', the approval queue, the portal's lists) or ``term`` (the admin's
    autocomplete). A value :func:`jitportal.inputs.search_problem` refuses (a control
    character: ESC, DEL, C1, a bidirectional override, a line break; more than
    ``SEARCH_MAX_LENGTH`` characters) is answered here, before the view runs a query: a page
    is sent back to itself without the search and shows why (the other filters stay); the
    autocomplete answers 400 with the message as JSON. The REST API checks its query
    parameters with the same rule in its own base view (``apps.api.views.base``), to answer
    as a problem detail. OWASP Logging Cheat Sheet: "sanitise event data to prevent log
    injection" (a search is logged and shown back).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if request.method not in ("GET", "HEAD") or request.path_info.startswith(NOT_SEARCHED):
            return None
        for name in SEARCH_PARAMETERS:
            for value in request.GET.getlist(name):
                problem = search_problem(value)
                if problem is None:
                    continue
                message = _("The search was not run. %(problem)s") % {"problem": problem}
                match = request.resolver_match
                if match is not None and match.url_name == "autocomplete":
                    return JsonResponse({"error": message}, status=400)
                messages.error(request, message)
                kept = request.GET.copy()
                kept.pop(name)
                query = kept.urlencode()
                return HttpResponseRedirect(request.path + (f"?{query}" if query else ""))
        return None
