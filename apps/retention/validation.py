"""What makes a retention rule, an anonymised field or a legal hold acceptable.

Each check says what is wrong and what to do instead; ``clean()`` of the models calls
these, and the engine runs them again before every purge (a model or a setting may have
changed since the rule was saved).
"""

from __future__ import annotations

from typing import Any, cast

from django.apps import apps as django_apps
from django.conf import settings
from django.core.exceptions import (
    FieldDoesNotExist,
    FieldError,
    ObjectDoesNotExist,
    ValidationError,
)
from django.db import connections, models, router
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from jitportal.inputs import BIGINT_MAX, parse_db_integer, parse_id

# The retention app's own configuration is not something a rule may purge.
_NEVER_TARGETS = {
    "retention.retentionrule",
    "retention.anonymisedfield",
    "retention.legalhold",
    "retention.legalholdrecord",
    "contenttypes.contenttype",
    "auth.permission",
    "migrations.migration",
}
TEXT_FIELDS = (models.CharField, models.TextField)
MIN_HASH_LENGTH = 16
# Where the keyed hash is computed in SQL (apps/retention/anonymise.py).
HASH_VENDORS = frozenset({"postgresql", "sqlite"})
MAX_BATCH_SIZE = 1_000_000


def _join(names) -> str:
    return ", ".join(sorted(names))


def model_field_names(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields]


def _model_field(model: type[models.Model], name: str) -> models.Field | None:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return cast(models.Field, field) if getattr(field, "concrete", False) else None


def date_field_problem(model: type[models.Model], name: str) -> str | None:
    field = _model_field(model, name)
    if field is None:
        return _("%(model)s has no field “%(name)s”. Its fields are: %(fields)s.") % {
            "model": model._meta.label,
            "name": name,
            "fields": _join(model_field_names(model)),
        }
    if not isinstance(field, models.DateField):
        return _(
            "“%(name)s” is a %(type)s, not a date or date/time field; "
            "the period has to count from a DateField or DateTimeField."
        ) % {"name": name, "type": field.get_internal_type()}
    return None


def filter_problem(model: type[models.Model], lookups: Any) -> str | None:
    """The filter must be a JSON object of field lookups that Django accepts for ``model``."""
    if lookups in (None, ""):
        return None
    if not isinstance(lookups, dict):
        return _('The filter must be a JSON object of field lookups, e.g. {"status": "closed"}.')
    for key, value in lookups.items():
        if not isinstance(key, str) or not key:
            return _("Each filter key must be a field lookup such as “status” or “status__in”.")
        if isinstance(value, dict):
            return _(
                "The filter value of “%(key)s” must be a plain value or a list, not an object."
            ) % {"key": key}
        if key.endswith("__in") and not isinstance(value, list):
            return _('“%(key)s” needs a list of values, e.g. ["closed"].') % {"key": key}
        if key.endswith("__in") and not value:
            return _("“%(key)s” has an empty list: the rule would match no row.") % {"key": key}
    try:
        qs = model._base_manager.filter(**lookups)
        str(qs.query)  # compiles every lookup and converts every value
    except FieldError as exc:
        return _("The filter is not valid for %(model)s: %(error)s") % {
            "model": model._meta.label,
            "error": exc,
        }
    except (ValueError, TypeError, ValidationError) as exc:
        detail = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return _("A filter value does not fit its field: %(detail)s") % {"detail": detail}
    return None


def _unit_label(unit: str) -> str:
    from .choices import PeriodUnit

    return str(PeriodUnit(unit).label) if unit in PeriodUnit.values else unit


