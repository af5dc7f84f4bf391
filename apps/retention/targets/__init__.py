"""What a rule purges, behind one interface the engine drives batch by batch.

``base.Target`` is the interface; three kinds implement it:

- ``ModelTarget`` (model.py): rows of a Django model, deleted (children first, by the
  model's ``on_delete`` rules, planned in deletion.py) or anonymised, one statement a batch.
- ``AuditChainTarget`` (audit.py): the audit trail, purged only as a prefix of the chain,
  with an ``audit.trail.purged`` event per batch naming the new anchor so the chain still
  verifies.
- ``RawTableTarget`` (raw.py): a table in another configured database (table, key and date
  column).

``target_class(rule)`` picks the kind; each kind answers ``rule_problems(rule)`` for rule
validation and is built by ``target_for(rule, cutoff=...)`` for a preview or a run.
"""

from __future__ import annotations

from typing import Any

from ..models import RetentionRule, TargetKind
from .audit import AuditChainTarget
from .base import (
    AUDIT_LABEL,
    AUDIT_PURGED_ACTION,
    ChunkResult,
    Counts,
    RunContext,
    Target,
    rule_model,
)
from .deletion import MAX_CASCADE_DEPTH, Relation, deletion_plan
from .model import ModelTarget
from .raw import RawTableTarget

__all__ = [
    "AUDIT_LABEL",
    "AUDIT_PURGED_ACTION",
    "MAX_CASCADE_DEPTH",
    "AuditChainTarget",
    "ChunkResult",
    "Counts",
    "ModelTarget",
    "RawTableTarget",
    "Relation",
    "RunContext",
    "Target",
    "deletion_plan",
    "rule_model",
    "target_class",
    "target_for",
]


def target_class(rule: RetentionRule) -> type[Target]:
    """The kind of target ``rule`` aims at (a model rule's model must be installed)."""
    if rule.target_kind == TargetKind.RAW_TABLE:
        return RawTableTarget
    if rule_model(rule)._meta.label_lower == AUDIT_LABEL:
        return AuditChainTarget
    return ModelTarget


def target_for(rule: RetentionRule, **kwargs: Any) -> Target:
    """The target of ``rule``, ready to preview or run (keyword arguments: see Target)."""
    return target_class(rule)(rule, **kwargs)
