"""A real PostgreSQL target for the connector tests: a private cluster of the machine's own
PostgreSQL binaries, started once per test session, that requires a password (SCRAM) over
TCP, as a production target's pg_hba.conf does. (The shared test server trusts every local
login, so it could not show that PostgreSQL refuses a password login after VALID UNTIL.)

The portal's user on it, ``portal_admin``, is not a superuser: it has exactly what
docs/connectors.md asks for (CREATEROLE, pg_signal_backend, USAGE and table privileges WITH
GRANT OPTION), so the tests prove that list is enough. It connects over the cluster's Unix
socket; grant holders connect over TCP to 127.0.0.1 with their password.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

import psycopg


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found and "postgresql" in found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise FileNotFoundError(f"PostgreSQL's {name} is not installed")
    return candidates[-1]


def available() -> bool:
    try:
        _bin("initdb")
    except FileNotFoundError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the ``postgres`` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@dataclass
class Cluster:
    root: str
    port: int

    @property
    def socket_dir(self) -> str:
        return self.root

    def superuser(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=self.socket_dir, port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def portal_url(self, database: str) -> str:
        """The URL the portal's target names (its own user, over the socket)."""
        return f"postgresql://portal_admin@/{database}?host={self.socket_dir}&port={self.port}"

    def holder_connect(self, database: str, user: str, password: str) -> psycopg.Connection:
        """A grant holder's connection: TCP, password required."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=user,
            password=password,
            dbname=database,
            connect_timeout=5,
            autocommit=True,
        )

    def create_target_database(self, name: str) -> None:
        """A database holding a table of personal data, and the portal's user with what it
        needs there."""
        with self.superuser() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'portal_admin'")
            if exists.fetchone() is None:
                conn.execute("CREATE ROLE portal_admin LOGIN CREATEROLE")
                conn.execute("GRANT pg_signal_backend TO portal_admin")
        with self.superuser(name) as conn:
            conn.execute(
                "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, "
                "email text NOT NULL, birth_date date)"
            )
            conn.execute(
                "INSERT INTO customers (name, email, birth_date) VALUES "
                "('Ada Lovelace', 'ada@example.org', '1815-12-10'), "
                "('Alan Turing', 'alan@example.org', '1912-06-23')"
            )
            conn.execute("CREATE SCHEMA hidden")
            conn.execute("CREATE TABLE hidden.secrets (id int)")
            conn.execute("REVOKE ALL ON SCHEMA hidden FROM PUBLIC")
            conn.execute("GRANT USAGE ON SCHEMA public TO portal_admin WITH GRANT OPTION")
            conn.execute(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO portal_admin "
                "WITH GRANT OPTION"
            )
            conn.execute("GRANT USAGE ON SEQUENCE customers_id_seq TO portal_admin")

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([_bin("pg_ctl"), "-D", f"{self.root}/data", "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Cluster:
    root = tempfile.mkdtemp(prefix="jp-pgtarget-")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [
                _bin("initdb"),
                "-D",
                f"{root}/data",
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-N",
            ]
        ),
        capture_output=True,
        check=True,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres(
            [
                _bin("pg_ctl"),
                "-D",
                f"{root}/data",
                "-o",
                options,
                "-l",
                f"{root}/log",
                "-w",
                "start",
            ]
        ),
        capture_output=True,
        check=True,
    )
    cluster = Cluster(root=root, port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            cluster.superuser().close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return cluster