def period_problem(*, amount: int | None, unit: str, now=None) -> str | None:
    from .periods import period_days

    if not amount or amount <= 0:
        return _("The period must be at least 1.")
    minimum = settings.JITPORTAL["PURGE_MIN_PERIOD_DAYS"]
    try:
        days = period_days(now=now or timezone.now(), amount=amount, unit=unit)
    except (ValueError, OverflowError):
        return _("That period cannot be counted back from today.")
    if days < max(minimum, 1):
        return _(
            "The period (%(amount)s %(unit)s, %(days)s days) is shorter than the minimum of "
            "%(minimum)s days (settings.JITPORTAL['PURGE_MIN_PERIOD_DAYS']): such a rule is "
            "refused as a safety measure."
        ) % {"amount": amount, "unit": _unit_label(unit), "days": days, "minimum": minimum}
    return None


def rule_validate(rule) -> None:
    """Raise a ValidationError naming every field of ``rule`` that is not acceptable."""
    errors = rule_problems(rule)
    if errors:
        raise ValidationError(errors)


def rule_problems(rule) -> dict[str, list[str]]:
    from .models import PurgeAction, TargetKind

    errors: dict[str, list[str]] = {}

    def add(field: str, message: str | None) -> None:
        if message:
            errors.setdefault(field, []).append(message)

    if rule.period_unit:
        add("period_amount", period_problem(amount=rule.period_amount, unit=rule.period_unit))
    if rule.batch_size is not None and not 1 <= rule.batch_size <= MAX_BATCH_SIZE:
        add(
            "batch_size",
            _("A batch holds between 1 and %(max)s rows.")
            % {"max": number_format(MAX_BATCH_SIZE, force_grouping=True)},
        )
    if rule.run_every_days is not None and rule.run_every_days < 1:
        add("run_every_days", _("A rule runs at most once a day: use 1 or more."))

    from .targets import target_class

    if rule.target_kind == TargetKind.RAW_TABLE:
        for field, message in target_class(rule).rule_problems(rule):
            add(field, message)
        return errors

    if rule.raw_database or rule.raw_table or rule.raw_key_column:
        add("raw_table", _("Raw table settings are only for a raw table target: clear them."))
    if not rule.content_type_id:
        add("content_type", _("Choose the model whose rows this rule purges."))
        return errors
    model = rule.content_type.model_class()
    if model is None:
        add("content_type", _("That model is no longer installed."))
        return errors
    label = model._meta.label_lower
    if label in _NEVER_TARGETS:
        add(
            "content_type",
            _("%(model)s is configuration, not data a rule may purge.")
            % {"model": model._meta.label},
        )
        return errors
    if not django_apps.is_installed(model._meta.app_config.name):
        add("content_type", _("That model's app is not installed."))
    add("date_field", date_field_problem(model, rule.date_field) if rule.date_field else None)
    if not rule.date_field:
        add("date_field", _("Name the date field the period counts from."))
    add("filter", filter_problem(model, rule.filter))

    if rule.action == PurgeAction.ANONYMISE:
        add("anonymised_marker_field", marker_problem(model, rule))
    elif rule.anonymised_marker_field:
        add("anonymised_marker_field", _("Only anonymise rules mark rows: leave this empty."))

    # What the kind of target (a model, the audit chain) cannot do with this rule.
    for field, message in target_class(rule).rule_problems(rule):
        add(field, message)
    return errors


def marker_problem(model: type[models.Model], rule) -> str | None:
    name = rule.anonymised_marker_field
    if not name:
        return _(
            "An anonymise rule needs a nullable date/time field that records when a row was "
            "anonymised (e.g. anonymised_at), so that each row is anonymised once."
        )
    field = _model_field(model, name)
    if field is None:
        return _("%(model)s has no field “%(name)s”.") % {"model": model._meta.label, "name": name}
    if not isinstance(field, models.DateField) or not field.null:
        return _("“%(name)s” must be a nullable DateField or DateTimeField.") % {"name": name}
    if name == rule.date_field:
        return _("The marker field cannot be the date field the period counts from.")
    return None


def _is_unique(model: type[models.Model], field: models.Field) -> bool:
    if field.unique:
        return True
    together = [set(group) for group in model._meta.unique_together]
    together += [
        set(c.fields)
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.fields and c.condition is None
    ]
    return any(field.name in group for group in together)


