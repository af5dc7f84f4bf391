"""The retention app's services follow the project's convention (architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import transaction

import apps.retention.services as services_package
from apps.retention.services import legal_hold_lift, purge_run_stop_request

SERVICES = Path(services_package.__file__).parent


def test_services_import_no_tasks_module():
    # Given every module of the services package, then none imports a tasks module:
    # the run task is queued by its registered name.
    for path in SERVICES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(a.name for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n == "tasks" or n.endswith(".tasks") for n in names), path.name


@pytest.mark.django_db
@pytest.mark.parametrize(
    "call",
    [
        lambda: legal_hold_lift(hold_id=1, actor=None, reason="Settled"),
        lambda: purge_run_stop_request(run_id=1, actor=None),
    ],
)
def test_a_service_refuses_to_run_inside_a_callers_transaction(call):
    # Given a caller's own transaction, then a top-level service does not join it.
    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        call()
