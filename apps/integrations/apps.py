from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_TOKENS = [
    "integrations.view_integrationtoken",
    "integrations.add_integrationtoken",
    "integrations.change_integrationtoken",
]


class IntegrationsConfig(AppConfig):
    """Tokens that machines (a SIEM, a ticketing system) use instead of a person's password.

    Imports no other app of the project: the apps that serve integrations register their
    scopes here (``apps.integrations.scopes.scope_register``) and check tokens through
    ``apps.integrations.services``.
    """

    name = "apps.integrations"
    label = "integrations"
    verbose_name = _("Integrations")
    # The DPO issues and revokes tokens; a token never does more than its owner may.
    group_permissions = {"DPO": _TOKENS}
