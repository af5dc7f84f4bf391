"""PostgreSQL: a login role per grant, member of per-asset roles that hold the mapped
privileges (docs/connectors.md, "PostgreSQL").

- provision: ``CREATE ROLE <account> LOGIN PASSWORD '<SCRAM verifier>' VALID UNTIL <end>`` and
  ``GRANT <prefix>a<asset>_<action> TO <account>``. The password reaches the server only as a
  SCRAM-SHA-256 verifier computed here (RFC 5802, RFC 7677), so the clear text is in no
  server log. The per-asset roles are created (NOLOGIN) and granted the binding's privileges
  on first use, and again on every provision (GRANT is idempotent).
- deprovision (a batch): ``ALTER ROLE … NOLOGIN`` committed first, then in one transaction
  ``pg_terminate_backend`` of every session of the roles, ``REASSIGN OWNED``/``DROP OWNED``
  (which revokes their privileges) and ``DROP ROLE`` (which ends their memberships).
- ``VALID UNTIL`` makes PostgreSQL itself refuse a password login after the end, whatever
  the portal's worker, beat or broker are doing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import psycopg
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from psycopg import sql

from ..base import (
    ACTIONS,
    Connector,
    ConnectorError,
    GrantContext,
    ObservedAccount,
    Problem,
    ProvisionResult,
    random_password,
    without_connection_secrets,
)
from ..registry import register
from .tables import binding_shape_problems, mapped_privileges

#: Table privileges a binding may name.
TABLE_PRIVILEGES = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
)
#: Seconds a statement may wait for a lock or the server (a hung target is an error, retried).
STATEMENT_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5
SCRAM_ITERATIONS = 4096


def scram_verifier(password: str, *, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802 section 3,
    RFC 7677); PostgreSQL accepts it in ``PASSWORD '…'`` as it is."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _valid_until(moment: datetime) -> str:
    return moment.isoformat()


@register
class PostgreSQLConnector(Connector):
    kind = "postgresql"
    label = _("PostgreSQL")
    uses_tables = True
    account_label = _("Database login")
    guarantees = _(
        "A login role per grant with its own random password and VALID UNTIL the grant's "
        "end: PostgreSQL itself refuses a new login after the end even when the portal's "
        "worker, beat and broker are all down (password authentication, which the target's "
        "pg_hba.conf must require). Open sessions are cut by a task queued for the exact end "
        "(within about a second while a worker runs), the reconcile is the backstop, and a "
        "revoke cuts them at once."
    )

    # -- connection -------------------------------------------------------------------------
    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor]:
        """One transaction on the target: committed when the block ends, rolled back if it
        raises. Every failure becomes a ConnectorError."""
        with self._connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield cursor

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A connection to the target (closed when the block ends); every failure becomes a
        ConnectorError."""
        url = self.connection_url()
        try:
            with psycopg.connect(
                url,
                connect_timeout=CONNECT_TIMEOUT_S,
                options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                application_name="jitportal-connector",
            ) as conn:
                yield conn
        except psycopg.Error as exc:
            raise ConnectorError(self._describe(exc, url)) from None

    @staticmethod
    def _describe(exc: psycopg.Error, url: str | None = None) -> str:
        """The server's message without the connection string (which may hold a password)."""
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag else None
        text = primary or str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "connection info string" in str(text) or "invalid connection option" in str(text):
            return "the connection URL is not a valid postgresql:// URL"
        text = without_connection_secrets(str(text), url)
        return re.sub(r"postgres(ql)?://\S+", "<target>", text)[:500]

    # -- names -------------------------------------------------------------------------------
    def asset_role(self, asset_id: int, action: str) -> str:
        return f"{self.prefix}a{asset_id}_{action}"

    def _is_asset_role(self, name: str) -> bool:
        return (
            re.fullmatch(rf"{re.escape(self.prefix)}a\d+_({'|'.join(ACTIONS)})", name) is not None
        )

    # -- provision ------------------------------------------------------------------------
    def _ensure_asset_roles(self, cursor: psycopg.Cursor, context: GrantContext) -> list[str]:
        roles = []
        for binding in context.bindings:
            for action in sorted(context.actions):
                privileges = mapped_privileges(binding, action)
                if not privileges:
                    continue
                role = self.asset_role(binding.asset_id, action)
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                schema = binding.schema or "public"
                cursor.execute(
                    sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                        sql.Identifier(schema), sql.Identifier(role)
                    )
                )
                for table in binding.tables:
                    cursor.execute(
                        sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                            sql.SQL(", ").join(sql.SQL(p) for p in privileges),
                            sql.Identifier(schema, table),
                            sql.Identifier(role),
                        )
                    )
                roles.append(role)
        return roles

    def provision(self, context: GrantContext) -> ProvisionResult:
        password = random_password()
        account = context.account
        with self._cursor() as cursor:
            # Role DDL of one target, one at a time: two grants of the same asset must not
            # both create its role.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"jitportal:{self.prefix}"]
            )
            roles = self._ensure_asset_roles(cursor, context)
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [account])
            verb = "ALTER" if cursor.fetchone() else "CREATE"
            cursor.execute(
                sql.SQL("{} ROLE {} WITH LOGIN INHERIT PASSWORD {} VALID UNTIL {}").format(
                    sql.SQL(verb),
                    sql.Identifier(account),
                    sql.Literal(scram_verifier(password)),
                    sql.Literal(_valid_until(context.ends_at)),
                )
            )
            for role in roles:
                cursor.execute(
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(account))
                )
        return ProvisionResult(account=account, secret=password)

    def refresh(self, context: GrantContext) -> None:
        with self._cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [context.account])
            if cursor.fetchone() is None:
                raise ConnectorError(f"role {context.account} does not exist")
            cursor.execute(
                sql.SQL("ALTER ROLE {} VALID UNTIL {}").format(
                    sql.Identifier(context.account), sql.Literal(_valid_until(context.ends_at))
                )
            )

    # -- deprovision -----------------------------------------------------------------------
    def deprovision(self, accounts: Sequence[str]) -> None:
        """Two transactions on the target: first ``NOLOGIN`` for every role, committed, so
        no new session can start; then the open sessions are cut and the roles dropped
        (``DROP OWNED`` revokes their privileges and drops what they own after ``REASSIGN
        OWNED`` hands objects worth keeping to the portal's user; ``DROP ROLE`` ends their
        memberships). Names already gone are skipped; a retry after a failure between the
        two finds the roles without login and finishes."""
        names = sorted({a for a in accounts if a.startswith(self.prefix)})
        if not names:
            return
        with self._connection() as conn, conn.cursor() as cursor:
            with conn.transaction():
                cursor.execute(
                    "SELECT rolname, rolcanlogin AND coalesce(rolvaliduntil > now(), true) "
                    "FROM pg_roles WHERE rolname = ANY(%s)",
                    [names],
                )
                rows = cursor.fetchall()
                present = [name for name, _can in rows]
                if not present:
                    return
                # Roles that could still log in (a revoke before the end): no new login from
                # here on, committed before anything else, one round trip for the batch. A
                # role past its VALID UNTIL is refused a password login by PostgreSQL already.
                open_roles = [name for name, can in rows if can]
                if open_roles:
                    cursor.execute(
                        sql.SQL("; ").join(
                            sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(n))
                            for n in open_roles
                        )
                    )
            idents = sql.SQL(", ").join(sql.Identifier(n) for n in present)
            with conn.transaction():
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE usename = ANY(%s) AND pid <> pg_backend_pid()",
                    [present],
                )
                cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                row = cursor.fetchone()
                if not (row and row[0]):
                    # A non-superuser needs the roles' privileges to reassign and drop what
                    # they own; CREATEROLE lets it take them.
                    cursor.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(idents))
                cursor.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(idents))
                cursor.execute(sql.SQL("DROP OWNED BY {}").format(idents))
                cursor.execute(sql.SQL("DROP ROLE {}").format(idents))

    def terminate_sessions(self, accounts: Sequence[str]) -> int:
        """Cut the open sessions of ``accounts`` without dropping them; returns how many."""
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE usename = ANY(%s) AND pid <> pg_backend_pid()",
                [list(accounts)],
            )
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    # -- observe ---------------------------------------------------------------------------
    def observe(self) -> list[ObservedAccount]:
        like = self.prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT m.rolname, coalesce(array_agg(r.rolname) FILTER (WHERE r.rolname IS "
                "NOT NULL), '{}') FROM pg_roles m "
                "LEFT JOIN pg_auth_members am ON am.member = m.oid "
                "LEFT JOIN pg_roles r ON r.oid = am.roleid "
                "WHERE m.rolname LIKE %s GROUP BY m.rolname ORDER BY m.rolname",
                [like],
            )
            rows = cursor.fetchall()
        return [
            ObservedAccount(name=name, memberships=frozenset(members))
            for name, members in rows
            if not self._is_asset_role(name)
        ]

    # -- checks ----------------------------------------------------------------------------
    def check_target(self) -> list[Problem]:
        if problems := self.url_setting_problems():
            return problems
        try:
            with self._cursor() as cursor:
                cursor.execute(
                    "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
                )
                row = cursor.fetchone()
        except ConnectorError as exc:
            return [
                Problem(
                    "url_setting",
                    gettext("The target did not answer: %(error)s") % {"error": exc},
                )
            ]
        if not row or not row[0]:
            return [
                Problem(
                    "url_setting",
                    gettext("The portal's user on this target may not create roles (CREATEROLE)."),
                )
            ]
        return []

    def check_binding(self, binding) -> list[Problem]:
        problems = binding_shape_problems(binding, allowed=TABLE_PRIVILEGES)
        if problems:
            return problems
        tables = binding.tables
        target_problems = self.check_target()
        if target_problems:
            return [Problem("target", p.message) for p in target_problems]
        schema = binding.schema or "public"
        try:
            with self._cursor() as cursor:
                cursor.execute(
                    "SELECT has_schema_privilege(n.oid, 'USAGE') FROM pg_namespace n "
                    "WHERE nspname = %s",
                    [schema],
                )
                row = cursor.fetchone()
                if row is None:
                    return [
                        Problem(
                            "schema",
                            gettext("The target has no schema “%(schema)s”.") % {"schema": schema},
                        )
                    ]
                if not row[0]:
                    return [
                        Problem(
                            "schema",
                            gettext("The portal's user cannot reach schema “%(schema)s”.")
                            % {"schema": schema},
                        )
                    ]
                cursor.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                    "UNION SELECT viewname FROM pg_views WHERE schemaname = %s",
                    [schema, schema],
                )
                known = {r[0] for r in cursor.fetchall()}
        except ConnectorError as exc:
            return [
                Problem("target", gettext("The target did not answer: %(error)s") % {"error": exc})
            ]
        return [
            Problem(
                "tables",
                gettext("Schema “%(schema)s” has no table “%(table)s”.")
                % {"schema": schema, "table": table},
            )
            for table in tables
            if table not in known
        ]
