"""What a rule purges, behind one interface the engine drives batch by batch.

``Target`` is the interface: count and sample the matching rows (preview), give the key
bounds of the match, and purge one primary-key range ``[lo, hi)`` inside the caller's
transaction. Three implementations:

- ``ModelTarget``: rows of a Django model. A batch is ONE SQL statement on PostgreSQL: a
  ``WITH`` query selects the range's matching rows ``FOR UPDATE`` and flags those under a
  legal hold (or still referred to by PROTECT relations), then deletes (children first, by
  the model's ``on_delete`` rules) or anonymises the rest and returns their keys. No model
  instance is loaded and no per-row signal is sent: the PurgeRun is the evidence. On other
  databases the same steps run as separate statements inside the batch transaction.
- ``AuditChainTarget``: the audit trail, purged only as a prefix of the chain, with an
  ``audit.trail.purged`` event per batch naming the new anchor so the chain still verifies.
- ``RawTableTarget``: a table in another configured database (table, key and date column).
"""

# ruff: noqa: S608, S611
# (Identifiers in the SQL below are quoted by the backend and come from model metadata or the
# database catalogue, checked when the rule is validated; every value is a parameter.)

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import reduce
from typing import Any, cast

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, router
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
from django.db.models.deletion import get_candidate_relations_to_delete
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.db.models.sql.subqueries import DeleteQuery, UpdateQuery
from django.utils import timezone

from .anonymise import update_values
from .holds import HoldState
from .models import LegalHoldRecord, PurgeAction, RetentionRule, TargetKind
from .periods import cutoff_value, is_date_only

MAX_CASCADE_DEPTH = 4
# Keeps statements under every backend's parameter limit on the portable path.
_PORTABLE_SLICE = 500
AUDIT_LABEL = "audit.auditevent"
# Stand-ins for a batch's key range while its SQL is compiled once per run.
_RANGE_LO = -(2**62) + 17
_RANGE_HI = -(2**62) + 18
AUDIT_PURGED_ACTION = "audit.trail.purged"  # the audit app vouches for anchors it names


@dataclass
class Counts:
    matched: int = 0
    held: int = 0
    protected: int = 0

    @property
    def would_go(self) -> int:
        return max(0, self.matched - self.held - self.protected)


# A batch's changed keys in ascending order, one per line, for the digest. They are sorted
# as plain integers in a subquery the aggregate reads in order: PostgreSQL 15 sorts an
# ``ORDER BY`` inside ``string_agg`` as whole (text, key) rows, which cost about a third of
# the plain DELETE's time; the integer sort costs about 3 % of it.
_KEYS_AGG = "coalesce(string_agg(k::text, chr(10)), '')"
_KEYS_SORTED = "(SELECT k FROM purge_d ORDER BY k) AS purge_o"


@dataclass
class ChunkResult:
    examined: int = 0
    affected: int = 0
    held: int = 0
    protected: int = 0
    keys: str = ""  # affected keys, ascending, one per line


@dataclass
class RunContext:
    """Who runs the purge, for the events a target records itself (audit anchors)."""

    run_id: int | None = None
    rule_id: int | None = None
    actor: Any = None
    actor_label: str = ""


class Target(ABC):
    """One rule's rows, purged in primary-key ranges."""

    def __init__(
        self,
        rule: RetentionRule,
        *,
        cutoff: datetime,
        now: datetime | None = None,
        single_statement: bool | None = None,
        context: RunContext | None = None,
    ) -> None:
        self.rule = rule
        self.cutoff = cutoff
        # When the run began: the moment anonymised rows are marked with.
        self.now = now or timezone.now()
        self.context = context or RunContext(rule_id=rule.pk)
        self.single_statement = (
            self.connection.vendor == "postgresql" if single_statement is None else single_statement
        )

    # where the rows are
    @property
    @abstractmethod
    def using(self) -> str: ...

    @property
    def connection(self):
        return connections[self.using]

    @property
    @abstractmethod
    def label(self) -> str: ...

    # preview
    @abstractmethod
    def counts(self, holds: HoldState) -> Counts: ...

    @abstractmethod
    def sample(self, holds: HoldState, size: int = 10) -> list[dict[str, Any]]: ...

    def count_matched(self) -> int:
        """Rows past the cutoff that match the rule, held or not (cheaper than counts())."""
        return self.counts(HoldState()).matched

    # execution
    @abstractmethod
    def key_bounds(self) -> tuple[int, int] | None: ...

    @abstractmethod
    def next_key(self, after: int, upper: int) -> int | None:
        """The first matching key in ``[after, upper]``: skips gaps between matches."""

    @abstractmethod
    def run_chunk(self, lo: int, hi: int, holds: HoldState) -> ChunkResult:
        """Purge the matching rows with ``lo <= key < hi``; runs in the caller's transaction."""


