"""Every URL the site mounts, discovered from Django's URL resolver at run time.

plain_urls() lists the paths that take no parameter.
``site_urls()`` walks Django's URL resolver at run time (admin, portal, reports, third-party
admins alike), so a page added later is walked without changing a test. A parameter is
filled from the rows of the model the URL belongs to (the admin's ``<app>/<model>/``
prefix, or the sample ids below for the portal); a URL whose parameters cannot be filled
makes ``site_urls`` raise, so a new kind of URL cannot be skipped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

# Values of non-id parameters, by name.
WORDS = {"decision": ("approve", "deny")}
# Portal URL names (prefix) -> model whose first row fills <pk>.
PORTAL_MODELS = {
    "access-request": "access.AccessRequest",
    "access-grant": "access.Grant",
    "connectors-grant": "access.Grant",
    "crm-customer": "crm.Customer",
    "crm-ticket": "crm.SupportTicket",
}
# Django's own URLs that take ids not of a model row.
SKIP_NAMES = {"admin:view_on_site"}


@dataclass(frozen=True)
class SiteUrl:
    name: str
    path: str


def _walk(resolver, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, object]]:
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _walk(entry, prefix + route, ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield name, prefix + route, entry.callback


def _first_pk(label: str) -> str | None:
    model = apps.get_model(label)
    pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    return None if pk is None else str(pk)


def _model_for(path: str, name: str) -> str | None:
    match = re.match(r"\^?admin/(\w+)/(\w+)/", path)
    if match:
        for model in admin.site._registry:
            if (model._meta.app_label, model._meta.model_name) == match.groups():
                return model._meta.label
    for prefix, label in PORTAL_MODELS.items():
        if name.startswith(prefix):
            return label
    return None


def site_urls() -> list[SiteUrl]:
    """Every mounted URL with its parameters filled (several URLs for word parameters)."""
    found: list[SiteUrl] = []
    for name, route, _callback in _walk(get_resolver()):
        if name in SKIP_NAMES or "(?P" in route or "^" in route:
            # Regular-expression routes (the admin's app index and catch-all) need no ids.
            if "(?P" in route and name == "admin:app_list":
                found += [
                    SiteUrl(name, f"/admin/{c.label}/")
                    for c in apps.get_app_configs()
                    if any(m._meta.app_label == c.label for m in admin.site._registry)
                ]
            continue
        params = re.findall(r"<(?:(\w+):)?(\w+)>", route)
        paths = [route]
        for _conv, param in params:
            if param in WORDS:
                values = WORDS[param]
            else:
                label = _model_for(route, name)
                if label is None:
                    raise AssertionError(f"{name or route}: no sample value for <{param}>")
                pk = _first_pk(label)
                if pk is None:
                    paths = []
                    break
                values = (pk,)
            pattern = re.compile(rf"<(?:\w+:)?{param}>")
            paths = [pattern.sub(v, p, count=1) for p in paths for v in values]
        found += [SiteUrl(name, "/" + p) for p in paths]
    return found


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
