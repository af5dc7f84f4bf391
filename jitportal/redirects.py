"""Where a ``next``, back or return parameter may send someone: only to this site.

Every view that takes such a parameter (to redirect after a POST, or to draw a Back or
Cancel link) asks :func:`safe_next_url`. It is built on Django's
``url_has_allowed_host_and_scheme``, which refuses other hosts (``//evil.example``,
``/\\evil.example``, ``https://evil.example``) and other schemes (``javascript:``, ``data:``);
on top of that a value holding whitespace or control characters anywhere is refused, since
browsers drop or reinterpret them (``/\\t/evil.example`` is ``//evil.example`` to them).
OWASP: Unvalidated Redirects and Forwards Cheat Sheet.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

# The names a page may use for "where to go afterwards".
REDIRECT_PARAMETERS = ("next", "back", "return_to", "cancel")


def is_safe_next_url(request: HttpRequest, url: str | None) -> bool:
    """Whether ``url`` is a place on this site: a path, or a URL on the request's own host
    (``https`` only when the request came over it)."""
    if not url:
        return False
    if any(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf"} for ch in url):
        return False
    return url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def safe_next_url(
    request: HttpRequest,
    fallback: str,
    *,
    names: Iterable[str] = ("next",),
) -> str:
    """The first of the request's parameters ``names`` (query string, then form body) that
    is a place on this site (:func:`is_safe_next_url`), else ``fallback``.

    ``fallback`` is a URL the portal made itself (``reverse(...)``); it is returned as is.
    """
    for name in names:
        for source in (request.GET, request.POST):
            value = source.get(name)
            if value and is_safe_next_url(request, value):
                return value
    return fallback


def named_return_url(request: HttpRequest, pages: dict[str, str]) -> str:
    """Where a form returns when its ``return_to`` names one of ``pages`` (key -> URL name):
    that page, with the ``return_query`` filters parsed and encoded again; "" otherwise.

    The parameter is a key, never a URL, so it can only lead to a page the portal lists."""
    name = pages.get(request.GET.get("return_to", ""))
    if name is None:
        return ""
    query = QueryDict(request.GET.get("return_query", "")).urlencode()
    return reverse(name) + (f"?{query}" if query else "")


def this_page_url(request: HttpRequest) -> str:
    """The request's own path with its query, for links back to the same page (the language
    switcher): every parameter kept, except a redirect parameter (``REDIRECT_PARAMETERS``)
    whose value is not a place on this site, which is left out."""
    query = request.GET.copy()
    for name in REDIRECT_PARAMETERS:
        if name in query:
            safe = [v for v in query.getlist(name) if is_safe_next_url(request, v)]
            if safe:
                query.setlist(name, safe)
            else:
                del query[name]
    encoded = query.urlencode(safe="/")
    return request.path + (f"?{encoded}" if encoded else "")


def this_page(request: HttpRequest) -> dict[str, str]:
    """Context processor: ``this_page_url`` (:func:`this_page_url`) on every page."""
    return {"this_page_url": this_page_url(request)}
