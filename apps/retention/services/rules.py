"""Retention rules: create, change, delete; every change is audited with the rule's
settings (and their digest, which a four-eyes confirmation is bound to)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record
from jitportal.inputs import model_text_errors

from ..models import AnonymisedField, RetentionRule
from ..selectors import rule_settings_digest, rule_snapshot
from .common import Actor, _label, _user


def retention_rule_save(
    *,
    rule: RetentionRule,
    actor: Actor,
    fields: Iterable[dict[str, str]] | None = None,
    actor_label: str = "",
) -> RetentionRule:
    """Create or change a rule (and, if given, replace its anonymised fields); audited.

    ``rule`` is the rule as it should stand (unsaved, or a changed copy of a saved one: its
    row is locked before it is written). Raises ValidationError naming each field that is
    not acceptable (validation.py), or whose free text (``legal_reason``) is over 2,000
    characters or holds a control character (jitportal/inputs.py); nothing is written then.
    Returns the saved rule.
    """
    if errors := model_text_errors(rule):
        raise ValidationError(errors)
    created = rule.pk is None
    with transaction.atomic(durable=True):
        if not created:
            RetentionRule.objects.select_for_update().filter(pk=rule.pk).first()
        rule.changed_by = _user(actor)
        rule.full_clean()
        rule.save()
        if fields is not None:
            rule.anonymised_fields.all().delete()
            for spec in fields:
                item = AnonymisedField(rule=rule, **spec)
                item.full_clean()
                item.save()
        retention_rule_record_change(
            rule=rule, actor=actor, created=created, actor_label=actor_label
        )
    return rule


def retention_rule_record_change(
    *,
    rule: RetentionRule,
    actor: Actor,
    created: bool,
    actor_label: str = "",
) -> None:
    """Audit a rule as it now stands (the admin calls this once its inlines are saved,
    inside the admin's own transaction; so does ``retention_rule_save``)."""
    if rule.changed_by_id != getattr(_user(actor), "pk", None):
        RetentionRule.objects.filter(pk=rule.pk).update(changed_by=_user(actor))
        rule.changed_by = _user(actor)
    audit_event_record(
        action="retention.rule.created" if created else "retention.rule.changed",
        actor=_user(actor),
        actor_label=_label(actor, actor_label),
        target=rule,
        data={"rule": rule_snapshot(rule), "settings_digest": rule_settings_digest(rule)},
    )


def retention_rule_delete(*, rule_id: int, actor: Actor) -> RetentionRule:
    """Delete a rule that has never run (runs are evidence: disable such a rule instead).

    Raises ValidationError when the rule has purge runs or legal holds (nothing changes),
    RetentionRule.DoesNotExist when there is no such rule. Returns the deleted rule (its
    ``pk`` is None then); the ``retention.rule.deleted`` event keeps its last settings.
    """
    with transaction.atomic(durable=True):
        locked = RetentionRule.objects.select_for_update().get(pk=rule_id)
        if locked.runs.exists():
            raise ValidationError(
                _("“%(rule)s” has purge runs, which are evidence: disable the rule instead.")
                % {"rule": locked}
            )
        if locked.legal_holds.exists():
            raise ValidationError(
                _("“%(rule)s” has legal holds: it cannot be deleted.") % {"rule": locked}
            )
        snapshot = rule_snapshot(locked)
        audit_event_record(
            action="retention.rule.deleted",
            actor=_user(actor),
            actor_label=_label(actor, ""),
            target=locked,
            data={"rule": snapshot},
        )
        locked.delete()
    return locked
