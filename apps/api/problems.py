"""Errors as problem details (RFC 9457): ``application/problem+json`` with ``type``,
``title``, ``status``, ``detail``, ``instance`` and, for input, ``errors`` (one object per
message: ``detail`` and, for a field, a JSON Pointer (RFC 6901) to it in the request body).

The messages are the ones the pages give: forms are the same forms, a service's refusal is
its own ``ValidationError``/``PermissionDenied`` text (``Problem.from_form``,
``Problem.from_service``).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .authentication import REALM, Refused, ScopeRefused, SecondFactorMissing

CONTENT_TYPE = "application/problem+json"
_BASE = "urn:jitportal:problem:"
INVALID_INPUT = _BASE + "invalid-input"
CONFLICT = _BASE + "conflict"
NOT_ALLOWED = _BASE + "not-allowed"
FRESH_FACTOR = _BASE + "fresh-second-factor-required"
SECOND_FACTOR = _BASE + "second-factor-required"
AUTHENTICATION = _BASE + "authentication-required"
INSUFFICIENT_SCOPE = _BASE + "insufficient-scope"
MALFORMED = _BASE + "malformed-request"
NOT_FOUND = _BASE + "not-found"
METHOD_NOT_ALLOWED = _BASE + "method-not-allowed"
UNSUPPORTED_MEDIA_TYPE = _BASE + "unsupported-media-type"
TOO_LARGE = _BASE + "request-too-large"
NOT_ACCEPTABLE = _BASE + "not-acceptable"
THROTTLED = _BASE + "too-many-requests"
INVALID_CURSOR = _BASE + "invalid-cursor"
SERVER_ERROR = _BASE + "server-error"


def _pointer(field: str) -> str:
    return "#/" + field.replace("~", "~0").replace("/", "~1")


class Problem(exceptions.APIException):
    """An error already shaped as a problem detail. ``errors``: (field or None, message)."""

    def __init__(
        self,
        *,
        status: int,
        type_: str,
        title: str,
        detail: str,
        errors: list[tuple[str | None, str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status
        self.type = type_
        self.title = title
        self.errors = errors or []
        self.extra = extra or {}

    @classmethod
    def invalid(cls, errors: list[tuple[str | None, str]], detail: str | None = None) -> Problem:
        """400 invalid input; ``detail`` defaults to the first message (one for the whole
        input before one for a field)."""
        first = next((m for f, m in errors if f is None), errors[0][1] if errors else "")
        return cls(
            status=400,
            type_=INVALID_INPUT,
            title=_("Your input was not accepted."),
            detail=detail or first,
            errors=errors,
        )

    @classmethod
    def from_form(cls, form: Any, field_names: dict[str, str] | None = None) -> Problem:
        """The errors of a bound Django form, its field names turned into the API's."""
        names = field_names or {}
        errors: list[tuple[str | None, str]] = []
        for field, messages in form.errors.items():
            api_field = None if field == "__all__" else names.get(field, field)
            errors += [(api_field, str(m)) for m in messages]
        return cls.invalid(errors)

    @classmethod
    def from_service(
        cls, error: DjangoValidationError | DjangoPermissionDenied, field_names=None
    ) -> Problem:
        """A service's refusal: a field error is 400, a state that does not allow the change
        409, a refusal of the person 403. Nothing was written (the service convention)."""
        if isinstance(error, DjangoPermissionDenied):
            return cls(
                status=403,
                type_=NOT_ALLOWED,
                title=_("You may not do that."),
                detail=str(error) or _("You may not do that."),
            )
        names = field_names or {}
        if hasattr(error, "error_dict"):
            errors: list[tuple[str | None, str]] = []
            for field, items in error.error_dict.items():
                api_field = None if field == "__all__" else names.get(field, field)
                errors += [(api_field, str(m)) for e in items for m in e.messages]
            return cls.invalid(errors)
        messages = [str(m) for m in error.messages]
        return cls(
            status=409,
            type_=CONFLICT,
            title=_("This cannot be done in the current state."),
            detail=" ".join(messages),
            errors=[(None, m) for m in messages],
        )


def fresh_factor_problem(*, detail: str, portal_url: str) -> Problem:
    """A decision that needs a second factor presented within minutes: never through the API;
    ``portal_url`` is the page where a person completes it."""
    return Problem(
        status=403,
        type_=FRESH_FACTOR,
        title=_("This needs a fresh second factor in the portal."),
        detail=detail,
        extra={"portal_url": portal_url},
    )


def not_found_problem(detail: str | None = None) -> Problem:
    return Problem(
        status=404,
        type_=NOT_FOUND,
        title=_("Nothing found at this address."),
        detail=detail or _("There is nothing at this address, or you may not see it."),
    )


def malformed_problem(detail: str) -> Problem:
    return Problem(
        status=400, type_=MALFORMED, title=_("The request could not be read."), detail=detail
    )


def unsupported_media_type_problem(media_type: str) -> Problem:
    """RFC 9110 section 15.5.16: the API reads JSON bodies only."""
    return Problem(
        status=415,
        type_=UNSUPPORTED_MEDIA_TYPE,
        title=_("This kind of body is not accepted."),
        detail=_(
            "The body is “%(type)s”; send a JSON object with 'Content-Type: application/json'."
        )
        % {"type": media_type[:100]},
    )


def too_large_problem() -> Problem:
    return Problem(
        status=413,
        type_=TOO_LARGE,
        title=_("The request is too large."),
        detail=_("The body is larger than this server accepts; send less at a time."),
    )