def rule_model(rule: RetentionRule) -> type[models.Model]:
    """The concrete model a model rule targets (validation has checked it is installed)."""
    model = rule.content_type.model_class() if rule.content_type else None
    if model is None:
        raise LookupError(f"rule {rule.pk}: its target model is not installed")
    return cast(type[models.Model], model._meta.concrete_model)


def target_for(rule: RetentionRule, **kwargs: Any) -> Target:
    if rule.target_kind == TargetKind.RAW_TABLE:
        return RawTableTarget(rule, **kwargs)
    if rule_model(rule)._meta.label_lower == AUDIT_LABEL:
        return AuditChainTarget(rule, **kwargs)
    return ModelTarget(rule, **kwargs)


def _text(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _slices(items: list, size: int = _PORTABLE_SLICE):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- model targets -----------------------------------------------------------------------


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
            f"{model._meta.label} inherits from another concrete model: deleting its rows "
            "is not supported (anonymise them instead)."
        )
    for private in model._meta.private_fields:
        if hasattr(private, "bulk_related_objects"):
            problems.append(
                f"{model._meta.label} has a generic relation ({private.name}): deleting its "
                "rows is not supported."
            )
    relations = _plan(model, (model,), problems, depth=1)
    tables: list[str] = []
    _modified_tables(relations, tables)
    duplicates = {t for t in tables if tables.count(t) > 1 or t == model._meta.db_table}
    if duplicates:
        problems.append(
            f"Deleting {model._meta.label} rows would change table(s) {', '.join(sorted(duplicates))}"
            " along more than one path: not supported."
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
                problems.append(f"Cascades loop back through {label}: not supported.")
                continue
            if depth >= MAX_CASCADE_DEPTH:
                problems.append(f"Cascades are deeper than {MAX_CASCADE_DEPTH} at {label}.")
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
            problems.append(f"{label} uses on_delete={on_delete.__name__}: not supported.")
    return relations


def model_target_problems(model: type[models.Model], rule: RetentionRule) -> list[tuple[str, str]]:
    """Rule problems that come from the model's structure (checked by rule validation)."""
    problems: list[tuple[str, str]] = []
    pk = model._meta.pk
    if not isinstance(pk, models.IntegerField | models.AutoField):
        problems.append(
            ("content_type", f"{model._meta.label} needs an integer primary key to be purged.")
        )
    if model._meta.label_lower == AUDIT_LABEL:
        problems.extend(AuditChainTarget.rule_problems(rule))
        return problems
    if rule.action == PurgeAction.DELETE:
        problems.extend(("content_type", p) for p in deletion_plan(model)[1])
    return problems


def _q_any(conditions: list) -> Q | None:
    return reduce(operator.or_, (Q(c) for c in conditions)) if conditions else None


class ModelTarget(Target):
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


# --- the audit trail --------------------------------------------------------------------


class AuditChainTarget(ModelTarget):
    """The audit trail's hash chain: only a prefix of it may go, or it would not verify.

    A batch deletes the oldest events (never the newest one, which the next event links
    to) up to the first event that is younger than the cutoff or held, and records an
    ``audit.trail.purged`` event whose ``data.anchor`` is the digest of the last removed
    event: verification starts from the oldest remaining event and that event vouches for
    where it starts.
    """

    @staticmethod
    def rule_problems(rule: RetentionRule) -> list[tuple[str, str]]:
        problems = []
        if rule.action != PurgeAction.DELETE:
            problems.append(
                ("action", "Audit events can only be deleted: rewriting them breaks the chain.")
            )
        if rule.filter:
            problems.append(
                ("filter", "Audit events are purged oldest first, as a whole: no filter.")
            )
        if rule.date_field and rule.date_field != "occurred_at":
            problems.append(("date_field", "Audit events are judged by occurred_at."))
        minimum = settings.JITPORTAL["AUDIT_RETENTION_DAYS"]
        if rule.period_unit and rule.period_amount:
            days = rule.period_in_days()
            if days < minimum:
                problems.append(
                    (
                        "period_amount",
                        f"Audit events are kept at least {minimum} days "
                        f"(settings.JITPORTAL['AUDIT_RETENTION_DAYS']); this period is {days}.",
                    )
                )
        return problems

    def _limit(self, holds: HoldState) -> int | None:
        """Events with an id below this may go."""
        events = self.model._base_manager.db_manager(self.using)
        head = events.aggregate(m=Max("pk"))["m"]
        if head is None:
            return None
        limit = head
        first_young = events.filter(occurred_at__gte=self.cutoff).aggregate(m=Min("pk"))["m"]
        if first_young is not None:
            limit = min(limit, first_young)
        if self._ct(self.model) in holds.record_cts:
            held = LegalHoldRecord.objects.filter(
                hold__lifted_at__isnull=True, content_type_id=self._ct(self.model)
            ).values_list("object_id", flat=True)
            held_ids = [int(x) for x in held if x.isdigit()]
            if held_ids:
                limit = min(limit, min(held_ids))
        return limit

    def matching(self) -> models.QuerySet:
        return (
            self.model._base_manager.db_manager(self.using)
            .filter(occurred_at__lt=self.cutoff)
            .order_by()
        )

    def counts(self, holds: HoldState) -> Counts:
        matched = self.matching().count()
        if holds.blocks_rule:
            return Counts(matched=matched, held=matched)
        limit = self._limit(holds)
        going = self.matching().filter(pk__lt=limit).count() if limit is not None else 0
        held = 0
        ct = self._ct(self.model)
        if ct in holds.record_cts:
            held = self.matching().filter(pk__in=self._held_keys(ct)).count()
        # The rest stay because an event after them must stay: the chain has no gaps.
        return Counts(matched=matched, held=held, protected=max(0, matched - going - held))

    def sample(self, holds: HoldState, size: int = 10) -> list[dict[str, Any]]:
        if holds.blocks_rule:
            return []
        limit = self._limit(holds) or 0
        rows = (
            self.matching()
            .filter(pk__lt=limit)
            .order_by("pk")
            .values("pk", "occurred_at", "action")
        )
        return [{k: _text(v) for k, v in row.items()} for row in rows[:size]]

    def key_bounds(self) -> tuple[int, int] | None:
        found = self.matching().aggregate(lo=Min("pk"), hi=Max("pk"))
        return None if found["lo"] is None else (found["lo"], found["hi"])

    def next_key(self, after: int, upper: int) -> int | None:
        return after if after <= upper else None

    def run_chunk(self, lo: int, hi: int, holds: HoldState) -> ChunkResult:
        from apps.audit.services import audit_event_record

        limit = self._limit(holds)
        if limit is None or lo >= limit:
            return ChunkResult()
        end = min(hi, limit)
        events = self.model._base_manager.db_manager(self.using)
        doomed = events.filter(pk__gte=lo, pk__lt=end)
        keys = list(doomed.order_by("pk").values_list("pk", flat=True))
        if not keys:
            return ChunkResult()
        deleted = doomed._raw_delete(self.using)
        first_kept = (
            events.filter(pk__gte=end).order_by("pk").values_list("pk", "prev_hash").first()
        )
        if first_kept is not None:
            audit_event_record(
                action=AUDIT_PURGED_ACTION,
                actor=self.context.actor,
                actor_label=self.context.actor_label,
                reason="Audit events past their retention period were purged.",
                data={
                    "anchor": first_kept[1],
                    "oldest_kept_id": first_kept[0],
                    "deleted": deleted,
                    "first_deleted_id": keys[0],
                    "last_deleted_id": keys[-1],
                    "cutoff": self.cutoff.isoformat(),
                    "purge_run_id": self.context.run_id,
                    "retention_rule_id": self.context.rule_id,
                },
            )
        return ChunkResult(
            examined=len(keys), affected=deleted, keys="\n".join(str(k) for k in keys)
        )


# --- raw tables in another configured database ------------------------------------------

_RAW_INTEGER_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}
_RAW_DATE_TYPES = {"DateField", "DateTimeField"}
_RAW_LOOKUPS = {"exact", "in", "isnull"}


