"""The MCP server (the official ``mcp`` SDK): four request-only tools for AI agents.

``agents_server(raw_token=…)`` builds the server; ``manage.py mcp_serve`` runs it over stdio.
Every tool call checks the integration token again (``integration_token_authenticate`` with
the ``request`` scope: unknown, expired, revoked, owner inactive or without the scope is
refused), so a token revoked in the admin stops an agent at its next call. The tools act as
the token's owner through apps/agents/tools.py; none decides, cancels, revokes or extends.

The SDK runs a plain (not ``async``) tool in a worker thread, which is where Django's
database calls belong; each call starts and ends with ``close_old_connections``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from django.conf import settings
from django.db import close_old_connections
from django.utils import translation
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, WithJsonSchema

from apps.integrations.services import TokenRefused, integration_token_authenticate

from . import tools
from .apps import REQUEST_SCOPE

#: The names of every tool the server offers; a test checks that none decides.
TOOL_NAMES = ("list_requestable", "ask_for_access", "my_requests", "my_grants")

INSTRUCTIONS = (
    "Ask for just-in-time access to personal data on behalf of the person who owns this "
    "token, and read their own requests and grants. These tools never approve, deny or "
    "revoke anything: people decide on the portal. Call list_requestable first; pass one of "
    "its `target` values to ask_for_access with the justification the policy needs."
)

T = TypeVar("T")

# Every argument is declared to the agent with its JSON type(s) but read as it comes (Any):
# the SDK's pydantic validation would answer a wrong type with its own English text and a
# link to its documentation; tools.py checks each value and answers in the portal's words.
Whole = Annotated[Any, WithJsonSchema({"type": ["integer", "string"], "minimum": 1})]
Number = Annotated[Any, WithJsonSchema({"type": ["number", "string"]})]
Text = Annotated[Any, WithJsonSchema({"type": "string"})]
Flag = Annotated[Any, WithJsonSchema({"type": ["boolean", "string"]})]


def token_owner(raw_token: str) -> Any:
    """The active owner of ``raw_token`` if it may be used for the ``request`` scope now.

    Raises TokenRefused (RFC 6750 ``invalid_token`` or ``insufficient_scope``)."""
    return integration_token_authenticate(raw=raw_token, scope=REQUEST_SCOPE).owner


def _as_owner(raw_token: str, work: Callable[[Any], T]) -> T:
    """Run ``work(owner)`` for the token's owner, in the organisation's language; a refused
    token or a refused call is a tool error with its message."""
    close_old_connections()
    try:
        with translation.override(settings.LANGUAGE_CODE):
            try:
                owner = token_owner(raw_token)
            except TokenRefused as exc:
                raise ToolError(f"{exc.error}: {exc.message}") from exc
            try:
                return work(owner)
            except tools.ToolRefused as exc:
                raise ToolError(str(exc)) from exc
    finally:
        close_old_connections()


def agents_server(*, raw_token: str) -> MCPServer:
    """The MCP server whose tools act as the owner of ``raw_token`` (checked on each call)."""
    server: MCPServer = MCPServer(
        "jitportal",
        title="jitportal: ask for access",
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    reading = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)

    @server.tool(annotations=reading)
    def list_requestable(
        page: Annotated[Whole, Field(description="Page of 50 roles and 50 assets, from 1.")] = 1,
    ) -> dict[str, Any]:
        """What the token's owner may ask for: roles and single data assets, each with the
        `target` to pass to ask_for_access and what its policy asks (hours, approvals,
        justification, ticket), and the processing activities a request may serve."""
        return _as_owner(raw_token, lambda user: tools.requestable_list(user=user, page=page))

    @server.tool(
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=False,
        )
    )
    def ask_for_access(
        target: Annotated[Text, Field(description="A `target` from list_requestable.")] = "",
        justification: Annotated[
            Text, Field(description="What the access is for, and why now.")
        ] = "",
        ticket: Annotated[Text, Field(description="The ticket or case it is for.")] = "",
        duration_hours: Annotated[
            Number, Field(description="How long, in hours (e.g. 0.5, 4); or give ends_at.")
        ] = "",
        ends_at: Annotated[
            Text, Field(description="Instead of a duration: the end, YYYY-MM-DDTHH:MM local.")
        ] = "",
        starts_at: Annotated[
            Text, Field(description="A later start, YYYY-MM-DDTHH:MM local; empty: now.")
        ] = "",
        processing_activity: Annotated[
            Whole, Field(description="The id of the processing activity it serves.")
        ] = "",
    ) -> dict[str, Any]:
        """Ask for access for the token's owner, as the portal's form does (same rules, same
        messages). The request waits for people to decide it, unless its role needs no
        approval. Nothing here approves it."""
        return _as_owner(
            raw_token,
            lambda user: tools.request_ask(
                user=user,
                target=target,
                justification=justification,
                ticket=ticket,
                duration_hours=duration_hours,
                ends_at=ends_at,
                starts_at=starts_at,
                processing_activity=processing_activity,
            ),
        )

    @server.tool(annotations=reading)
    def my_requests(
        status: Annotated[
            Text,
            Field(description="Only this status: pending, approved, denied, cancelled, lapsed."),
        ] = "",
        page: Annotated[Whole, Field(description="Page of 50, newest first, from 1.")] = 1,
    ) -> dict[str, Any]:
        """The token owner's own requests, newest first, with their status and decision."""
        return _as_owner(
            raw_token, lambda user: tools.requests_mine(user=user, status=status, page=page)
        )

    @server.tool(annotations=reading)
    def my_grants(
        current: Annotated[
            Flag, Field(description="Only grants not ended yet (live now or scheduled).")
        ] = False,
        page: Annotated[Whole, Field(description="Page of 50, latest start first, from 1.")] = 1,
    ) -> dict[str, Any]:
        """The token owner's own grants: what, which rights, the window, live now or not."""
        return _as_owner(
            raw_token, lambda user: tools.grants_mine(user=user, current=current, page=page)
        )

    return server
