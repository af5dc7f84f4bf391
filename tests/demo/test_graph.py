"""The demo app sits at the top of the app graph: it imports the apps, no app imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import apps

APPS_DIR = Path(apps.__file__).parent


def _imported_apps(path: Path) -> set[str]:
    """The ``apps.<name>`` packages a module imports (at any depth of the module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "apps" and len(parts) > 1:
                found.add(parts[1])
    return found


def _imports_of(app: str) -> set[str]:
    return set().union(*(_imported_apps(p) for p in (APPS_DIR / app).rglob("*.py"))) - {app}


def test_no_app_imports_the_demo():
    offenders = [
        str(path.relative_to(APPS_DIR.parent))
        for path in sorted(APPS_DIR.rglob("*.py"))
        if path.relative_to(APPS_DIR).parts[0] != "demo" and "demo" in _imported_apps(path)
    ]
    assert offenders == []


def test_retention_imports_neither_access_nor_crm():
    assert _imports_of("retention") & {"access", "crm"} == set()


def test_no_module_is_found_by_name_at_run_time():
    # the demo's loaders are called by name, not discovered through importlib
    for path in (APPS_DIR / "demo").rglob("*.py"):
        assert "importlib" not in path.read_text(), path
