"""Every audit action code, every reason and every actor the portal writes itself reads in
the reader's language (architecture.md, invariant 19). The codes are found by reading every
module of every app, so a new one without a label fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from apps.audit.actions import ACTION_LABELS, SYSTEM_ACTORS, SYSTEM_REASONS
from apps.audit.services import audit_event_record
from tests.factories import UserFactory

APPS = Path(__file__).resolve().parents[2] / "apps"
#: Three or more dotted lower-case words whose first is an app: the shape of an action code.
_ACTION_SHAPE = re.compile(r"^[a-z_]+(?:\.[a-z_]+){2,}$")
_RECORDERS = re.compile(r"audit|EventSpec|send")


def _modules() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(APPS.rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _constants() -> dict[str, str]:
    """Module-level NAME = "text" of every module (LAPSE_COMMENT and the like)."""
    found: dict[str, str] = {}
    for _path, tree in _modules():
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                        found[target.id] = node.value.value
    return found


def _strings(node: ast.AST, constants: dict[str, str]) -> list[str]:
    """The texts an argument can be: a literal, a module constant, either branch of an if."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        return [constants[name]] if name in constants else []
    if isinstance(node, ast.IfExp):
        return _strings(node.body, constants) + _strings(node.orelse, constants)
    return []


def _written(keyword: str) -> dict[str, str]:
    """Each text passed as ``keyword=`` to a call that records an audit event, with where."""
    constants = _constants()
    app_names = {p.name for p in APPS.iterdir() if p.is_dir()} | {"auth"}
    found: dict[str, str] = {}
    for path, tree in _modules():
        where = str(path.relative_to(APPS.parent))
        if path.parts[-3:-1] == ("apps", "demo") or "demo" in path.parts:
            continue  # the demo's reasons are what its people typed
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = ast.unparse(node.func)
            if not _RECORDERS.search(called):
                continue
            for kw in node.keywords:
                if kw.arg == keyword:
                    for text in _strings(kw.value, constants):
                        found.setdefault(text, where)
        if keyword == "action":  # codes written in bulk (EventSpec lists, dict tables)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and _ACTION_SHAPE.match(node.value)
                    and node.value.split(".")[0] in app_names
                    and not _is_dispatch_uid(tree, node)
                ):
                    found.setdefault(node.value, where)
    return found


def _is_dispatch_uid(tree: ast.Module, constant: ast.Constant) -> bool:
    return any(
        isinstance(node, ast.keyword) and node.arg == "dispatch_uid" and node.value is constant
        for node in ast.walk(tree)
    )


def test_every_action_code_the_portal_records_has_a_label():
    # Given every action code any app records, then each one has a label.
    codes = _written("action")
    assert len(codes) > 50, codes  # the scan itself found the trail's vocabulary
    missing = {code: where for code, where in codes.items() if code not in ACTION_LABELS}
    assert not missing, missing
    # and no label waits for a code nobody records any more.
    assert not set(ACTION_LABELS) - set(codes), set(ACTION_LABELS) - set(codes)


def test_every_reason_and_actor_the_portal_writes_itself_reads_in_each_language():
    # Given the reasons written by the portal rather than typed by a person,
    reasons = _written("reason")
    missing = {text: where for text, where in reasons.items() if text not in SYSTEM_REASONS}
    assert not missing, missing
    # and the system actors it names,
    actors = {
        node.value
        for _path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"system:[a-z_]+", node.value)
    }
    assert actors and actors <= set(SYSTEM_ACTORS), actors - set(SYSTEM_ACTORS)


@pytest.mark.parametrize("language", ["de", "fr"])
def test_every_label_is_translated(language):
    # Given German or French, then no label, fixed reason or actor reads as its English.
    for table in (ACTION_LABELS, SYSTEM_REASONS, SYSTEM_ACTORS):
        with translation.override("en"):
            english = {key: str(label) for key, label in table.items()}
        with translation.override(language):
            same = [key for key, label in table.items() if str(label) == english[key]]
        # Names that are the same in every language (Slack) may stay.
        assert set(same) <= {"system:slack"}, same


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "action", "reason", "actor"),
    [
        ("de", "Berechtigung entzogen", "gelöscht", "der Zeitplaner (Celery beat)"),
        ("fr", "Autorisation révoquée", "supprimé", "le planificateur (Celery beat)"),
    ],
)
def test_the_trail_reads_in_the_readers_language(client, language, action, reason, actor):
    # Given events written by the portal itself,
    audit_event_record(action="access.grant.revoked", actor_label="system:beat", reason="deleted")
    dpo = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(dpo)
    # when a German or French DPO reads the trail and one event,
    page = client.get(reverse("admin:audit_auditevent_changelist"), HTTP_ACCEPT_LANGUAGE=language)
    text = page.content.decode()
    # then the action, the fixed reason and the actor read in their language, with the code
    # kept beside the action for search,
    assert action in text and reason in text and actor in text, text[:0]
    assert "access.grant.revoked" in text
    # and the action filter offers the label.
    assert text.count(action) >= 2
