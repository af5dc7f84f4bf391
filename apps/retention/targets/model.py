"""Rows of a Django model, purged batch by batch.

A batch is ONE SQL statement on PostgreSQL: a ``WITH`` query selects the range's matching
rows ``FOR UPDATE`` and flags those under a legal hold (or still referred to by PROTECT
relations), then deletes (children first, by the model's ``on_delete`` rules) or
anonymises the rest and returns their keys. No model instance is loaded and no per-row
signal is sent: the PurgeRun is the evidence. On other databases the same steps run as
separate statements inside the batch transaction.
"""

# ruff: noqa: S608, S611
# (Identifiers in the SQL below are quoted by the backend and come from model metadata,
# checked when the rule is validated; every value is a parameter.)

from __future__ import annotations

import operator
from functools import reduce
from typing import Any, cast

from django.contrib.contenttypes.models import ContentType
from django.db import models, router
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Max,
    Min,
    OuterRef,
    Q,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.db.models.sql.subqueries import DeleteQuery, UpdateQuery
from django.utils.translation import gettext as _

from ..anonymise import update_values
from ..holds import HoldState
from ..models import LegalHoldRecord, PurgeAction, RetentionRule
from ..periods import cutoff_value, is_date_only
from .base import (
    _KEYS_AGG,
    _KEYS_SORTED,
    _RANGE_HI,
    _RANGE_LO,
    ChunkResult,
    Counts,
    Target,
    _slices,
    _text,
    installed_model,
    rule_model,
)
from .deletion import Relation, deletion_plan


def _q_any(conditions: list) -> Q | None:
    return reduce(operator.or_, (Q(c) for c in conditions)) if conditions else None


