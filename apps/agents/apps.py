from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

#: The ``request`` scope: ask for access, never decide. It needs no permission of its own:
#: asking is open to every active user, and each role says who may ask for it (the services
#: check that on every call). The REST API registers the same scope with the same words;
#: registering it twice is idempotent (apps/integrations/scopes.py).
REQUEST_SCOPE = "request"
REQUEST_SCOPE_DESCRIPTION = _("ask for access and give it back (never decide): bots and agents")
REQUEST_SCOPE_PERMISSIONS: tuple[str, ...] = ()


class AgentsConfig(AppConfig):
    """The MCP server for AI agents: request-only tools over the access services.

    Imports the apps whose services and selectors it calls; no app imports it
    (docs/architecture.md)."""

    name = "apps.agents"
    label = "agents"
    verbose_name = _("Agents (MCP)")

    def ready(self) -> None:
        from apps.integrations.scopes import scope_get, scope_register

        if scope_get(REQUEST_SCOPE) is None:
            scope_register(
                name=REQUEST_SCOPE,
                description=REQUEST_SCOPE_DESCRIPTION,
                permissions=REQUEST_SCOPE_PERMISSIONS,
            )
