"""The DPO's retention pages: rules, legal holds and purge runs. Buttons call services.

One module per admin (``rules``, ``holds``, ``runs``); ``common`` holds what they share.
Importing them registers them with the admin site.
"""

from .holds import LegalHoldAdmin
from .rules import RetentionRuleAdmin
from .runs import PurgeRunAdmin

__all__ = ["LegalHoldAdmin", "PurgeRunAdmin", "RetentionRuleAdmin"]