def anonymised_field_validate(spec) -> None:
    from .models import AnonymiseStrategy, PurgeAction, TruncateTo

    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    try:
        rule = spec.rule
    except ObjectDoesNotExist:
        rule = None
    if spec.strategy != AnonymiseStrategy.FIXED and spec.value:
        add("value", _("Only a 'fixed value' strategy takes a value."))
    if spec.strategy != AnonymiseStrategy.TRUNCATE_DATE and spec.truncate_to:
        add("truncate_to", _("Only 'truncate the date' takes this."))
    if spec.strategy == AnonymiseStrategy.TRUNCATE_DATE and spec.truncate_to not in TruncateTo:
        add("truncate_to", _("Choose what the date is truncated to (year, month or day)."))
    if rule is None or not rule.content_type_id:
        if errors:
            raise ValidationError(errors)
        return
    if rule.action != PurgeAction.ANONYMISE:
        add("field_name", _("Fields are only anonymised by an anonymise rule."))
    model = rule.content_type.model_class()
    if model is None:
        raise ValidationError(errors or {"field_name": _("The rule's model is not installed.")})
    problem = strategy_problem(model, rule, spec)
    if problem:
        field, message = problem
        add(field, message)
    if errors:
        raise ValidationError(errors)


def strategy_problem(model: type[models.Model], rule, spec) -> tuple[str, str] | None:
    """Whether ``spec.strategy`` can be applied to ``spec.field_name`` of ``model``: None,
    or the form field to blame ("field_name", or "strategy" when the field is right but the
    strategy does not fit it) and the message."""
    from .models import AnonymiseStrategy

    name = spec.field_name
    field = _model_field(model, name)
    if field is None:
        return "field_name", _("%(model)s has no field “%(name)s”. Its fields are: %(fields)s.") % {
            "model": model._meta.label,
            "name": name,
            "fields": _join(model_field_names(model)),
        }
    if field.primary_key:
        return "field_name", _("“%(name)s” is the primary key: it cannot be anonymised.") % {
            "name": name
        }
    if field.is_relation:
        return "field_name", _(
            "“%(name)s” is a relation: anonymise the related rows with their own rule."
        ) % {"name": name}
    if field.model is not model:
        return "field_name", _(
            "“%(name)s” belongs to a parent model (%(parent)s): not supported."
        ) % {"name": name, "parent": field.model._meta.label}
    if name == rule.anonymised_marker_field:
        return "field_name", _("“%(name)s” is the marker field: the engine sets it itself.") % {
            "name": name
        }
    kind = field.get_internal_type()
    strategy = spec.strategy
    if strategy == AnonymiseStrategy.NULL:
        if not field.null:
            return "strategy", _(
                "“%(name)s” cannot be NULL (the column is NOT NULL): the strategy does not fit; "
                "use a fixed value (for text, an empty one) or a hash."
            ) % {"name": name}
    elif strategy == AnonymiseStrategy.FIXED:
        if _is_unique(model, field):
            return "strategy", _(
                "“%(name)s” must be unique, so one fixed value for every row would collide: "
                "the strategy does not fit; use a hash."
            ) % {"name": name}
        if isinstance(field, TEXT_FIELDS) and spec.value == "":
            return None
        try:
            field.clean(spec.value, None)
        except ValidationError as exc:
            return "field_name", _(
                "The fixed value does not fit “%(name)s” (%(type)s): %(detail)s"
            ) % {"name": name, "type": kind, "detail": " ".join(exc.messages)}
    elif strategy == AnonymiseStrategy.HASH:
        vendor = connections[router.db_for_write(model)].vendor
        if vendor not in HASH_VENDORS:
            return "strategy", _(
                "The hash strategy runs in PostgreSQL or SQLite; “%(name)s” is stored in "
                "%(vendor)s: use a fixed value or null."
            ) % {"name": name, "vendor": vendor}
        if not isinstance(field, TEXT_FIELDS):
            return "strategy", _(
                "A hash is text: the strategy does not fit “%(name)s”, a %(type)s."
            ) % {"name": name, "type": kind}
        if field.choices:
            return "strategy", _(
                "“%(name)s” only takes its choices: the hash strategy does not fit; "
                "use a fixed value."
            ) % {"name": name}
        if field.max_length is not None and field.max_length < MIN_HASH_LENGTH:
            return "strategy", _(
                "“%(name)s” holds only %(length)s characters: too short for a hash "
                "(at least %(minimum)s); the strategy does not fit."
            ) % {"name": name, "length": field.max_length, "minimum": MIN_HASH_LENGTH}
    elif strategy == AnonymiseStrategy.TRUNCATE_DATE:
        if not isinstance(field, models.DateField):
            return "strategy", _(
                "Only dates can be truncated: the strategy does not fit “%(name)s”, a %(type)s."
            ) % {"name": name, "type": kind}
    else:
        return "strategy", _("Unknown strategy “%(strategy)s”.") % {"strategy": strategy}
    return None


