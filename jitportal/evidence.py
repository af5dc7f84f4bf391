"""Evidence keeps what it refers to.

Evidence rows are the records of what happened: access requests, their approvals, grants
(and the assets each covers), purge runs, legal holds and the records they hold, ROPA
snapshots and the audit trail. Rules (``tests/test_evidence.py`` walks them at run time):

- Every foreign key from an evidence row to a row that is not evidence (a data asset, a role,
  a processing activity, a retention rule, a content type, a user, ...) is ``PROTECT``: that
  row cannot be deleted and take the evidence with it, by the admin, the ORM or a raw
  ``DELETE`` (Django's foreign keys have no cascade in the database). Archive or deactivate
  it instead.
- A foreign key from an evidence row to another evidence row is ``PROTECT`` or, for a part
  of its whole (an approval of its request, a grant's asset link, a hold's record),
  ``CASCADE``: the part goes with its whole, and a whole goes only when a retention rule
  purges it (with a purge run as the evidence of that).
- No evidence row is deleted in the admin.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.db import models
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# "app_label.ModelName" of every evidence model.
EVIDENCE_MODELS: tuple[str, ...] = (
    "access.AccessRequest",
    "access.Approval",
    "access.Grant",
    "access.GrantAsset",
    "retention.PurgeRun",
    "retention.LegalHold",
    "retention.LegalHoldRecord",
    "reports.RopaSnapshot",
    "audit.AuditEvent",
)

# Foreign keys of evidence that deliberately do not protect, and why.
UNPROTECTED_REFERENCES: dict[tuple[str, str], str] = {
    ("audit.AuditEvent", "actor"): "The event keeps the actor's username (actor_label); the "
    "key has no database constraint so that deleting a user never rewrites the hash chain.",
}


def evidence_models() -> list[type[models.Model]]:
    return [apps.get_model(label) for label in EVIDENCE_MODELS]


def evidence_foreign_keys() -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every (evidence model, foreign key or one-to-one field) pair, found at run time."""
    pairs = []
    for model in evidence_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey):
                pairs.append((model, field))
    return pairs


def is_evidence(model: Any) -> bool:
    """Whether ``model`` (a model class; anything else is not) is an evidence model."""
    meta = getattr(model, "_meta", None)
    return isinstance(model, type) and meta is not None and meta.label in EVIDENCE_MODELS


def evidence_references(obj: models.Model) -> dict[str, int]:
    """How many evidence rows refer to ``obj``, by their plural name (only those with some)."""
    counts: dict[str, int] = {}
    for model, field in evidence_foreign_keys():
        related = field.related_model
        if not isinstance(related, type) or not isinstance(obj, related):
            continue
        if (model._meta.label, field.name) in UNPROTECTED_REFERENCES:
            continue
        found = model._default_manager.filter(**{field.attname: obj.pk}).count()
        if found:
            name = str(model._meta.verbose_name_plural)
            counts[name] = counts.get(name, 0) + found
    return counts


def evidence_refusal(obj: models.Model, instead: str | Promise) -> str:
    """The message that refuses to delete ``obj`` because evidence refers to it ("" if none)."""
    refs = evidence_references(obj)
    if not refs:
        return ""
    listed = "; ".join(f"{name}: {count}" for name, count in sorted(refs.items()))
    return _(
        "“%(object)s” cannot be deleted: evidence that is kept refers to it (%(references)s). "
        "%(instead)s"
    ) % {"object": obj, "references": listed, "instead": instead}


class EvidenceDeleteRefusalMixin:
    """For the admin of a model that evidence refers to: the single delete page and the bulk
    delete action refuse (Django lists the protected rows) and say what to do instead."""

    evidence_instead: str | Promise = gettext_lazy("Archive it instead.")

    def get_deleted_objects(self, objs: Sequence[Any] | Iterable[Any], request: HttpRequest):
        objs = list(objs)
        result = super().get_deleted_objects(objs, request)  # type: ignore[misc]
        protected = result[3]
        if protected:
            for obj in objs:
                message = evidence_refusal(obj, self.evidence_instead)
                if message:
                    self.message_user(request, message, messages.ERROR)  # type: ignore[attr-defined]
        return result
