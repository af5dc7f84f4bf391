"""Roles (policies), requests, approvals and time-boxed grants.

A grant counts only while ``starts_at <= now < ends_at`` and it is not revoked: the status
column is tidied by beat, but access is decided from the times at the moment of use.
"""

from .grants import (
    GIVEN_BACK_CODES,
    Grant,
    GrantAsset,
    GrantEnd,
    GrantQuerySet,
    GrantStatus,
    RevokeCode,
)
from .notices import Notice, NoticeKind, NoticeStatus
from .requests import (
    AccessRequest,
    AccessRequestQuerySet,
    Approval,
    Decision,
    DecisionCode,
    RequestStatus,
)
from .roles import AccessRole, ticket_hint_examples

__all__ = [
    "GIVEN_BACK_CODES",
    "AccessRequest",
    "AccessRequestQuerySet",
    "AccessRole",
    "Approval",
    "Decision",
    "DecisionCode",
    "Grant",
    "GrantAsset",
    "GrantEnd",
    "GrantQuerySet",
    "GrantStatus",
    "Notice",
    "NoticeKind",
    "NoticeStatus",
    "RequestStatus",
    "RevokeCode",
    "ticket_hint_examples",
]
