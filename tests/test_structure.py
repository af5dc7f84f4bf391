"""The shape of the code a newcomer relies on (docs/architecture.md, "The dependency rule"
and "Services, selectors, tasks"): imports between apps point one way, services queue tasks
by name instead of importing them, and no module grows past what one person can read."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"

#: Which apps each app may import (besides itself). The demo app sits on top of the graph.
ALLOWED: dict[str, set[str]] = {
    "integrations": set(),
    "signin": set(),
    "audit": {"integrations"},
    "inventory": {"audit"},
    "access": {"inventory", "audit", "signin"},
    "retention": {"inventory", "audit", "signin"},
    "crm": {"access", "inventory", "audit"},
    "webhooks": {"audit", "integrations"},
    "connectors": {"access", "inventory", "audit", "signin", "webhooks"},
    "reports": {
        "access",
        "audit",
        "connectors",
        "crm",
        "integrations",
        "inventory",
        "retention",
        "webhooks",
    },
    "api": {"access", "inventory", "audit", "integrations", "reports", "signin", "connectors"},
    "health": {
        "access",
        "retention",
        "inventory",
        "audit",
        "integrations",
        "reports",
        "signin",
        "connectors",
        "webhooks",
    },
    "agents": {"access", "inventory", "integrations"},
    "chat": {"access", "inventory", "audit"},
    "demo": {
        "access",
        "retention",
        "inventory",
        "audit",
        "integrations",
        "crm",
        "reports",
        "signin",
        "connectors",
    },
}

#: Longest module, in lines, outside migrations and demo data.
MAX_LINES = 650


def _modules(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*.py") if "migrations" not in p.parts)


def _imported_apps(path: Path) -> set[tuple[str, int]]:
    """(app, line) for every ``import apps.X`` / ``from apps.X … import`` in ``path``,
    including imports inside functions (a deferred import is still an arrow)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "apps" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


def test_imports_between_apps_follow_the_dependency_rule():
    # Given every module of every app, when its imports of other apps are read,
    # then each points along an arrow the rule allows.
    wrong = []
    for app_dir in sorted(p for p in APPS.iterdir() if (p / "__init__.py").is_file()):
        app = app_dir.name
        assert app in ALLOWED, f"apps/{app} is missing from the dependency rule"
        for path in _modules(app_dir):
            for other, line in sorted(_imported_apps(path)):
                if other != app and other not in ALLOWED[app]:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports apps.{other}")
    assert not wrong, "\n".join(wrong)


def test_the_shared_package_imports_no_app():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports apps.{other}"
        for path in _modules(ROOT / "jitportal")
        for other, line in sorted(_imported_apps(path))
    ]
    assert not wrong, "\n".join(wrong)


def test_services_import_no_tasks_module():
    # Services queue work by the task's registered name, so services and tasks never
    # import each other.
    wrong = []
    for path in _modules(APPS):
        if "services" not in path.parts and path.stem != "services":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            if any(m.split(".")[-1] == "tasks" for m in modules):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not wrong, "services import a tasks module:\n" + "\n".join(wrong)


def test_no_module_is_longer_than_one_person_can_read():
    too_long = []
    for path in _modules(APPS) + _modules(ROOT / "jitportal"):
        if "demo" in path.parts or path.name == "demo.py":
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not too_long, "\n".join(too_long)


def test_the_demo_loaders_are_called_by_name_not_discovered():
    # load_demo calls each app's loader by name; nothing is found through importlib at run time
    for path in _modules(APPS / "demo"):
        assert "importlib" not in path.read_text(), path


#: Services other services compose: they join the caller's transaction by design.
COMPOSED_SERVICES = {"audit_event_record", "audit_events_record_bulk"}


def _atomic_calls(function: ast.FunctionDef) -> list[ast.Call]:
    calls = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "atomic":
            calls.append(node)
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))


def test_top_level_services_open_a_durable_transaction():
    # A public service that opens a transaction opens it durable=True, so no caller can wrap
    # it in a longer transaction holding its locks (architecture.md, "Services").
    wrong = []
    for path in _modules(APPS):
        if "services" not in path.parts and path.stem != "services":
            continue
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            if node.name in COMPOSED_SERVICES:
                continue
            calls = _atomic_calls(node)  # decorators first: they stand above the body
            if not calls:
                continue
            first = calls[0]
            durable = any(
                k.arg == "durable" and getattr(k.value, "value", None) is True
                for k in first.keywords
            )
            if not durable:
                wrong.append(f"{path.relative_to(ROOT)}:{first.lineno} {node.name}")
    assert not wrong, "\n".join(wrong)
