"""Every URL mounted on the site that takes no argument, discovered from the resolver."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern


def _plain(pattern) -> str | None:
    """The literal path of a pattern without parameters, else None."""
    if isinstance(pattern, RoutePattern):
        return None if pattern.converters else str(pattern)
    if isinstance(pattern, RegexPattern):
        regex = pattern._regex
        if "(" in regex or any(c in regex for c in "[]*+?|{}\\."):
            cleaned = regex.lstrip("^").rstrip("$").replace("\\Z", "")
            if "(" in cleaned or any(c in cleaned for c in "[]*+?|{}\\"):
                return None
            return cleaned
        return regex.lstrip("^").rstrip("$")
    return None


def plain_urls() -> list[str]:
    """Paths such as '/admin/login/' for every pattern whose route has no parameter."""
    found: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            part = _plain(entry.pattern)
            if part is None:
                continue
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + part)
            elif isinstance(entry, URLPattern):
                found.add("/" + prefix + part)

    walk(get_resolver().url_patterns, "")
    return sorted(found)
