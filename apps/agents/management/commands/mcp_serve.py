"""``manage.py mcp_serve``: the MCP server for AI agents, over stdio (docs/agents.md)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from apps.integrations.services import TokenRefused

from ...server import agents_server, token_owner

DEFAULT_TOKEN_ENV = "JITPORTAL_MCP_TOKEN"  # noqa: S105 - the name of a variable, not a secret


class Command(BaseCommand):
    help = (
        "Serve the request-only MCP tools over stdio, as the owner of the integration token "
        f"(scope request) in the environment variable {DEFAULT_TOKEN_ENV}."
    )
    # The tools read the token's owner on every call; nothing here needs the system checks'
    # output on stdout, which belongs to the protocol.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--token-env",
            default=DEFAULT_TOKEN_ENV,
            help=_("The environment variable holding the token (default %(name)s).")
            % {"name": DEFAULT_TOKEN_ENV},
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["token_env"]
        raw = os.environ.get(name, "")
        if not raw.strip():
            raise CommandError(
                _("Set %(name)s to an integration token with the “request” scope.") % {"name": name}
            )
        try:
            token_owner(raw)
        except TokenRefused as exc:
            raise CommandError(
                _("The token in %(name)s is refused (%(error)s): %(reason)s")
                % {"name": name, "error": exc.error, "reason": exc.message}
            ) from exc
        # stdout is the protocol's from here on: nothing else may write to it.
        agents_server(raw_token=raw).run("stdio")
