"""The DPO's workplace: the data inventory in the Django admin.

Approvers and auditors read it (view permissions only); staff members see no admin at all.
Every changelist runs a constant number of queries whatever the number of rows: related rows
come with ``list_select_related``/``prefetch_related`` and counts and Art. 30 completeness are
SQL annotations (completeness.py), never per-row Python.

One module per admin; their shared base in ``base``, forms in ``forms``, list filters in
``filters`` and the autocomplete widgets (used by other apps' admins too) in ``widgets``.
Importing this package registers every admin.
"""

from .activities import ProcessingActivityAdmin, TransferInline
from .assets import DataAssetAdmin
from .base import InventoryModelAdmin
from .categories import DataCategoryAdmin, DataSubjectCategoryAdmin
from .organisation import OrganisationAdmin
from .recipients import RecipientAdmin
from .systems import AssetSummaryInline, SystemAdmin
from .transfers import TransferAdmin
from .widgets import ValidAutocompleteMixin

__all__ = [
    "AssetSummaryInline",
    "DataAssetAdmin",
    "DataCategoryAdmin",
    "DataSubjectCategoryAdmin",
    "InventoryModelAdmin",
    "OrganisationAdmin",
    "ProcessingActivityAdmin",
    "RecipientAdmin",
    "SystemAdmin",
    "TransferAdmin",
    "TransferInline",
    "ValidAutocompleteMixin",
]