def legal_hold_validate(hold) -> None:
    from .models import HoldScope

    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if hold.scope == HoldScope.ASSET and not hold.asset_id:
        add("asset", _("Choose the data asset the hold covers."))
    if hold.scope == HoldScope.RULE and not hold.rule_id:
        add("rule", _("Choose the retention rule the hold covers."))
    if hold.scope != HoldScope.ASSET and hold.asset_id:
        add("asset", _("Only a hold on a whole asset names an asset."))
    if hold.scope != HoldScope.RULE and hold.rule_id:
        add("rule", _("Only a hold on one rule names a rule."))
    if hold.scope == HoldScope.RECORDS:
        if bool(hold.content_type_id) == bool(hold.raw_table):
            add("content_type", _("Name either the model of the records or a raw table, not both."))
        if hold.raw_table and ":" not in hold.raw_table:
            add("raw_table", _("Write it as '<database alias>:<table>'."))
    elif hold.content_type_id or hold.raw_table:
        add("content_type", _("Only a hold on specific records names a model or table."))
    if hold.pk is None and hold.review_on and hold.review_on < timezone.localdate():
        add("review_on", _("The review date cannot be in the past."))
    if errors:
        raise ValidationError(errors)


def hold_record_ids_problem(*, content_type, raw_table: str, ids: list[str]) -> str | None:
    """Whether the records a hold names exist (a raw table's keys must be integers)."""
    if not ids:
        return _("Name at least one record (its id).")
    if raw_table:
        bad = [pk for pk in ids if parse_db_integer(pk) is None]
        return (
            _("Keys of a raw table are integers in the database's range: %(keys)s.")
            % {"keys": ", ".join(bad)}
            if bad
            else None
        )
    if content_type is None:
        return _("Choose the model of the records.")
    model = content_type.model_class()
    if model is None:
        return _("That model is not installed.")
    if isinstance(model._meta.pk, models.IntegerField):
        bad = [pk for pk in ids if parse_id(pk) is None]
        if bad:
            return _("Ids of %(model)s are whole numbers from 1 to %(max)s: %(ids)s.") % {
                "model": model._meta.label,
                "max": BIGINT_MAX,
                "ids": ", ".join(bad),
            }
    else:
        # Any other key type: name only the values its field cannot take.
        bad = []
        for pk in ids:
            try:
                model._meta.pk.to_python(pk)
            except (ValueError, TypeError, ValidationError):
                bad.append(pk)
        if bad:
            return _("These are not ids of %(model)s: %(ids)s.") % {
                "model": model._meta.label,
                "ids": ", ".join(bad),
            }
    found = {str(pk) for pk in model._base_manager.filter(pk__in=ids).values_list("pk", flat=True)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        return _("No %(model)s with id %(ids)s.") % {
            "model": model._meta.label,
            "ids": ", ".join(missing),
        }
    return None


def parse_ids(raw: Any) -> list[str]:
    """Ids from a list, or from text separated by commas, spaces or new lines."""
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw or [])
    ids: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in ids:
            ids.append(text)
    return ids
