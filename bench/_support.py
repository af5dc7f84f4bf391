"""What every benchmark in this folder shares.

- ``bench_database(name)``: a dedicated PostgreSQL database for one benchmark, created,
  migrated and Django pointed at it; dropped on the way out, also when the benchmark fails.
- ``django_setup(name)``: point Django at an existing benchmark database (for the child
  processes that measure one run each).
- ``run_child(script, *args)``: run ``script --child *args`` in a fresh interpreter and
  return the JSON object it printed last.
- ``median_of(fn, repeats)``, ``peak_rss_kb()``: the measurements.
- ``checkpoint()``: a CHECKPOINT before a timed statement, so runs start from the same WAL state.
- ``report(...)``: print one line ``bench <name>: <value> <unit> ratio=<r> baseline=<...>``.

The server is ``BENCH_PG_URL`` (default ``postgres://postgres@127.0.0.1:5432``, user with
CREATE DATABASE). Importing this module puts the repository root on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
TEST_SETTINGS = "jitportal.settings.test"


def django_setup(name: str, *, force_test_settings: bool = False) -> None:
    """Point ``DATABASE_URL`` at database ``name`` on ``BENCH_PG_URL`` and set Django up.

    The settings module is ``DJANGO_SETTINGS_MODULE`` when set, else the test settings;
    ``force_test_settings`` uses the test settings whatever the environment says.
    """
    os.environ["DATABASE_URL"] = f"{PG_URL}/{name}"
    if force_test_settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = TEST_SETTINGS
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", TEST_SETTINGS)
    import django

    django.setup()


def _on_server(*statements: str) -> None:
    """Run statements outside any transaction on the server's ``postgres`` database."""
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)


@contextmanager
def bench_database(name: str, *, force_test_settings: bool = False) -> Iterator[None]:
    """A fresh, migrated database ``name`` with Django set up on it, for the ``with`` block.

    A database of that name left by an interrupted run is dropped first. On the way out
    (normal or not) Django's connections are closed and the database is dropped.
    """
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    _on_server(drop, f'CREATE DATABASE "{name}"')
    try:
        django_setup(name, force_test_settings=force_test_settings)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        from django.db import connections

        connections.close_all()
        _on_server(drop)


def run_child(script: str, *args: str) -> dict[str, Any]:
    """Run ``script --child *args`` with this interpreter and environment, from the
    repository root; return the JSON object on the last line of its output.

    A child that fails stops the benchmark with the end of its stderr."""
    out = subprocess.run(  # noqa: S603 - a script of this folder, with fixed arguments
        [sys.executable, script, "--child", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(
            f"{Path(script).name} --child {' '.join(args)} failed:\n{out.stderr[-3000:]}"
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def checkpoint() -> bool:
    """Run a PostgreSQL CHECKPOINT on Django's connection before a timed statement.

    After a checkpoint, the first change to each page writes the whole page to the WAL. A
    checkpoint that falls inside one timed run and not the other (the server starts one
    every few hundred MB of WAL) moved the purge ratios by up to 2x from run to run; with one
    just before each, the raw statement and the engine start from the same state. Needs a
    superuser or the pg_checkpoint role: returns False (and changes nothing) without it.
    """
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        return False
    return True


def median_of(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time in seconds of ``repeats`` calls of ``fn``."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def peak_rss_kb() -> int:
    """Peak resident set size of this process so far, in KiB (Linux ``ru_maxrss``)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def report(
    name: str,
    value: float,
    unit: str,
    ratio: float,
    baseline: str,
    *,
    value_format: str = ".2f",
    ratio_format: str = ".2f",
) -> None:
    """Print ``bench <name>: <value> <unit> ratio=<ratio> baseline=<baseline>``.

    ``baseline`` says what the ratio is against (and may carry notes after it); the two
    format specs are those of ``format()``, e.g. ``".1f"`` or ``",.0f"``.
    """
    print(
        f"bench {name}: {value:{value_format}} {unit} ratio={ratio:{ratio_format}} "
        f"baseline={baseline}",
        flush=True,
    )
