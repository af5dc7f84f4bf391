"""Rows of a table in another configured database (table, key and date column)."""

# ruff: noqa: S608
# (Identifiers in the SQL below are quoted by the backend and come from the database
# catalogue, checked when the rule is validated; every value is a parameter.)

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections
from django.utils.translation import gettext

from jitportal.inputs import parse_db_integer

from ..holds import HoldState
from ..models import LegalHoldRecord, PurgeAction, RetentionRule
from ..periods import cutoff_value
from .base import _KEYS_AGG, _KEYS_SORTED, ChunkResult, Counts, Target, _slices, _text

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
    def rule_problems(cls, rule: RetentionRule) -> list[tuple[str, str]]:
        """The raw table settings are complete, name a table and columns the database has,
        and the rule deletes (there is no model to anonymise through)."""
        problems = [
            (name, gettext("Required for a raw table target."))
            for name in ("raw_database", "raw_table", "raw_key_column")
            if not getattr(rule, name)
        ]
        if rule.content_type_id:
            problems.append(
                ("content_type", gettext("A raw table target has no model: leave this empty."))
            )
        if rule.action != PurgeAction.DELETE:
            problems.append(
                ("action", gettext("Rows of a raw table can only be deleted, not anonymised."))
            )
        if rule.anonymised_marker_field:
            problems.append(
                ("anonymised_marker_field", gettext("Only for anonymise rules on a model."))
            )
        if rule.raw_database and rule.raw_table:
            problems.extend(cls._catalogue_problems(rule))
        return problems

    @classmethod
    def _catalogue_problems(cls, rule: RetentionRule) -> list[tuple[str, str]]:
        if rule.raw_database not in settings.DATABASES:
            return [
                (
                    "raw_database",
                    gettext(
                        "No database “%(database)s” in settings.DATABASES (configured: "
                        "%(configured)s)."
                    )
                    % {
                        "database": rule.raw_database,
                        "configured": ", ".join(sorted(settings.DATABASES)),
                    },
                )
            ]
        try:
            columns = cls.describe(connections[rule.raw_database], rule.raw_table)
        except LookupError:
            return [
                (
                    "raw_table",
                    gettext("Database “%(database)s” has no table “%(table)s”.")
                    % {"database": rule.raw_database, "table": rule.raw_table},
                )
            ]
        except Exception as exc:  # the other database may be down: say so, do not crash
            return [
                (
                    "raw_database",
                    gettext("Database “%(database)s” did not answer: %(error)s")
                    % {"database": rule.raw_database, "error": exc},
                )
            ]
        problems = []
        listed = ", ".join(sorted(columns))
        if rule.raw_key_column and rule.raw_key_column not in columns:
            problems.append(
                (
                    "raw_key_column",
                    gettext("No column “%(column)s”: %(columns)s.")
                    % {"column": rule.raw_key_column, "columns": listed},
                )
            )
        elif rule.raw_key_column and columns[rule.raw_key_column] not in _RAW_INTEGER_TYPES:
            problems.append(
                ("raw_key_column", gettext("The key column must be an integer column."))
            )
        if rule.date_field not in columns:
            problems.append(
                (
                    "date_field",
                    gettext("No column “%(column)s”: %(columns)s.")
                    % {"column": rule.date_field, "columns": listed},
                )
            )
        elif columns[rule.date_field] not in _RAW_DATE_TYPES:
            problems.append(
                (
                    "date_field",
                    gettext("“%(column)s” is not a date or timestamp column.")
                    % {"column": rule.date_field},
                )
            )
        if rule.filter and not isinstance(rule.filter, dict):
            problems.append(
                ("filter", gettext('The filter must be a JSON object, e.g. {"status": "closed"}.'))
            )
        for key, value in (rule.filter or {}).items() if isinstance(rule.filter, dict) else ():
            column, _, lookup = key.partition("__")
            if column not in columns:
                problems.append(
                    (
                        "filter",
                        gettext("No column “%(column)s” for the filter: %(columns)s.")
                        % {"column": column, "columns": listed},
                    )
                )
            elif (lookup or "exact") not in _RAW_LOOKUPS:
                problems.append(
                    (
                        "filter",
                        gettext("“%(key)s”: a raw table filter takes =, __in or __isnull.")
                        % {"key": key},
                    )
                )
            elif lookup == "in" and (not isinstance(value, list) or not value):
                problems.append(
                    ("filter", gettext("“%(key)s” needs a non-empty list.") % {"key": key})
                )
            elif lookup == "isnull" and not isinstance(value, bool):
                problems.append(
                    ("filter", gettext("“%(key)s” takes true or false.") % {"key": key})
                )
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
        return sorted({pk for x in ids if (pk := parse_db_integer(x)) is not None})

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
