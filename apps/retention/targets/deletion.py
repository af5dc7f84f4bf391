"""How deleting rows of a model reaches other tables, planned from its relations.

The plan follows each foreign key's ``on_delete`` (cascade, protect, set null, set
default) up to ``MAX_CASCADE_DEPTH``, and lists what the engine cannot do in one statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models.deletion import get_candidate_relations_to_delete
from django.utils.translation import gettext as _

MAX_CASCADE_DEPTH = 4


@dataclass
class Relation:
    """A foreign key on ``model`` pointing at the purged model, and what deleting does to it."""

    field: Any  # the ForeignKey (or OneToOneField) on the referring model
    kind: str  # cascade | protect | set_null | set_default
    children: list[Relation] = field(default_factory=list)

    @property
    def model(self) -> type[models.Model]:
        return self.field.model


def deletion_plan(model: type[models.Model]) -> tuple[list[Relation], list[str]]:
    """How deleting rows of ``model`` reaches other tables, and what cannot be done."""
    problems: list[str] = []
    if model._meta.parents:
        problems.append(
            _(
                "%(model)s inherits from another concrete model: deleting its rows "
                "is not supported (anonymise them instead)."
            )
            % {"model": model._meta.label}
        )
    for private in model._meta.private_fields:
        if hasattr(private, "bulk_related_objects"):
            problems.append(
                _(
                    "%(model)s has a generic relation (%(field)s): deleting its "
                    "rows is not supported."
                )
                % {"model": model._meta.label, "field": private.name}
            )
    relations = _plan(model, (model,), problems, depth=1)
    tables: list[str] = []
    _modified_tables(relations, tables)
    duplicates = {t for t in tables if tables.count(t) > 1 or t == model._meta.db_table}
    if duplicates:
        problems.append(
            _(
                "Deleting %(model)s rows would change table(s) %(tables)s along more than one "
                "path: not supported."
            )
            % {"model": model._meta.label, "tables": ", ".join(sorted(duplicates))}
        )
    return relations, problems


def _modified_tables(relations: list[Relation], out: list[str]) -> None:
    for rel in relations:
        if rel.kind != "protect":
            out.append(rel.model._meta.db_table)
        _modified_tables(rel.children, out)


def _plan(model, path, problems, depth) -> list[Relation]:
    relations: list[Relation] = []
    candidates: Any = get_candidate_relations_to_delete(model._meta)
    for rel in candidates:
        fk = rel.field
        child = fk.model
        on_delete = fk.remote_field.on_delete
        label = f"{child._meta.label}.{fk.name}"
        if on_delete is models.DO_NOTHING:
            if fk.db_constraint:
                relations.append(Relation(fk, "protect"))
            continue
        if on_delete is models.CASCADE:
            if child in path:
                problems.append(
                    _("Cascades loop back through %(relation)s: not supported.")
                    % {"relation": label}
                )
                continue
            if depth >= MAX_CASCADE_DEPTH:
                problems.append(
                    _("Cascades are deeper than %(depth)s at %(relation)s.")
                    % {"depth": MAX_CASCADE_DEPTH, "relation": label}
                )
                continue
            children = _plan(child, (*path, child), problems, depth + 1)
            relations.append(Relation(fk, "cascade", children))
        elif on_delete in (models.PROTECT, models.RESTRICT):
            relations.append(Relation(fk, "protect"))
        elif on_delete is models.SET_NULL:
            relations.append(Relation(fk, "set_null"))
        elif on_delete is models.SET_DEFAULT:
            relations.append(Relation(fk, "set_default"))
        else:
            problems.append(
                _("%(relation)s uses on_delete=%(rule)s: not supported.")
                % {"relation": label, "rule": on_delete.__name__}
            )
    return relations