class RawTableTarget(Target):
    """Rows of a table the portal has no model for, in a database alias of DATABASES.

    Deletes only. Legal holds on its records are named by ``<alias>:<table>`` and key.
    Rows other tables still refer to make the batch fail with the database's own error
    (the run stops as partial); the engine knows nothing of that table's relations.
    """

    def __init__(self, rule: RetentionRule, **kwargs: Any) -> None:
        self.alias = rule.raw_database
        super().__init__(rule, **kwargs)
        columns = self.describe(self.connection, rule.raw_table)
        self.date_only = columns.get(rule.date_field) == "DateField"
        self.cutoff_value = cutoff_value(self.cutoff, date_only=self.date_only)

    @property
    def using(self) -> str:
        return self.alias

    @property
    def label(self) -> str:
        return f"{self.alias}:{self.rule.raw_table}"

    @staticmethod
    def describe(connection, table: str) -> dict[str, str]:
        """Column -> Django field type name, from the database's own catalogue."""
        with connection.cursor() as cursor:
            if table not in connection.introspection.table_names(cursor):
                raise LookupError(table)
            description = connection.introspection.get_table_description(cursor, table)
        out = {}
        for column in description:
            try:
                out[column.name] = connection.introspection.get_field_type(column.type_code, column)
            except KeyError:
                out[column.name] = "unknown"
        return out

    @classmethod
    def static_problems(cls, rule: RetentionRule) -> list[tuple[str, str]]:
        if rule.raw_database not in settings.DATABASES:
            return [
                (
                    "raw_database",
                    f"No database “{rule.raw_database}” in settings.DATABASES "
                    f"(configured: {', '.join(sorted(settings.DATABASES))}).",
                )
            ]
        try:
            columns = cls.describe(connections[rule.raw_database], rule.raw_table)
        except LookupError:
            return [
                ("raw_table", f"Database “{rule.raw_database}” has no table “{rule.raw_table}”.")
            ]
        except Exception as exc:  # the other database may be down: say so, do not crash
            return [("raw_database", f"Database “{rule.raw_database}” did not answer: {exc}")]
        problems = []
        listed = ", ".join(sorted(columns))
        if rule.raw_key_column and rule.raw_key_column not in columns:
            problems.append(("raw_key_column", f"No column “{rule.raw_key_column}”: {listed}."))
        elif rule.raw_key_column and columns[rule.raw_key_column] not in _RAW_INTEGER_TYPES:
            problems.append(("raw_key_column", "The key column must be an integer column."))
        if rule.date_field not in columns:
            problems.append(("date_field", f"No column “{rule.date_field}”: {listed}."))
        elif columns[rule.date_field] not in _RAW_DATE_TYPES:
            problems.append(
                ("date_field", f"“{rule.date_field}” is not a date or timestamp column.")
            )
        if rule.filter and not isinstance(rule.filter, dict):
            problems.append(
                ("filter", 'The filter must be a JSON object, e.g. {"status": "closed"}.')
            )
        for key, value in (rule.filter or {}).items() if isinstance(rule.filter, dict) else ():
            column, _, lookup = key.partition("__")
            if column not in columns:
                problems.append(("filter", f"No column “{column}” for the filter: {listed}."))
            elif (lookup or "exact") not in _RAW_LOOKUPS:
                problems.append(
                    ("filter", f"“{key}”: a raw table filter takes =, __in or __isnull.")
                )
            elif lookup == "in" and (not isinstance(value, list) or not value):
                problems.append(("filter", f"“{key}” needs a non-empty list."))
            elif lookup == "isnull" and not isinstance(value, bool):
                problems.append(("filter", f"“{key}” takes true or false."))
        return problems

    def _qn(self, name: str) -> str:
        return self.connection.ops.quote_name(name)

    def _where(self) -> tuple[str, list[Any]]:
        qn = self._qn
        clauses = [f"{qn(self.rule.date_field)} < %s"]
        params: list[Any] = [self.cutoff_value]
        for key, value in (self.rule.filter or {}).items():
            column, _, lookup = key.partition("__")
            if lookup == "in":
                clauses.append(f"{qn(column)} IN ({', '.join(['%s'] * len(value))})")
                params.extend(value)
            elif lookup == "isnull":
                clauses.append(f"{qn(column)} IS {'' if value else 'NOT '}NULL")
            else:
                clauses.append(f"{qn(column)} = %s")
                params.append(value)
        return " AND ".join(clauses), params

    def _held_keys(self, holds: HoldState) -> list[int]:
        if self.label not in holds.raw_tables:
            return []
        ids = LegalHoldRecord.objects.filter(
            hold__lifted_at__isnull=True, raw_table=self.label
        ).values_list("object_id", flat=True)
        return sorted({int(x) for x in ids if x.lstrip("-").isdigit()})

    def _fetch(self, sql: str, params: list[Any]):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def counts(self, holds: HoldState) -> Counts:
        qn = self._qn
        where, params = self._where()
        table = qn(self.rule.raw_table)
        [(matched,)] = self._fetch(f"SELECT count(*) FROM {table} WHERE {where}", params)
        if holds.blocks_rule:
            return Counts(matched=matched, held=matched)
        held = 0
        for part in _slices(self._held_keys(holds)):
            marks = ", ".join(["%s"] * len(part))
            sql = f"SELECT count(*) FROM {table} WHERE {where} AND {qn(self.rule.raw_key_column)} IN ({marks})"
            held += self._fetch(sql, [*params, *part])[0][0]
        return Counts(matched=matched, held=held)

    def sample(self, holds: HoldState, size: int = 10) -> list[dict[str, Any]]:
        if holds.blocks_rule:
            return []
        qn = self._qn
        key = qn(self.rule.raw_key_column)
        where, params = self._where()
        held = set(self._held_keys(holds))
        rows = self._fetch(
            f"SELECT {key}, {qn(self.rule.date_field)} FROM {qn(self.rule.raw_table)} "
            f"WHERE {where} ORDER BY {key} LIMIT %s",
            [*params, size + len(held)],
        )
        return [{"key": k, self.rule.date_field: _text(d)} for k, d in rows if k not in held][:size]

    def key_bounds(self) -> tuple[int, int] | None:
        key = self._qn(self.rule.raw_key_column)
        where, params = self._where()
        [(lo, hi)] = self._fetch(
            f"SELECT min({key}), max({key}) FROM {self._qn(self.rule.raw_table)} WHERE {where}",
            params,
        )
        return None if lo is None else (lo, hi)

    def next_key(self, after: int, upper: int) -> int | None:
        key = self._qn(self.rule.raw_key_column)
        where, params = self._where()
        [(found,)] = self._fetch(
            f"SELECT min({key}) FROM {self._qn(self.rule.raw_table)} "
            f"WHERE {key} >= %s AND {key} <= %s AND {where}",
            [after, upper, *params],
        )
        return found

    def run_chunk(self, lo: int, hi: int, holds: HoldState) -> ChunkResult:
        qn = self._qn
        key = qn(self.rule.raw_key_column)
        table = qn(self.rule.raw_table)
        where, params = self._where()
        range_where = f"{key} >= %s AND {key} < %s AND {where}"
        held = [k for k in self._held_keys(holds) if lo <= k < hi]
        if self.single_statement:
            sql = (
                f"WITH purge_m (k, held) AS (SELECT {key}, {key} = ANY(%s) FROM {table} "
                f"WHERE {range_where} FOR UPDATE), "
                f"purge_d AS (DELETE FROM {table} WHERE {key} IN "
                f"(SELECT k FROM purge_m WHERE NOT held) RETURNING {key} AS k) "
                "SELECT (SELECT count(*) FROM purge_m), (SELECT count(*) FROM purge_m WHERE held),"
                " (SELECT count(*) FROM purge_d),"
                f" (SELECT {_KEYS_AGG} FROM {_KEYS_SORTED})"
            )
            [(examined, n_held, affected, keys)] = self._fetch(sql, [held, lo, hi, *params])
            return ChunkResult(examined, affected, n_held, 0, keys)
        rows = [
            k
            for (k,) in self._fetch(
                f"SELECT {key} FROM {table} WHERE {range_where} ORDER BY {key}", [lo, hi, *params]
            )
        ]
        held_set = set(held)
        going = [k for k in rows if k not in held_set]
        affected = 0
        with self.connection.cursor() as cursor:
            for part in _slices(going):
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(f"DELETE FROM {table} WHERE {key} IN ({marks})", part)
                affected += cursor.rowcount
        return ChunkResult(
            examined=len(rows),
            affected=affected,
            held=len(rows) - len(going),
            keys="\n".join(str(k) for k in going),
        )
