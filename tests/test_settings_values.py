"""Every number and URL the settings read from the environment has a declared range or
scheme, and a value outside it stops the start with one line naming the variable, the
value and what is allowed (jitportal/settings/base.py, ``StrictEnv``)."""

import json
import os
import re
import subprocess
import sys
from functools import cache

import pytest

from tests.test_settings import GOOD, ROOT

#: Loads the production settings once per case in one process (fresh modules each time)
#: and prints, per case, "ok" or the refusal; the declared ranges come with the first case.
_PROBE = r"""
import json, os, sys
from django.core.exceptions import ImproperlyConfigured
cases = json.load(sys.stdin)
base = dict(os.environ)
out = []
for case in cases:
    os.environ.clear()
    os.environ.update(base)
    os.environ.update(case)
    for name in [m for m in sys.modules if m.startswith("jitportal.settings.")]:
        del sys.modules[name]
    try:
        import jitportal.settings.production as s
    except ImproperlyConfigured as exc:
        out.append({"result": "refused", "message": str(exc)})
    except Exception as exc:
        out.append({"result": "crashed", "message": f"{type(exc).__name__}: {exc}"})
    else:
        out.append({"result": "ok", "declared": s.env.declared})
print(json.dumps(out))
"""

#: Names of variables whose value is a URL (or a list of origins).
_URL_NAME = re.compile(r"_(URL|ENDPOINT|ISSUER|DSN|ORIGINS)$")
#: Named like one but not a URL: the admin's path (refused by its own rule) and a name.
_NOT_URLS = {"ADMIN_URL", "OTP_TOTP_ISSUER"}


def _is_url_name(name: str) -> bool:
    return bool(_URL_NAME.search(name)) and name not in _NOT_URLS


def _probe(cases: list[dict[str, str]]) -> list[dict]:
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    for name in list(base):
        if name in GOOD or _URL_NAME.search(name):
            del base[name]
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env={**base, **GOOD},
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _source_reads() -> dict[str, set[str]]:
    """Every ``env.<method>("NAME"`` (and plain ``env("NAME"``) in the settings source, by
    variable name: the methods reading it."""
    reads: dict[str, set[str]] = {}
    for path in sorted((ROOT / "jitportal" / "settings").glob("*.py")):
        text = path.read_text()
        for method, name in re.findall(r"""\benv(?:\.(\w+))?\(\s*["']([A-Z0-9_]+)["']""", text):
            reads.setdefault(name, set()).add(method or "str")
    return reads


@cache
def _declared() -> dict[str, dict]:
    (loaded,) = _probe([{}])
    assert loaded["result"] == "ok", loaded
    return loaded["declared"]


#: The numbers for which 0 means something (each says what); every other one refuses 0.
ZERO_ALLOWED = {
    "CONN_MAX_AGE": "a new database connection per request",
    "JITPORTAL_RECONCILE_HELPERS": "no helper runs",
    "JITPORTAL_PURGE_FOUR_EYES_THRESHOLD": "every first real run needs a second person",
    "AXES_COOLOFF_MINUTES": "locked until an admin unlocks",
    "TRUSTED_PROXY_COUNT": "no proxy: the TCP peer is the client",
    "SENTRY_TRACES_SAMPLE_RATE": "no performance traces",
    "SECURE_HSTS_SECONDS": "no HSTS (the deploy checks warn)",
}


def _number_cases(name: str, spec: dict) -> list[tuple[str, bool]]:
    """(value, refused?) for a number variable: not a number, zero and negative where the
    range excludes them, just outside both ends, and both ends themselves."""
    low, high = spec["low"], spec["high"]
    cases = [("abc", True), ("", False), (str(low), False), (str(high), False)]
    cases += [(str(low - 1), True), (str(high + 1), True), ("-1", low > -1)]
    cases.append(("0", name not in ZERO_ALLOWED))
    cases += [("2.5", True)] if spec["kind"] == "int" else [("nan", True), ("inf", True)]
    return cases


