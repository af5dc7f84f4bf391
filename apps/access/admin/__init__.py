"""The approver's and the DPO's side of just-in-time access, in the Django admin.

Requests and grants are read-only here: every change goes through a service (approve,
deny, revoke, mark reviewed, break-glass), from a button on the change page, a per-row
button in the approval queue, or a bulk action; each service locks the row and checks who
may act, so a refusal is shown as a message and nothing changes. The lists run a constant
number of queries whatever the number of rows (annotations, select_related, prefetch).

One module per admin (``roles``, ``requests``, ``grants``, ``notices``); their forms,
filters and shared columns in ``forms``, ``filters`` and ``display``. Importing this package
registers every admin.
"""

from .grants import GrantAdmin
from .notices import NoticeAdmin
from .requests import AccessRequestAdmin, ApprovalInline
from .roles import AccessRoleAdmin

__all__ = ["AccessRequestAdmin", "AccessRoleAdmin", "ApprovalInline", "GrantAdmin", "NoticeAdmin"]
