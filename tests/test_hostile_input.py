"""Input a database, ``int()`` or a person's screen cannot take never gives a 500.

Walks, at run time, every admin changelist registered on the site (its list filters and their
parameters, search, ordering, page) and every page of the URL resolver (portal, reports and
admin custom pages, third-party admins included), sending each parameter and form field the
values below, as a superuser and as the roles that may see the page. Any 500 (an exception
raised by the view) fails the test with the list of URLs that failed.

Searches, too: every admin changelist with a search box, every page that shows one and
every query parameter of the API refuse a search with a control character or over the
length the search rule takes (jitportal.inputs.search_problem), with a message and without
running it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from apps.inventory.models import DataAsset
from jitportal.inputs import SEARCH_MAX_LENGTH
from tests.access.factories import GrantFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

#: Values of each kind: NUL, out of range, Unicode digits, calendar ends, invisible text,
#: terminal control sequences.
HOSTILE = [
    "\x00",
    "1\x00",
    "99999999999999999999",
    "-99999999999999999999",
    "²",
    "٣",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59",
    "\u200b",
    "\x1b[2J",
    "1e400",
]

#: Pages that end the session or delete what they show: posting to them is not a probe.
SKIP_POST = re.compile(r"(/logout/|/delete/|/password/)")


def _send(client: Client, method: str, url: str, data: Any = None) -> Any:
    """One request in its own savepoint, so a database error does not end the test's
    transaction; returns the response or the exception the view raised.

    A plain savepoint, not an ``atomic()`` block: services open durable transactions, which
    refuse to run inside another atomic block (the test case's own is allowed)."""
    savepoint = transaction.savepoint()
    try:
        response = client.get(url) if method == "GET" else client.post(url, data or {})
        if getattr(response, "streaming", False):
            # A download fails while it streams: read it to the end.
            response.streamed = b"".join(response.streaming_content)
    except Exception as exc:
        transaction.savepoint_rollback(savepoint)
        return exc
    if response.status_code >= 500:
        transaction.savepoint_rollback(savepoint)
    else:
        transaction.savepoint_commit(savepoint)
    return response


def _failed(response: Any) -> bool:
    return isinstance(response, Exception) or response.status_code >= 500


def _describe(method: str, url: str, data: Any, response: Any) -> str:
    shown = response if isinstance(response, Exception) else response.status_code
    return f"{method} {url} {data!r}: {type(shown).__name__} {shown}"


@pytest.fixture
def demo(settings, monkeypatch):
    """The demo organisation, with admin lists of a few rows (the walk reads every list
    hundreds of times; what it probes is the parameters, not the rendering of rows)."""
    call_command("load_demo", "--force", stdout=StringIO())
    for model_admin in admin.site._registry.values():
        monkeypatch.setattr(model_admin, "list_per_page", 5)


def _users() -> list[Any]:
    superuser = UserFactory(username="walker-root", is_staff=True, is_superuser=True)
    dpo = UserFactory(username="walker-dpo", groups=["DPO"], is_staff=True)
    auditor = UserFactory(username="walker-auditor", groups=["Auditors"], is_staff=True)
    approver = UserFactory(username="walker-approver", groups=["Approvers"], is_staff=True)
    staff = UserFactory(username="walker-staff", groups=["Staff"])
    return [superuser, dpo, auditor, approver, staff]


def _changelist_parameters(model_admin: admin.ModelAdmin, user: Any) -> list[str]:
    """Every query parameter the changelist reads for ``user``: its filters' expected
    parameters (discovered from the ModelAdmin's list filters), date hierarchy, search,
    ordering and page."""
    request = RequestFactory().get("/")
    request.user = user
    names = [SEARCH_VAR, ORDER_VAR, PAGE_VAR]
    try:
        changelist = model_admin.get_changelist_instance(request)
    except Exception as exc:
        raise AssertionError(f"{model_admin}: changelist without parameters failed: {exc}") from exc
    for spec in changelist.filter_specs:
        names.extend(spec.expected_parameters() or [])
    if model_admin.date_hierarchy:
        field = model_admin.date_hierarchy
        names.extend(f"{field}__{part}" for part in ("year", "month", "day"))
    return names


def test_every_admin_changelist_answers_hostile_parameters_without_a_500(demo, client):
    # given the demo organisation and users of every role
    failures: list[str] = []
    requests = 0
    probed: set[tuple[str, str]] = set()
    for user in _users():
        client.force_login(user)
        # when every changelist the user may see gets each hostile value in each parameter
        for model, model_admin in admin.site._registry.items():
            if not model._meta.managed:
                continue  # no rows, no changelist: its pages are walked with the resolver
            request = RequestFactory().get("/")
            request.user = user
            if not (
                model_admin.has_view_permission(request)
                or model_admin.has_change_permission(request)
            ):
                continue
            opts = model._meta
            url = f"/admin/{opts.app_label}/{opts.model_name}/"
            for name in _changelist_parameters(model_admin, user):
                if (url, name) in probed:
                    continue  # a parameter another role's walk already tried
                probed.add((url, name))
                for value in HOSTILE:
                    full = f"{url}?{urlencode({name: value})}"
                    response = _send(client, "GET", full)
                    requests += 1
                    if _failed(response):
                        failures.append(_describe("GET", full, None, response))
    # then none of them fails
    assert requests > 300
    assert not failures, "\n".join(failures)


# --- every page of the URL resolver --------------------------------------------------------

_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")
_FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            yield prefix + route


def _concrete(route: str, object_ids: dict[str, str]) -> list[str]:
    """URLs for a route: each path parameter filled with an existing id, then with hostile
    ids. Regex routes (the admin's catch-all, app index) get a plain value."""
    route = route.lstrip("^").rstrip("$")
    if "(?P<" in route:
        route = _REGEX_GROUP.sub(lambda m: "inventory" if m.group(1) == "app_label" else "x", route)
    names = _PARAM.findall(route)
    if not names:
        return ["/" + route]
    found = object_ids.get(route.split("<")[0], "1")
    urls = ["/" + _PARAM.sub(lambda m: found if m.group("conv") != "str" else "x", route)]
    for value in ("99999999999999999999", "0"):
        urls.append("/" + _PARAM.sub(lambda m, v=value: v, route))
    return urls


def _object_ids() -> dict[str, str]:
    """One existing primary key per admin model, by the route prefix of its pages."""
    ids = {}
    for model in admin.site._registry:
        if not model._meta.managed:
            continue
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if first is not None:
            ids[f"admin/{model._meta.app_label}/{model._meta.model_name}/"] = str(first)
    return ids


#: Values each page's parameters and fields get, all at once (one kind per request).
PAGE_VALUES = ["1\x00", "99999999999999999999", "²", "9999-12-31", "\u200b", "\x1b[2J"]
#: The standard admin model pages: their fields are probed all at once; other pages (portal,
#: reports, custom admin views) one parameter at a time as well.
STANDARD_ADMIN = re.compile(r"^/admin/\w+/\w+/(add/|[^/]+/(change|history|delete)/)?$")


def test_every_page_answers_hostile_parameters_and_fields_without_a_500(demo, client):
    # given the demo organisation, one user per role and every route of the site
    routes = sorted(set(_patterns(get_resolver())))
    object_ids = _object_ids()
    failures: list[str] = []
    requests = 0

    def probe(method: str, url: str, data: Any = None) -> Any:
        nonlocal requests
        requests += 1
        response = _send(client, method, url, data)
        if _failed(response):
            failures.append(_describe(method, url, data, response))
        return response

    for user in _users():
        client.force_login(user)
        for route in routes:
            if route == "health/ready/":
                # Answers 500 by design while a service is down (beat never runs here);
                # tests/health/test_endpoints.py sends it hostile values itself.
                continue
            urls = _concrete(route, object_ids)
            for url in urls[1:]:
                probe("GET", url)  # ids out of range or zero in the path
            url = urls[0]
            if "/logout/" in url:
                continue
            # when the page is read, its form fields discovered from what it renders
            page = probe("GET", url)
            if _failed(page) or page.status_code != 200:
                continue
            if getattr(page, "streaming", False):
                continue  # a download: its parameters are probed from the page that links it
            body = page.content.decode(errors="replace")
            fields = set(_FIELD.findall(body)) - {"csrfmiddlewaretoken"}
            params = fields | {"p", "page", "q", "next", "format", "o"}
            # and its parameters and fields get hostile values: all at once in the query and
            # in a post (every role), and one parameter at a time (superuser, custom pages)
            values = PAGE_VALUES if user.is_superuser else ["²"]
            singles = user.is_superuser and not STANDARD_ADMIN.match(url)
            for value in values:
                probe("GET", f"{url}?{urlencode(dict.fromkeys(params, value))}")
                if fields and not SKIP_POST.search(url):
                    probe("POST", url, dict.fromkeys(fields, value))
                for name in sorted(params) if singles else []:
                    probe("GET", f"{url}?{urlencode({name: value})}")
    # then no page fails
    assert requests > 1000
    assert not failures, "\n".join(failures)


# --- searches ------------------------------------------------------------------------------

#: A word every bad search holds: a query that ran the search would carry it to the database.
MARK = "zqxsearch"
#: Searches no search box runs: a terminal control sequence, a right-to-left override, DEL,
#: a line break, and one character more than the search rule takes.
BAD_SEARCHES = [
    f"{MARK}\x1b[2J",
    f"{MARK}\u202e",
    f"{MARK}\x7f",
    f"{MARK}\nnext",
    MARK + "x" * (SEARCH_MAX_LENGTH + 1 - len(MARK)),
]
NOT_RUN = "The search was not run."


def _search_answers(client: Client, url: str, name: str = "q") -> list[str]:
    """What is wrong with how ``url`` answers each bad search in ``name`` (a page): it must
    be sent back to itself without the search (other parameters kept), say why, and run no
    query with the search in it."""
    wrong = []
    for value in BAD_SEARCHES:
        full = f"{url}?{urlencode({name: value, 'o': '1'})}"
        with CaptureQueriesContext(connection) as queries:
            response = _send(client, "GET", full)
        if any(MARK in query["sql"] for query in queries.captured_queries):
            wrong.append(f"{full!r}: the search was run")
        if _failed(response) or response.status_code != 302:
            wrong.append(f"{full!r}: {getattr(response, 'status_code', response)}, not 302")
            continue
        if response["Location"] != f"{url}?o=1":
            wrong.append(f"{full!r}: sent to {response['Location']}")
            continue
        shown = client.get(response["Location"]).content.decode()
        if NOT_RUN not in shown:
            wrong.append(f"{full!r}: the page does not say why")
    return wrong


def test_every_admin_changelist_with_a_search_refuses_a_bad_search_without_running_it(demo, client):
    # given every admin changelist that has a search box
    superuser = _users()[0]
    client.force_login(superuser)
    request = RequestFactory().get("/")
    request.user = superuser
    searched = [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.managed and model_admin.get_search_fields(request)
    ]
    assert len(searched) > 15, "the walk found the changelists"
    wrong = []
    for model, _model_admin in searched:
        # when its search holds a control character or is too long
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        # then the list is shown again without it, saying why, and the search never ran
        wrong += _search_answers(client, url)
    # and the admin's autocomplete (the search of a related field) answers the same
    for value in BAD_SEARCHES:
        response = client.get("/admin/autocomplete/", {"term": value})
        if response.status_code != 400 or NOT_RUN not in response.json()["error"]:
            wrong.append(f"autocomplete {value!r}: {response.status_code}")
    assert wrong == []


def test_every_page_with_a_search_box_refuses_a_bad_search_without_running_it(demo, client):
    # given every page of the site, read by a superuser, an approver, and a member of staff
    # with a live grant on every asset (the governed lists show their search box then)
    users = _users()
    for asset in DataAsset.objects.all():
        GrantFactory(user=users[-1], assets=[asset])
    changelist = re.compile(r"^/admin/\w+/\w+/$")
    routes = sorted(set(_patterns(get_resolver())))
    object_ids = _object_ids()
    boxes: list[str] = []
    wrong: list[str] = []
    for user in (users[0], users[3], users[4]):
        client.force_login(user)
        for route in routes:
            url = _concrete(route, object_ids)[0]
            if changelist.match(url) or "/logout/" in url or route == "health/ready/":
                continue  # changelists: the test above
            page = _send(client, "GET", url)
            if _failed(page) or page.status_code != 200 or getattr(page, "streaming", False):
                continue
            # when a page that shows a search box gets a bad search
            if "q" in _FIELD.findall(page.content.decode(errors="replace")):
                boxes.append(url)
                # then it is shown again without it, saying why, and the search never ran
                wrong += _search_answers(client, url)
    assert {"/records/", "/records/tickets/", "/admin/access/accessrequest/queue/"} <= set(boxes), (
        boxes
    )
    assert wrong == []


def _api_reads() -> Iterator[tuple[str, list[str]]]:
    """Every GET of the API's schema with its query parameters: (path, names)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        names = [p["name"] for p in (get or {}).get("parameters", []) if p["in"] == "query"]
        if names:
            yield re.sub(r"\{[^}]+\}", "1", path), names


def test_every_api_search_and_filter_parameter_refuses_a_bad_value_without_running_it(demo, client):
    # given every read of the API that takes query parameters, and a signed-in superuser
    client.force_login(_users()[0])
    reads = list(_api_reads())
    assert sum("q" in names for _path, names in reads) >= 3, reads
    wrong = []
    for path, names in reads:
        for name in names:
            for value in BAD_SEARCHES:
                # when a parameter holds a control character or is too long
                with CaptureQueriesContext(connection) as queries:
                    response = _send(client, "GET", f"{path}?{urlencode({name: value})}")
                # then it is a 400 problem naming the parameter, and the value never ran
                body = {} if _failed(response) else response.json()
                errors = body.get("errors") or [{}]
                if (
                    getattr(response, "status_code", 500) != 400
                    or errors[0].get("pointer") != f"#/{name}"
                    or any(MARK in query["sql"] for query in queries.captured_queries)
                ):
                    wrong.append(f"{path}?{name}={value[:20]!r}: {_describe_api(response)}")
    assert wrong == []


def _describe_api(response: Any) -> str:
    if isinstance(response, Exception):
        return f"{type(response).__name__} {response}"
    return f"{response.status_code} {response.content[:200]!r}"