def _url_cases(name: str, spec: dict) -> list[tuple[str, bool]]:
    """(value, refused?) for a URL variable: no URL at all, a script, a local file, a cloud
    metadata address where plain http is not allowed everywhere, and a scheme missing."""
    cases = [
        ("not a url", True),
        ("javascript:alert(1)", True),
        ("file:///etc/passwd", True),
        ("//example.org/x", True),
    ]
    if "http" not in spec["schemes"]:
        cases.append(("http://169.254.169.254/latest/meta-data/", True))
    if "http" in spec["loopback_only"]:
        cases.append(("http://127.0.0.1:9/x/", False))
    if "https" in spec["schemes"]:
        cases += [("https://", True), ("https://public@example.invalid/1", False)]
    return cases


def _all_cases() -> list[tuple[str, str, bool]]:
    found = []
    for name, spec in sorted(_declared().items()):
        make = _number_cases if spec["kind"] in {"int", "float"} else _url_cases
        found += [(name, value, refused) for value, refused in make(name, spec)]
    return found


@cache
def _outcomes() -> dict[tuple[str, str], dict]:
    cases = _all_cases()
    results = _probe([{name: value} for name, value, _refused in cases])
    return {
        (name, value): outcome for (name, value, _r), outcome in zip(cases, results, strict=True)
    }


def test_every_number_and_url_read_declares_what_it_allows():
    # given every number and URL the settings source reads from the environment
    reads = _source_reads()
    numbers = {name for name, methods in reads.items() if methods & {"int", "float"}}
    urls = {name for name in reads if _is_url_name(name)}
    # when the production settings load with their defaults
    declared = _declared()
    # then each was read through the checking helper, with a range or schemes
    assert numbers | urls <= set(declared), sorted((numbers | urls) - set(declared))
    assert {
        name for name in urls if reads[name] - {"url", "url_list", "db_url", "email_url"}
    } == set()
    assert all(spec["low"] <= spec["high"] for spec in declared.values() if "low" in spec)
    # and the walk covers what the review found
    assert {
        "MFA_FRESH_MINUTES",
        "SESSION_IDLE_MINUTES",
        "WEBHOOK_MAX_TRIES",
        "CONNECTORS_ALERT_AFTER_TRIES",
        "CONNECTORS_RETRY_SECONDS",
        "JITPORTAL_INTEGRATION_TOKEN_MAX_DAYS",
        "API_PAGE_SIZE",
        "SLACK_API_URL",
        "PORTAL_BASE_URL",
        "DATABASE_URL",
        "SECURE_HSTS_SECONDS",
    } <= set(declared)


def _checked_names() -> list[str]:
    return sorted(
        name
        for name, methods in _source_reads().items()
        if methods & {"int", "float"} or _is_url_name(name)
    )


@pytest.mark.parametrize("name", _checked_names())
def test_a_value_outside_what_a_variable_allows_stops_the_start(name):
    assert name in _declared()
    outcomes = _outcomes()
    for case_name, value, refused in _all_cases():
        if case_name != name:
            continue
        # given the variable set to the value, when the settings load
        outcome = outcomes[(name, value)]
        assert outcome["result"] != "crashed", (value, outcome)
        message = outcome.get("message", "")
        if refused:
            # then the start stops with one line naming the variable, the value, the range
            assert outcome["result"] == "refused", (value, outcome["result"])
            assert message.startswith(f"{name}="), (value, message)
            assert "\n" not in message and " use " in message, message
        else:
            # then it loads (or stops for another variable's sake, never this one's range)
            assert not message.startswith(f"{name}="), (value, message)


def test_a_refusal_shows_no_credentials():
    # given database URLs carrying a password: of the wrong scheme, and not parseable
    wrong, broken = _probe(
        [
            {"DATABASE_URL": "mysql://portal:s3cret-pw@db/portal"},
            {"DATABASE_URL": "postgres://portal:s3cret-pw@[::1/portal"},
        ]
    )
    # when the settings load, then each refusal names the URL without its password
    for outcome in (wrong, broken):
        assert outcome["result"] == "refused", outcome
        assert "s3cret-pw" not in outcome["message"] and "//***@" in outcome["message"]


def test_manage_py_stops_with_one_clear_line_and_no_value_error():
    # given a page size that is not a number
    base = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", *GOOD}}
    env = {**base, **GOOD, "DJANGO_SETTINGS_MODULE": "jitportal.settings.production"}
    # when Django starts
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "API_PAGE_SIZE": "abc"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then it stops on ImproperlyConfigured naming the variable, not on a bare ValueError
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: API_PAGE_SIZE='abc' is not a number: "
        "use a whole number from 1 to 200"
    )
    assert "ValueError" not in result.stderr
