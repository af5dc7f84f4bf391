"""Every write of the access app: one function per transition of a request or a grant.

- ``requests``: submit, extend, cancel, approve, deny;
- ``grants``: activate, mirror sync, revoke, give back, break-glass, review, record reads;
- ``roles``: what is recorded when the DPO changes or deletes a role;
- ``reconcile``: the periodic tidy-up (activate, expire, unmirror, lapse, warn, remind);
- ``mirror``: the django-guardian object-permission rows that mirror grants;
- ``offboarding``: what ends when an account is deactivated;
- ``decisions``: the checks every decision repeats at the moment it is taken.

Services take the ids of the rows they change, lock them inside a durable transaction,
check their state, write, record the audit event in the same transaction and queue side
effects by task name after commit (docs/architecture.md, "Services, selectors, tasks").

"""

from ._common import LAPSE_COMMENT, START_SLACK, SYSTEM_BEAT, SYSTEM_POLICY
from .grants import (
    access_record_view_log,
    grant_activate,
    grant_break_glass,
    grant_mark_reviewed,
    grant_mirror_sync,
    grant_relinquish,
    grant_revoke,
)
from .mirror import mirror_add, mirror_remove
from .offboarding import Offboarding, user_offboard
from .reconcile import access_reconcile, access_reconcile_helpers_wanted
from .requests import (
    access_request_approve,
    access_request_cancel,
    access_request_deny,
    access_request_extend,
    access_request_submit,
)
from .roles import access_role_record_change, access_role_record_deleted

__all__ = [
    "LAPSE_COMMENT",
    "START_SLACK",
    "SYSTEM_BEAT",
    "SYSTEM_POLICY",
    "Offboarding",
    "access_reconcile",
    "access_reconcile_helpers_wanted",
    "access_record_view_log",
    "access_request_approve",
    "access_request_cancel",
    "access_request_deny",
    "access_request_extend",
    "access_request_submit",
    "access_role_record_change",
    "access_role_record_deleted",
    "grant_activate",
    "grant_break_glass",
    "grant_mark_reviewed",
    "grant_mirror_sync",
    "grant_relinquish",
    "grant_revoke",
    "mirror_add",
    "mirror_remove",
    "user_offboard",
]
