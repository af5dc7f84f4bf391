"""MariaDB and MySQL: a user per grant holding the mapped privileges on the bound tables
(docs/connectors.md, "MariaDB and MySQL").

- provision: ``CREATE USER '<account>'@'<host>' IDENTIFIED BY PASSWORD '<hash>'`` (the
  mysql_native_password hash is computed here, so the clear password is in no server log),
  then ``GRANT <privileges> ON <schema>.<table>`` for every bound table. A retry finds the
  user and gives it a new password and the same grants (GRANT is idempotent).
- deprovision (a batch): ``REVOKE ALL PRIVILEGES, GRANT OPTION`` (table privileges stop at
  once, even in open sessions), ``DROP USER`` for every host of each name, then ``KILL
  CONNECTION`` for every thread of those users in ``information_schema.PROCESSLIST``:
  dropping a user does not end its open sessions in MariaDB. The removal is read back;
  anything left raises, so it is retried and never recorded as done.
- MariaDB has no ``VALID UNTIL``: the account keeps working until the worker removes it.
  ``PASSWORD EXPIRE INTERVAL`` is no substitute (whole days from the password's creation,
  and an expired password lets the client in to set a new one), so it is not used.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pymysql.cursors import Cursor

from ..base import (
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
    {"SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES", "TRIGGER", "SHOW VIEW"}
)
#: Global privileges the portal's own user needs on the target (docs/connectors.md).
NEEDED_GLOBAL = frozenset({"CREATE USER", "PROCESS"})
#: Either of these lets it kill other users' connections (CONNECTION ADMIN: MariaDB 10.5.2+).
KILL_PRIVILEGES = frozenset({"CONNECTION ADMIN", "SUPER"})
CONNECT_TIMEOUT_S = 5
#: Seconds a removal waits for killed threads to leave the process list before it fails.
KILL_WAIT_S = 3.0
IO_TIMEOUT_S = 30
#: MariaDB's error for a thread that ended between listing and killing it.
UNKNOWN_THREAD = 1094
#: Host part of every account unless the target's options name another
#: (``{"account_host": …}``; ``"host"`` is where holders connect, see selectors.py).
DEFAULT_HOST = "%"
_HOST_PATTERN = re.compile(r"^[A-Za-z0-9.%_:-]{1,60}$")


def native_password_hash(password: str) -> str:
    """The mysql_native_password hash of ``password``: ``*`` and the upper-case hex of
    SHA1(SHA1(password)); MariaDB and MySQL accept it in ``IDENTIFIED BY PASSWORD``."""
    inner = hashlib.sha1(password.encode()).digest()  # noqa: S324 - the server's own scheme
    return "*" + hashlib.sha1(inner).hexdigest().upper()  # noqa: S324


def _first(cursor: Cursor) -> Any:
    """The first column of the first row the last statement gave (None: no row)."""
    row = cursor.fetchone()
    return row[0] if row else None


def _quote_name(name: str) -> str:
    """An identifier (schema, table) in backticks, a backtick inside doubled."""
    return "`" + name.replace("`", "``") + "`"


@register
class MariaDBConnector(Connector):
    kind = "mariadb"
    label = _("MariaDB / MySQL")
    uses_tables = True
    account_label = _("Database login")
    guarantees = _(
        "A user per grant with its own random password and the mapped privileges on the "
        "bound tables. MariaDB and MySQL have no VALID UNTIL: the database itself never ends "
        "an account at a time, so new logins end only when the portal's worker removes the "
        "user (a task queued for the exact end, within about a second while a worker runs; "
        "the reconcile is the backstop). If the worker, beat or broker are down at the end, "
        "the user can still log in until they are back. At removal the privileges are "
        "revoked (open sessions lose the tables at once), the user is dropped and its open "
        "connections are killed."
    )

    # -- connection -------------------------------------------------------------------------
    def _connect_args(self) -> dict[str, Any]:
        parts = urlsplit(self.connection_url())
        if parts.scheme not in {"mysql", "mariadb"}:
            raise ConnectorError(
                "the connection URL must start with mysql:// or mariadb://", retryable=False
            )
        try:
            port = parts.port or 3306
        except ValueError:
            raise ConnectorError("the connection URL has a bad port", retryable=False) from None
        return {
            "host": parts.hostname or "127.0.0.1",
            "port": port,
            "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "database": unquote(parts.path.lstrip("/")) or None,
        }

    @contextmanager
    def _cursor(self) -> Iterator[Cursor]:
        """A cursor on a fresh connection (autocommit: MariaDB commits account statements on
        its own anyway). Every failure becomes a ConnectorError without the URL."""
        args = self._connect_args()
        try:
            conn = pymysql.connect(
                **args,
                connect_timeout=CONNECT_TIMEOUT_S,
                read_timeout=IO_TIMEOUT_S,
                write_timeout=IO_TIMEOUT_S,
                autocommit=True,
                charset="utf8mb4",
                program_name="jitportal-connector",
            )
        except pymysql.MySQLError as exc:
            raise ConnectorError(self._describe(exc, self.connection_url())) from None
        try:
            with conn.cursor() as cursor:
                yield cursor
        except pymysql.MySQLError as exc:
            raise ConnectorError(self._describe(exc, self.connection_url())) from None
        finally:
            conn.close()

    @staticmethod
    def _describe(exc: pymysql.MySQLError, url: str | None = None) -> str:
        """The server's message (code and text), never the connection URL or its password."""
        args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
        text = f"{args[0]}: {args[1]}" if len(args) >= 2 else str(exc) or type(exc).__name__
        text = without_connection_secrets(text, url)
        return re.sub(r"(mysql|mariadb)://\S+", "<target>", text)[:500]

    # -- names -------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        host = (self.target.options or {}).get("account_host", DEFAULT_HOST)
        if not isinstance(host, str) or not _HOST_PATTERN.match(host):
            raise ConnectorError(
                "the target's account_host option is not a host pattern", retryable=False
            )
        return host

    def _like_prefix(self) -> str:
        return self.prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"

    # -- provision ------------------------------------------------------------------------
    def provision(self, context: GrantContext) -> ProvisionResult:
        account, host = context.account, self.host
        if not account.startswith(self.prefix):
            raise ConnectorError(f"account {account} lacks the prefix", retryable=False)
        password = random_password()
        grants: list[tuple[str, str]] = []
        for binding in context.bindings:
            privileges = sorted(
                {p for action in context.actions for p in mapped_privileges(binding, action)}
                & TABLE_PRIVILEGES
            )
            if not privileges:
                continue
            schema = binding.schema or self._connect_args()["database"]
            if not schema:
                raise ConnectorError(
                    f"binding of asset {binding.asset_id} names no schema", retryable=False
                )
            grants.extend(
                (", ".join(privileges), f"{_quote_name(schema)}.{_quote_name(table)}")
                for table in binding.tables
            )
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = %s", [account, host]
            )
            exists = _first(cursor)
            verb = "ALTER" if exists else "CREATE"
            cursor.execute(
                f"{verb} USER %s@%s IDENTIFIED BY PASSWORD %s",
                [account, host, native_password_hash(password)],
            )
            for granted, on in grants:
                # Privileges come from TABLE_PRIVILEGES, names are quoted identifiers; a
                # "%" in a name is doubled, since the statement also carries parameters.
                cursor.execute(
                    f"GRANT {granted} ON {on.replace('%', '%%')} TO %s@%s", [account, host]
                )
        return ProvisionResult(account=account, secret=password)

    # -- deprovision -----------------------------------------------------------------------
    def _threads(self, cursor: Cursor, names: Sequence[str]) -> list[int]:
        marks = ", ".join(["%s"] * len(names))
        cursor.execute(
            "SELECT ID FROM information_schema.PROCESSLIST "  # noqa: S608 - placeholders only
            f"WHERE USER IN ({marks}) AND ID <> CONNECTION_ID()",
            list(names),
        )
        return [row[0] for row in cursor.fetchall()]

    def _threads_ended(self, cursor: Cursor, names: Sequence[str]) -> list[int]:
        """The threads of ``names`` still listed after waiting up to ``KILL_WAIT_S``: a
        killed thread stays in the process list until it has cleaned up (milliseconds)."""
        deadline = time.monotonic() + KILL_WAIT_S
        while True:
            threads = self._threads(cursor, names)
            if not threads or time.monotonic() >= deadline:
                return threads
            time.sleep(0.02)

    def _kill(self, cursor: Cursor, names: Sequence[str]) -> None:
        for thread in self._threads(cursor, names):
            try:
                cursor.execute("KILL CONNECTION %s", [thread])
            except pymysql.MySQLError as exc:
                if exc.args and exc.args[0] == UNKNOWN_THREAD:
                    continue  # it ended on its own meanwhile
                raise

    def deprovision(self, accounts: Sequence[str]) -> None:
        names = sorted({a for a in accounts if a.startswith(self.prefix)})
        if not names:
            return
        marks = ", ".join(["%s"] * len(names))
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT User, Host FROM mysql.user "  # noqa: S608 - placeholders only
                f"WHERE User IN ({marks}) AND is_role = 'N' "
                "AND User <> SUBSTRING_INDEX(CURRENT_USER(), '@', 1)",
                names,
            )
            present = cursor.fetchall()
            if present:
                users = ", ".join(["%s@%s"] * len(present))
                params = [part for row in present for part in row]
                # Revoke first: an open session loses the tables at its next statement.
                cursor.execute(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {users}", params)
                cursor.execute(f"DROP USER IF EXISTS {users}", params)
            # Dropping a user leaves its open connections running: kill them, and those of
            # names already gone (a user dropped by hand keeps its sessions too).
            self._kill(cursor, names)
            cursor.execute(
                f"SELECT COUNT(*) FROM mysql.user WHERE User IN ({marks})",  # noqa: S608
                names,
            )
            left = _first(cursor)
            threads = self._threads_ended(cursor, names)
        if left or threads:
            raise ConnectorError(
                f"{left} user(s) and {len(threads)} connection(s) remain after the removal"
            )

    def terminate_sessions(self, accounts: Sequence[str]) -> int:
        """Kill the open connections of ``accounts`` without dropping them; returns how many
        there were."""
        names = [a for a in accounts if a.startswith(self.prefix)]
        if not names:
            return 0
        with self._cursor() as cursor:
            count = len(self._threads(cursor, names))
            self._kill(cursor, names)
        return count

    # -- observe ---------------------------------------------------------------------------
    def observe(self) -> list[ObservedAccount]:
        """Users (not roles) named with the prefix, each with the tables it holds privileges
        on as ``schema.table``."""
        like = self._like_prefix()
        with self._cursor() as cursor:
            cursor.execute(
                # Never the portal's own login, even if its name has the prefix.
                "SELECT DISTINCT User FROM mysql.user WHERE User LIKE %s AND is_role = 'N' "
                "AND User <> SUBSTRING_INDEX(CURRENT_USER(), '@', 1)",
                [like],
            )
            users = sorted(row[0] for row in cursor.fetchall())
            cursor.execute(
                "SELECT User, Db, Table_name FROM mysql.tables_priv WHERE User LIKE %s", [like]
            )
            tables: dict[str, set[str]] = {}
            for user, db, table in cursor.fetchall():
                tables.setdefault(user, set()).add(f"{db}.{table}")
        return [ObservedAccount(name=u, memberships=frozenset(tables.get(u, ()))) for u in users]

    # -- checks ----------------------------------------------------------------------------
    def check_target(self) -> list[Problem]:
        if problems := self.url_setting_problems():
            return problems
        account_host = (self.target.options or {}).get("account_host", DEFAULT_HOST)
        if not isinstance(account_host, str) or not _HOST_PATTERN.match(account_host):
            return [
                Problem(
                    "options",
                    gettext(
                        "The account host “%(host)s” is not a host pattern (letters, digits "
                        "and . %% _ : -)."
                    )
                    % {"host": account_host},
                )
            ]
        try:
            with self._cursor() as cursor:
                cursor.execute(
                    "SELECT DISTINCT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES "
                    "WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "
                    "'''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')"
                )
                held = {row[0] for row in cursor.fetchall()}
        except ConnectorError as exc:
            return [
                Problem(
                    "url_setting",
                    gettext("The target did not answer: %(error)s") % {"error": exc},
                )
            ]
        missing = sorted(NEEDED_GLOBAL - held)
        if not held & KILL_PRIVILEGES:
            missing.append("CONNECTION ADMIN")
        if missing:
            return [
                Problem(
                    "url_setting",
                    gettext("The portal's user on this target lacks the privileges %(names)s.")
                    % {"names": ", ".join(missing)},
                )
            ]
        return []

    def check_binding(self, binding) -> list[Problem]:
        problems = binding_shape_problems(binding, allowed=TABLE_PRIVILEGES)
        if problems:
            return problems
        target_problems = self.check_target()
        if target_problems:
            return [Problem("target", p.message) for p in target_problems]
        schema = binding.schema or self._connect_args()["database"]
        if not schema:
            return [Problem("schema", gettext("Name the database (schema) of the tables."))]
        try:
            with self._cursor() as cursor:
                # information_schema shows only what the portal's user holds a privilege on:
                # a schema it cannot reach looks the same as one that is not there.
                cursor.execute(
                    "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                    [schema],
                )
                found = _first(cursor)
                if not found:
                    return [
                        Problem(
                            "schema",
                            gettext(
                                "The target has no database “%(schema)s” the portal's user "
                                "can reach."
                            )
                            % {"schema": schema},
                        )
                    ]
                cursor.execute(
                    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                    [schema],
                )
                known = {row[0] for row in cursor.fetchall()}
                missing = [t for t in binding.tables if t not in known]
                if missing:
                    return [
                        Problem(
                            "tables",
                            gettext("Schema “%(schema)s” has no table “%(table)s”.")
                            % {"schema": schema, "table": table},
                        )
                        for table in missing
                    ]
                for table in binding.tables:
                    # Reachable: the portal's user can read it (it must hold what it grants).
                    cursor.execute(
                        f"SELECT 1 FROM {_quote_name(schema)}.{_quote_name(table)} LIMIT 0"  # noqa: S608
                    )
        except ConnectorError as exc:
            return [
                Problem("target", gettext("The target did not answer: %(error)s") % {"error": exc})
            ]
        return []