def _body(exc: Problem, request: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": exc.type,
        "title": exc.title,
        "status": exc.status_code,
        "detail": str(exc.detail),
    }
    if request is not None:
        body["instance"] = request.path
    if exc.errors:
        body["errors"] = [
            {"detail": message, **({"pointer": _pointer(field)} if field else {})}
            for field, message in exc.errors
        ]
    body.update(exc.extra)
    return body


def _as_problem(exc: Exception, request: Any) -> Problem | None:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, Http404 | exceptions.NotFound):
        return not_found_problem()
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return too_large_problem()
    if isinstance(exc, RecursionError | UnicodeError | SuspiciousOperation):
        return malformed_problem(_("The body or the address could not be read."))
    if isinstance(exc, DjangoPermissionDenied | DjangoValidationError):
        return Problem.from_service(exc)
    if isinstance(exc, SecondFactorMissing):
        url = request.build_absolute_uri(exc.portal_url) if request is not None else exc.portal_url
        return Problem(
            status=403,
            type_=SECOND_FACTOR,
            title=_("Verify your second factor first."),
            detail=str(exc.detail),
            extra={"portal_url": url},
        )
    if isinstance(exc, ScopeRefused):
        return Problem(
            status=403,
            type_=INSUFFICIENT_SCOPE,
            title=_("The token lacks the scope this needs."),
            detail=str(exc.detail),
            extra={"scopes": list(exc.scopes)},
        )
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return Problem(
            status=exc.status_code,
            type_=AUTHENTICATION,
            title=_("Authentication is needed."),
            # DRF's own default texts are replaced by ours.
            detail=str(exc.detail)
            if str(exc.detail) != str(exc.default_detail)
            else _(
                "Sign in to the portal, or send an integration token as "
                "'Authorization: Bearer <token>'."
            ),
        )
    if isinstance(exc, exceptions.ValidationError):
        return Problem.invalid(_flatten(exc.detail))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return unsupported_media_type_problem(getattr(request, "content_type", "") or "")
    if isinstance(exc, exceptions.ParseError):
        return malformed_problem(_("The body is not valid JSON (UTF-8): check its syntax."))
    if isinstance(exc, exceptions.PermissionDenied):
        # Ours carry our own (translated) text; DRF's own, such as its CSRF refusal, do not.
        ours = isinstance(exc, Refused)
        return Problem(
            status=403,
            type_=NOT_ALLOWED,
            title=_("You may not do that."),
            detail=str(exc.detail) if ours else _("You may not do that."),
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        method = getattr(request, "method", "") or ""
        return Problem(
            status=405,
            type_=METHOD_NOT_ALLOWED,
            title=_("This method is not allowed here."),
            detail=_("%(method)s is not allowed at this address.") % {"method": method[:20]},
        )
    if isinstance(exc, exceptions.NotAcceptable):
        return Problem(
            status=406,
            type_=NOT_ACCEPTABLE,
            title=_("This answer format is not offered."),
            detail=_("The API answers in JSON: accept 'application/json'."),
        )
    if isinstance(exc, exceptions.Throttled):
        return Problem(
            status=429,
            type_=THROTTLED,
            title=_("Too many requests."),
            detail=_("Slow down and try again later."),
        )
    if isinstance(exc, exceptions.APIException):
        return Problem(
            status=exc.status_code,
            type_=MALFORMED if exc.status_code < 500 else SERVER_ERROR,
            title=_("The request could not be completed."),
            detail=_("The request could not be completed."),
        )
    return None


def _flatten(detail: Any, field: str | None = None) -> list[tuple[str | None, str]]:
    if isinstance(detail, dict):
        out: list[tuple[str | None, str]] = []
        for key, value in detail.items():
            name = None if key == "non_field_errors" else (f"{field}/{key}" if field else key)
            out += _flatten(value, name)
        return out
    if isinstance(detail, list):
        return [item for value in detail for item in _flatten(value, field)]
    return [(field, str(detail))]


def problem_exception_handler(
    exc: Exception, context: dict[str, Any]
) -> HttpResponse | Response | None:
    """DRF's exception handler, answering with a problem detail for every error."""
    request = context.get("request")
    problem = _as_problem(exc, request)
    if problem is None:
        return exception_handler(exc, context)
    # Always JSON, whatever renderer the view has (the schema's is YAML).
    response = problem_response(problem, request)
    if problem.status_code == 401:
        # RFC 6750 section 3: a presented token that is refused is an invalid_token.
        presented = request is not None and request.META.get(
            "HTTP_AUTHORIZATION", ""
        ).lower().startswith("bearer")
        response["WWW-Authenticate"] = (
            f'Bearer realm="{REALM}", error="invalid_token"'
            if presented
            else f'Bearer realm="{REALM}"'
        )
    elif problem.type == INSUFFICIENT_SCOPE:
        scopes = " ".join(problem.extra.get("scopes", []))
        response["WWW-Authenticate"] = (
            f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scopes}"'
        )
    if isinstance(exc, exceptions.Throttled):
        wait = getattr(exc, "wait", None)
        if wait:
            response["Retry-After"] = str(int(wait))
    return response


def problem_response(problem: Problem, request: Any) -> Any:
    """A problem as a plain Django response, for answers given outside DRF's views (an
    unknown address, a refusal by middleware)."""
    return HttpResponse(
        json.dumps(_body(problem, request), ensure_ascii=False),
        status=problem.status_code,
        content_type=CONTENT_TYPE,
    )
