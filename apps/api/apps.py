from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Scope name -> (what it is for, the permissions its owner must hold each time it is used).
# The ``audit`` scope (the trail) is registered by apps.audit; the API honours it too.
API_SCOPES = {
    "request": (_("ask for access and give it back (never decide): bots and agents"), ()),
    "decide": (
        _("decide requests and revoke grants (the chat app)"),
        ("access.decide_accessrequest",),
    ),
    "read": (
        _("read the inventory, the record of processing and the access registers"),
        ("inventory.view_dataasset",),
    ),
}


class ApiConfig(AppConfig):
    """The REST API: the same services and selectors as the pages, over JSON.

    Imports the apps whose services it calls; no app imports it (docs/architecture.md)."""

    name = "apps.api"
    label = "api"
    verbose_name = _("REST API")

    def ready(self) -> None:
        from apps.integrations.scopes import scope_register

        from . import schema  # noqa: F401  (the OpenAPI description of the authentication)

        for name, (description, permissions) in API_SCOPES.items():
            scope_register(name=name, description=description, permissions=permissions)