class ModelTarget(Target):
    """Rows of a Django model (``rule.content_type``), deleted or anonymised."""

    @classmethod
    def rule_problems(cls, rule: RetentionRule) -> list[tuple[str, str]]:
        """Problems that come from the model's structure: an integer key, and (to delete) a
        deletion plan the engine can carry out. Rule validation has checked the model is
        installed and the rule's fields name fields of it."""
        model = installed_model(rule)
        if model is None:
            return [("content_type", _("That model is no longer installed."))]
        problems = cls._key_problems(model)
        if rule.action == PurgeAction.DELETE:
            problems.extend(("content_type", p) for p in deletion_plan(model)[1])
        return problems

    @staticmethod
    def _key_problems(model: Any) -> list[tuple[str, str]]:
        if not isinstance(model._meta.pk, models.IntegerField | models.AutoField):
            return [
                (
                    "content_type",
                    _("%(model)s needs an integer primary key to be purged.")
                    % {"model": model._meta.label},
                )
            ]
        return []

    def __init__(self, rule: RetentionRule, **kwargs: Any) -> None:
        self.model: type[models.Model] = rule_model(rule)
        self.deleting = rule.action == PurgeAction.DELETE
        self.relations = deletion_plan(self.model)[0] if self.deleting else []
        self.date_only = is_date_only(
            cast(models.Field, self.model._meta.get_field(rule.date_field))
        )
        super().__init__(rule, **kwargs)
        self.cutoff_value = cutoff_value(self.cutoff, date_only=self.date_only)
        self.specs = list(rule.anonymised_fields.all()) if not self.deleting else []
        self._ct_cache: dict[type[models.Model], int] = {}
        self._compiled: dict[Any, tuple[str, list[Any], list[int]]] = {}

    @property
    def using(self) -> str:
        return router.db_for_write(self.model)

    @property
    def label(self) -> str:
        return self.model._meta.label

    # -- the match and the holds --

    def matching(self) -> models.QuerySet:
        qs = self.model._base_manager.db_manager(self.using).all()
        if self.rule.filter:
            qs = qs.filter(**self.rule.filter)
        qs = qs.filter(**{f"{self.rule.date_field}__lt": self.cutoff_value})
        if not self.deleting:
            qs = qs.filter(**{f"{self.rule.anonymised_marker_field}__isnull": True})
        return qs.order_by()

    def _ct(self, model: type[models.Model]) -> int:
        if model not in self._ct_cache:
            self._ct_cache[model] = ContentType.objects.get_for_model(
                model, for_concrete_model=True
            ).pk
        return self._ct_cache[model]

    @staticmethod
    def _record_held(ct_id: int, outer: str) -> Exists:
        """Held rows of a model whose keys are not integers: compared as text, row by row."""
        return Exists(
            LegalHoldRecord.objects.filter(
                hold__lifted_at__isnull=True,
                content_type_id=ct_id,
                object_id=Cast(OuterRef(outer), output_field=models.CharField()),
            )
        )

    @staticmethod
    def _held_keys(ct_id: int) -> models.QuerySet:
        """The integer keys held by record holds on one model: a small set, so a condition
        ``key IN (...)`` is one hashed lookup per row, or a probe from the held side."""
        return (
            LegalHoldRecord.objects.filter(
                hold__lifted_at__isnull=True,
                content_type_id=ct_id,
                object_id__regex=r"^-?[0-9]+$",
            )
            .annotate(_key=Cast("object_id", output_field=models.BigIntegerField()))
            .values("_key")
        )

    def _held_by(self, model, ct_id: int, attname: str):
        if isinstance(model._meta.pk, models.IntegerField):
            return Q(**{f"{attname}__in": self._held_keys(ct_id)})
        return self._record_held(ct_id, attname)

    def _held_q(self, model, relations: list[Relation], holds: HoldState) -> Q | None:
        """Rows of ``model`` that a hold covers: held themselves, pointing at a held record
        (a hold on a customer covers their tickets), or with a held row among the rows a
        delete would cascade to."""
        if not holds.record_cts:
            return None
        conditions: list = []
        if self._ct(model) in holds.record_cts:
            conditions.append(self._held_by(model, self._ct(model), model._meta.pk.attname))
        for fk in model._meta.concrete_fields:
            if not (fk.many_to_one or fk.one_to_one) or not fk.target_field.primary_key:
                continue
            related = fk.related_model._meta.concrete_model
            if self._ct(related) in holds.record_cts:
                conditions.append(self._held_by(related, self._ct(related), fk.attname))
        for rel in relations:
            if rel.kind != "cascade":
                continue
            sub = self._held_q(rel.model, rel.children, holds)
            if sub is not None:
                children = rel.model._base_manager.db_manager(self.using).filter(sub)
                conditions.append(
                    Q(
                        **{
                            f"{rel.field.target_field.attname}__in": children.values(
                                rel.field.attname
                            )
                        }
                    )
                )
        return _q_any(conditions)

    def _children(self, rel: Relation) -> models.QuerySet:
        return rel.model._base_manager.db_manager(self.using).filter(
            **{rel.field.attname: OuterRef(rel.field.target_field.attname)}
        )

    def _protected_q(self, relations: list[Relation]) -> Q | None:
        conditions: list = []
        for rel in relations:
            if rel.kind == "protect":
                conditions.append(Exists(self._children(rel)))
            elif rel.kind == "cascade":
                sub = self._protected_q(rel.children)
                if sub is not None:
                    conditions.append(Exists(self._children(rel).filter(sub)))
        return _q_any(conditions)

    def _flags(self, holds: HoldState) -> tuple[Q | None, Q | None]:
        return (
            self._held_q(self.model, self.relations, holds),
            self._protected_q(self.relations),
        )

    # -- preview --

    def counts(self, holds: HoldState) -> Counts:
        base = self.matching()
        if holds.blocks_rule:
            matched = base.count()
            return Counts(matched=matched, held=matched)
        held_q, prot_q = self._flags(holds)
        aggregates: dict[str, Any] = {"matched": Count("pk")}
        if held_q is not None:
            aggregates["held"] = Count("pk", filter=held_q)
        if prot_q is not None:
            aggregates["protected"] = Count(
                "pk", filter=prot_q if held_q is None else (prot_q & ~held_q)
            )
        found = base.aggregate(**aggregates)
        return Counts(
            matched=found["matched"],
            held=found.get("held", 0),
            protected=found.get("protected", 0),
        )

    def sample(self, holds: HoldState, size: int = 10) -> list[dict[str, Any]]:
        """Keys and the dates they are judged by, never the personal data itself."""
        if holds.blocks_rule:
            return []
        qs = self.matching()
        for condition in self._flags(holds):
            if condition is not None:
                qs = qs.exclude(condition)
        shown = [self.rule.date_field]
        for key in self.rule.filter or {}:
            name = key.split("__", 1)[0]
            field_ = self.model._meta.get_field(name)
            if getattr(field_, "concrete", False) and not field_.is_relation and name not in shown:
                # A text field is shown only when it is a choice (a status), never free text.
                if isinstance(field_, models.CharField | models.TextField) and not field_.choices:
                    continue
                shown.append(name)
        rows = qs.order_by("pk").values("pk", *shown)[:size]
        return [{key: _text(value) for key, value in row.items()} for row in rows]

    # -- execution --

    def key_bounds(self) -> tuple[int, int] | None:
        found = self.matching().aggregate(lo=Min("pk"), hi=Max("pk"))
        return None if found["lo"] is None else (found["lo"], found["hi"])

    def next_key(self, after: int, upper: int) -> int | None:
        return (
            self.matching()
            .filter(pk__gte=after, pk__lte=upper)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )

    @staticmethod
    def _flagged(qs: models.QuerySet, held_q: Q | None, prot_q: Q | None) -> models.QuerySet:
        return qs.annotate(
            _held=ExpressionWrapper(held_q, output_field=BooleanField())
            if held_q is not None
            else Value(False),
            _prot=ExpressionWrapper(prot_q, output_field=BooleanField())
            if prot_q is not None
            else Value(False),
        )

    def count_matched(self) -> int:
        return self.matching().count()

    def run_chunk(self, lo: int, hi: int, holds: HoldState) -> ChunkResult:
        if not self.single_statement:
            held_q, prot_q = self._flags(holds)
            chunk = self.matching().filter(pk__gte=lo, pk__lt=hi)
            return self._run_portable(self._flagged(chunk, held_q, prot_q))
        sql, params = self._statement(lo, hi, holds)
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            # Both statement shapes answer: examined, held, protected, affected, keys.
            examined, held, protected, affected, keys = cursor.fetchone()
        return ChunkResult(examined, affected, held, protected, keys)

    def _statement(self, lo: int, hi: int, holds: HoldState) -> tuple[str, list[Any]]:
        """The batch's SQL. Compiled once per run (and per set of held models), with marker
        values where the key range goes, then given each batch's range: compiling the
        ORM expressions every batch would cost as much as a small batch itself."""
        key = (holds.record_cts, holds.raw_tables)
        compiled = self._compiled.get(key)
        if compiled is None:
            sql, params = self._compile(_RANGE_LO, _RANGE_HI, holds)
            slots = [i for i, p in enumerate(params) if p in (_RANGE_LO, _RANGE_HI)]
            # The range appears once per statement part that reads the batch (the DELETE,
            # and the count of rows held back when holds apply): as many lows as highs.
            found = [params[i] for i in slots]
            if not found or found.count(_RANGE_LO) != found.count(_RANGE_HI):
                return self._compile(lo, hi, holds)  # unexpected: compile for this batch only
            compiled = self._compiled[key] = (sql, params, slots)
        sql, params, slots = compiled
        params = list(params)
        for i in slots:
            params[i] = lo if params[i] == _RANGE_LO else hi
        return sql, params

    def _compile(self, lo: int, hi: int, holds: HoldState) -> tuple[str, list[Any]]:
        held_q, prot_q = self._flags(holds)
        chunk = self.matching().filter(pk__gte=lo, pk__lt=hi)
        if any(rel.kind != "protect" for rel in self.relations):
            return self._sql_with_children(self._flagged(chunk, held_q, prot_q))
        return self._sql_leaf(chunk, held_q, prot_q)

    def _sql_leaf(
        self, chunk: models.QuerySet, held_q: Q | None, prot_q: Q | None
    ) -> tuple[str, list[Any]]:
        """Nothing else changes with these rows: ONE DELETE (or UPDATE) of the range with the
        rule's conditions, its holds and protections, returning the keys it changed; the
        rows it skipped are counted from the same snapshot."""
        qn = self._qn
        pk = qn(self.model._meta.pk.column)
        going = chunk
        for condition in (held_q, prot_q):
            if condition is not None:
                going = going.exclude(condition)
        if self.deleting:
            sql, params = going.query.chain(DeleteQuery).get_compiler(self.using).as_sql()
        else:
            query = cast(UpdateQuery, going.query.chain(UpdateQuery))
            query.add_update_values(
                update_values(
                    self.model, self.specs, marker=self.rule.anonymised_marker_field, at=self.now
                )
            )
            sql, params = query.get_compiler(self.using).as_sql()
        ctes = [f"purge_d AS ({sql} RETURNING {pk} AS k)"]
        params = list(params)
        held, protected = "0", "0"
        if held_q is not None or prot_q is not None:
            kept = chunk.filter(_q_any([c for c in (held_q, prot_q) if c is not None]))
            kept_sql, kept_params = (
                self._flagged(kept, held_q, prot_q)
                .values_list("_held", "_prot")
                .query.get_compiler(self.using)
                .as_sql()
            )
            # Same statement, same snapshot: what the DELETE left out, and why.
            ctes.insert(0, f"purge_s (held, prot) AS ({kept_sql})")
            params = [*kept_params, *params]
            held = "(SELECT count(*) FROM purge_s WHERE held)"
            protected = "(SELECT count(*) FROM purge_s WHERE prot AND NOT held)"
        # One pass over the changed keys: their count and the text for the digest.
        statement = (
            "WITH "
            + ",\n".join(ctes)
            + f"\nSELECT purge_a.n + {held} + {protected}, {held}, {protected}, purge_a.n,"
            f" purge_a.keys FROM (SELECT count(*) AS n, {_KEYS_AGG} AS keys FROM {_KEYS_SORTED})"
            " AS purge_a"
        )
        return statement, params

    def _qn(self, name: str) -> str:
        return self.connection.ops.quote_name(name)

    def _sql_with_children(self, chunk: models.QuerySet) -> tuple[str, list[Any]]:
        """Deleting these rows changes others (cascade, SET NULL): lock the range's rows,
        then change the other rows and delete these in ONE statement (one snapshot)."""
        qn = self._qn
        opts = self.model._meta
        # The row's physical address: the rows are locked FOR UPDATE by this same statement,
        # so it cannot move, and deleting or updating by it skips a second index lookup.
        chunk = chunk.annotate(_tid=RawSQL(f"{qn(opts.db_table)}.ctid", ()))
        select_sql, select_params = (
            chunk.values_list("pk", "_tid", "_held", "_prot")
            .select_for_update(of=("self",))
            .query.get_compiler(self.using)
            .as_sql()
        )
        going = "ctid = ANY(ARRAY(SELECT t FROM purge_m WHERE NOT held AND NOT prot))"
        ctes = [
            f"purge_m (k, t, held, prot) AS ({select_sql})",
            "purge_k AS (SELECT k FROM purge_m WHERE NOT held AND NOT prot)",
        ]
        params: list[Any] = list(select_params)
        if self.deleting:
            statements: list[tuple[str, list[Any]]] = []
            for rel in self.relations:
                statements.extend(self._child_statements(rel, "SELECT k FROM purge_k", opts))
            for index, (sql, extra) in enumerate(statements):
                ctes.append(f"purge_c{index} AS ({sql})")
                params.extend(extra)
            ctes.append(
                f"purge_d AS (DELETE FROM {qn(opts.db_table)} WHERE {going} "
                f"RETURNING {qn(opts.pk.column)} AS k)"
            )
        else:
            base = self.model._base_manager.db_manager(self.using).all()
            query = cast(UpdateQuery, base.query.chain(UpdateQuery))
            query.add_update_values(
                update_values(
                    self.model, self.specs, marker=self.rule.anonymised_marker_field, at=self.now
                )
            )
            # No filter: "UPDATE t SET ..." and the WHERE is the locked rows' addresses.
            update_sql, update_params = query.get_compiler(self.using).as_sql()
            ctes.append(
                f"purge_d AS ({update_sql} WHERE {going} RETURNING {qn(opts.pk.column)} AS k)"
            )
            params.extend(update_params)
        sql = (
            "WITH "
            + ",\n".join(ctes)
            + "\nSELECT (SELECT count(*) FROM purge_m), (SELECT count(*) FROM purge_m WHERE held),"
            " (SELECT count(*) FROM purge_m WHERE prot AND NOT held), (SELECT count(*) FROM purge_d),"
            f" (SELECT {_KEYS_AGG} FROM {_KEYS_SORTED})"
        )
        return sql, params

    def _child_statements(self, rel: Relation, parent_keys: str, parent_opts) -> list:
        """SQL that does to the rows referring to the purged rows what on_delete says."""
        qn = self._qn
        child = rel.model._meta
        fk = rel.field
        if fk.target_field.primary_key:
            keys = parent_keys
        else:
            keys = (
                f"SELECT {qn(fk.target_field.column)} FROM {qn(parent_opts.db_table)} "
                f"WHERE {qn(parent_opts.pk.column)} IN ({parent_keys})"
            )
        where = f"{qn(fk.column)} IN ({keys})"
        if rel.kind == "cascade":
            own = f"SELECT {qn(child.pk.column)} FROM {qn(child.db_table)} WHERE {where}"
            statements = []
            for grandchild in rel.children:
                statements.extend(self._child_statements(grandchild, own, child))
            statements.append((f"DELETE FROM {qn(child.db_table)} WHERE {where}", []))
            return statements
        if rel.kind == "set_null":
            return [(f"UPDATE {qn(child.db_table)} SET {qn(fk.column)} = NULL WHERE {where}", [])]
        if rel.kind == "set_default":
            default = fk.get_db_prep_save(fk.get_default(), self.connection)
            return [
                (f"UPDATE {qn(child.db_table)} SET {qn(fk.column)} = %s WHERE {where}", [default])
            ]
        return []

    def _run_portable(self, chunk: models.QuerySet) -> ChunkResult:
        rows = list(chunk.order_by("pk").values_list("pk", "_held", "_prot"))
        keys = [pk for pk, held, prot in rows if not held and not prot]
        result = ChunkResult(
            examined=len(rows),
            held=sum(1 for _, held, _ in rows if held),
            protected=sum(1 for _, held, prot in rows if prot and not held),
        )
        manager = self.model._base_manager.db_manager(self.using)
        for part in _slices(keys):
            if self.deleting:
                for rel in self.relations:
                    self._portable_children(rel, part)
                result.affected += manager.filter(pk__in=part)._raw_delete(self.using)
            else:
                result.affected += manager.filter(pk__in=part).update(
                    **update_values(
                        self.model,
                        self.specs,
                        marker=self.rule.anonymised_marker_field,
                        at=self.now,
                    )
                )
        result.keys = "\n".join(str(k) for k in keys)
        return result

    def _portable_children(self, rel: Relation, parent_keys: list) -> None:
        fk = rel.field
        if not fk.target_field.primary_key:
            parent = fk.related_model._base_manager.db_manager(self.using)
            parent_keys = list(
                parent.filter(pk__in=parent_keys).values_list(fk.target_field.attname, flat=True)
            )
        children = rel.model._base_manager.db_manager(self.using).filter(
            **{f"{fk.attname}__in": parent_keys}
        )
        if rel.kind == "cascade":
            if rel.children:
                own = list(children.values_list("pk", flat=True))
                for part in _slices(own):
                    for grandchild in rel.children:
                        self._portable_children(grandchild, part)
            children._raw_delete(self.using)
        elif rel.kind == "set_null":
            children.update(**{fk.name: None})
        elif rel.kind == "set_default":
            children.update(**{fk.name: fk.get_default()})
