"""Connector services (architecture.md, "Services, selectors, tasks"), by subject."""

from .provisioning import (
    _provisionings_close,
    _provisionings_open,
    _provisionings_refresh,
    connectors_reconcile,
    provisioning_grant_end,
    provisioning_provision,
    provisioning_refresh,
    provisionings_close,
    provisionings_deprovision,
)
from .secrets import provisioning_secret_reveal

__all__ = [
    "_provisionings_close",
    "_provisionings_open",
    "_provisionings_refresh",
    "connectors_reconcile",
    "provisioning_grant_end",
    "provisioning_provision",
    "provisioning_refresh",
    "provisioning_secret_reveal",
    "provisionings_close",
    "provisionings_deprovision",
]
