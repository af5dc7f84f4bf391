"""The governed models and every admin read of them, discovered at run time.

A model is governed when a data asset names it (``DataAsset.governed_model``; the CRM demo
registers its two). For each one this module makes rows whose personal fields hold
recognisable markers, and lists every admin endpoint that reads such rows: the model's own
admin pages (every URL its ModelAdmin mounts), its actions, the autocomplete of every relation
pointing at it, and the admin pages of every model with a relation to a governed model.
A new governed model, relation, admin URL or action is walked without touching the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import admin
from django.db import models
from django.test import RequestFactory
from django.urls import URLPattern, reverse

from apps.crm import urls as crm_urls
from apps.crm.admin import GrantGatedAdmin
from apps.inventory.models import DataAsset

MARK = "zqmark"


def governed_models() -> list[type[models.Model]]:
    """Every model some data asset governs, in label order."""
    found = {
        ct.model_class()
        for ct in (
            a.governed_model for a in DataAsset.objects.exclude(governed_model=None).distinct()
        )
    }
    return sorted((m for m in found if m is not None), key=lambda m: m._meta.label)


def personal_fields(model: type[models.Model]) -> list[models.Field]:
    """The text fields that hold a person's data: every non-unique text field long enough to
    hold a marker. A unique text field is the row's reference (``external_ref``), which is what
    the portal shows in place of the row."""
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField)
        and not f.unique
        and not f.choices
        and (f.max_length is None or f.max_length >= 40)
    ]


def marker(model: type[models.Model], field_name: str, n: int) -> str:
    return f"{MARK}{model._meta.model_name}{field_name.replace('_', '')}{n}"


@dataclass
class MarkedRows:
    """Rows made with markers in every personal field, by model."""

    rows: dict[type[models.Model], list[models.Model]] = field(default_factory=dict)
    markers: dict[type[models.Model], list[str]] = field(default_factory=dict)

    def all_markers(self) -> list[str]:
        return [m for values in self.markers.values() for m in values]


def _value(model: type[models.Model], f: models.Field, n: int) -> Any:
    if isinstance(f, models.EmailField):
        return f"{marker(model, f.name, n)}@example.org"
    return marker(model, f.name, n)


def marked_rows_make(per_model: int = 2) -> MarkedRows:
    """``per_model`` rows of every governed model (related governed rows made first)."""
    made = MarkedRows()
    counter = iter(range(1, 1_000_000))

    def make(model: type[models.Model]) -> models.Model:
        n = next(counter)
        values: dict[str, Any] = {}
        for f in model._meta.concrete_fields:
            if f.primary_key or f.has_default() or f.blank or (f.null and not f.is_relation):
                continue
            if f.is_relation:
                values[f.name] = made.rows[f.related_model][0]
            elif f in personal_fields(model):
                values[f.name] = _value(model, f, n)
                made.markers.setdefault(model, []).append(str(values[f.name]))
            elif isinstance(f, models.CharField | models.TextField):
                values[f.name] = f"REF-{model._meta.model_name[:4].upper()}-{n:05d}"
            elif isinstance(f, models.DateField):
                values[f.name] = date(2020, 1, 1)
        for f in personal_fields(model):
            if f.name not in values:
                values[f.name] = _value(model, f, n)
                made.markers.setdefault(model, []).append(str(values[f.name]))
        return model.objects.create(**values)

    pending = governed_models()
    while pending:
        ready = [
            m
            for m in pending
            if all(
                f.related_model in made.rows or f.related_model not in pending
                for f in m._meta.concrete_fields
                if f.is_relation and not f.null
            )
        ]
        assert ready, f"governed models with a cycle of required relations: {pending}"
        for model in ready:
            made.rows[model] = [make(model) for _ in range(per_model)]
            pending.remove(model)
    return made


def related_models(governed: list[type[models.Model]]) -> list[type[models.Model]]:
    """Every installed model with a forward relation to a governed model."""
    return [
        model
        for model in apps.get_models()
        if any(
            f.is_relation and not f.auto_created and f.related_model in governed
            for f in model._meta.get_fields()
        )
    ]


def relations_to(model: type[models.Model]) -> list[models.Field]:
    """Every forward relation field of any installed model that points at ``model``."""
    return [
        f
        for other in apps.get_models()
        for f in other._meta.get_fields()
        if f.is_relation and not f.auto_created and f.related_model is model
    ]


@dataclass(frozen=True)
class Endpoint:
    """One admin read: what it reads (``model``), how it is called."""

    name: str
    model: type[models.Model]
    url: str
    method: str = "get"
    data: dict[str, Any] = field(default_factory=dict, hash=False)


# The URL names a ModelAdmin mounts that the walk below knows how to call.
_WALKED = {"changelist", "add", "history", "delete", "change"}


def admin_endpoints(
    model: type[models.Model], row: models.Model, *, user: Any, search: str
) -> list[Endpoint]:
    """Every admin URL that reads ``model``'s rows, for ``row`` and this ``user``."""
    model_admin = admin.site._registry.get(model)
    if model_admin is None:
        return []
    opts = model._meta
    prefix = f"admin:{opts.app_label}_{opts.model_name}_"
    names = f"{opts.app_label}_{opts.model_name}_"
    mounted = {p.name.removeprefix(names) for p in model_admin.get_urls() if p.name}
    assert mounted <= _WALKED, (
        f"{opts.label}'s admin mounts {sorted(mounted - _WALKED)}: walk them in "
        "tests/crm/governed.py"
    )
    changelist = reverse(f"{prefix}changelist")
    found = [
        Endpoint("changelist", model, changelist),
        Endpoint("search", model, f"{changelist}?{urlencode({'q': search})}"),
        Endpoint("related lookup", model, f"{changelist}?_popup=1&_to_field=id"),
        Endpoint("change", model, reverse(f"{prefix}change", args=[row.pk])),
        Endpoint("history", model, reverse(f"{prefix}history", args=[row.pk])),
        Endpoint("delete", model, reverse(f"{prefix}delete", args=[row.pk])),
        Endpoint("add", model, reverse(f"{prefix}add")),
    ]
    request = RequestFactory().get(changelist)
    request.user = user
    for action in model_admin.get_actions(request):
        found.append(
            Endpoint(
                f"action {action}",
                model,
                changelist,
                method="post",
                data={"action": action, "_selected_action": [row.pk], "index": 0},
            )
        )
    for relation in relations_to(model):
        query = {
            "app_label": relation.model._meta.app_label,
            "model_name": relation.model._meta.model_name,
            "field_name": relation.name,
            "term": "",
        }
        found.append(
            Endpoint(
                f"autocomplete {relation.model._meta.label}.{relation.name}",
                model,
                f"{reverse('admin:autocomplete')}?{urlencode(query)}",
            )
        )
        found.append(
            Endpoint(
                f"autocomplete search {relation.model._meta.label}.{relation.name}",
                model,
                f"{reverse('admin:autocomplete')}?{urlencode({**query, 'term': search})}",
            )
        )
    return found


def portal_urls(rows: dict[type[models.Model], list[models.Model]]) -> list[str]:
    """Every records page of the portal (apps/crm/urls.py), each detail page with the key of
    every governed row (a key of another model is a 404 or another row: both are walked)."""
    urls = []
    for pattern in crm_urls.urlpatterns:
        assert isinstance(pattern, URLPattern) and pattern.name
        if "pk" in pattern.pattern.converters:
            urls += [reverse(pattern.name, args=[r.pk]) for rs in rows.values() for r in rs]
        else:
            urls.append(reverse(pattern.name))
    return urls


def gated_admins_are_the_governed(governed: list[type[models.Model]]) -> None:
    """Every governed model's admin is grant-gated, and only governed models' are."""
    gated = {m for m, ma in admin.site._registry.items() if isinstance(ma, GrantGatedAdmin)}
    registered = {m for m in governed if m in admin.site._registry}
    assert gated == registered, (gated, registered)
