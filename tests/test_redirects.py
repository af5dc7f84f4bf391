"""Redirects stay on the site: every next, back or return parameter (OWASP: Unvalidated
Redirects and Forwards).

The walk finds, at run time, every mounted URL that reads such a parameter (it echoes a
harmless marker into its Location, a link, a form or a hidden field), then sends each of
them hostile values by GET and by POST and checks the Location header and every link,
form action and hidden return field of the answer.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from apps.access.models import AccessRequest, RequestStatus
from jitportal.redirects import REDIRECT_PARAMETERS, is_safe_next_url, safe_next_url
from tests.factories import UserFactory
from tests.urlwalk import site_urls

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
HOST = "testserver"
# Names pages use for "where to go afterwards", Django's and common ones alike.
NAMES = (*REDIRECT_PARAMETERS, "return", "redirect_to", "success_url", "came_from")
HOSTILE = (
    "//evil.example/phish",
    "/\\evil.example/phish",
    "\\\\evil.example/phish",
    "///evil.example/phish",
    "https://evil.example/phish",
    "http:evil.example",
    "https:/evil.example",
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "/\t/evil.example/phish",
    "/\n/evil.example/phish",
    "\x01//evil.example/phish",
    "\x00//evil.example/phish",
    "\u200b//evil.example/phish",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https://testserver.evil.example/",
    "https://testserver@evil.example/",
)
MARKER = "/h10-marker/here/"
_CONTROL = re.compile(r"[\x00-\x20\u200b-\u200f\ufeff]")


def _leaves_site(base: str, value: str) -> bool:
    """Whether a browser following ``value`` from ``base`` would end up off the site, or
    run a script. Browsers drop tabs and newlines and trim control characters first."""
    cleaned = _CONTROL.sub("", value.replace("\\", "/"))
    target = urlsplit(urljoin(base, cleaned))
    return target.scheme not in {"http", "https"} or target.netloc != HOST


def _is_hostile(value: str) -> bool:
    lowered = _CONTROL.sub("", value).lower()
    return "evil.example" in lowered or lowered.startswith(("javascript:", "data:", "vbscript:"))


class _Targets(HTMLParser):
    """Every place a page can send someone: links, form actions, hidden return fields."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href") is not None:
            self.targets.append(a["href"])
        elif tag == "form" and a.get("action"):
            self.targets.append(a["action"])
        elif tag == "input" and a.get("name") in NAMES and a.get("value"):
            self.targets.append(a["value"])
        elif tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            self.targets.append((a.get("content") or "").partition("url=")[2])


def _problems(path: str, response) -> list[str]:
    base = f"http://{HOST}{path}"
    found = []
    location = response.get("Location")
    if location is not None and _leaves_site(base, location):
        found.append(f"Location: {location!r}")
    if response.get("Content-Type", "").startswith("text/html") and not getattr(
        response, "streaming", False
    ):
        parser = _Targets()
        parser.feed(response.content.decode(errors="replace"))
        found += [
            f"link: {t!r}" for t in parser.targets if _is_hostile(t) and _leaves_site(base, t)
        ]
    return found


def _echoes(response, marker: str) -> bool:
    if marker in response.get("Location", ""):
        return True
    if getattr(response, "streaming", False):
        return False
    return marker in response.content.decode(errors="replace")


# --- the helper -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_targets_are_refused(value):
    request = RequestFactory().get("/", {"next": value})
    assert not is_safe_next_url(request, value)
    assert safe_next_url(request, "/fallback/") == "/fallback/"


@pytest.mark.parametrize(
    "value",
    ["/admin/", "/admin/access/accessrequest/queue/?p=2", "requests/3/", "http://testserver/"],
)
def test_places_on_the_site_are_kept(value):
    request = RequestFactory().get("/", {"next": value})
    assert safe_next_url(request, "/fallback/") == value


def test_https_sites_refuse_plain_http_targets():
    request = RequestFactory().get("/", {"next": "http://testserver/admin/"}, secure=True)
    assert safe_next_url(request, "/fallback/") == "/fallback/"


# --- the example ----------------------------------------------------------------------------


@pytest.fixture
def pending(groups, approver):
    """A request from a staff member, waiting for an approver."""
    from datetime import timedelta

    from django.contrib.auth.models import Group
    from django.utils import timezone

    from apps.access import services
    from tests.access.factories import AccessRoleFactory
    from tests.factories import DataAssetFactory

    role = AccessRoleFactory(
        name="Support read",
        assets=[DataAssetFactory(name="Customer records")],
        approver_groups=[Group.objects.get(name="Approvers")],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    now = timezone.now()
    return services.access_request_submit(
        requester=UserFactory(username="staff-r", groups=["Staff"]),
        role=role,
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        justification="Follow-up on a ticket.",
    )


def test_approving_with_an_offsite_next_stays_on_the_site(client, approver, pending):
    # given an approver sent a decide link whose next points elsewhere
    client.force_login(approver)
    url = reverse("admin:access_accessrequest_decide", args=[pending.pk, "approve"])
    hostile = {"next": "//evil.example/phish"}
    # when they open it, the Back and Cancel links stay on the site
    page = client.get(url, hostile)
    assert page.status_code == 200
    assert b"evil.example" not in page.content
    # and when they approve, the redirect goes to their queue, not elsewhere
    response = client.post(f"{url}?{urlencode(hostile)}", {"comment": "ok", **hostile})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:access_accessrequest_queue")
    pending.refresh_from_db()
    assert pending.status == RequestStatus.APPROVED


def test_a_next_on_the_site_is_still_followed(client, approver, pending):
    client.force_login(approver)
    url = reverse("admin:access_accessrequest_decide", args=[pending.pk, "deny"])
    back = reverse("admin:access_accessrequest_change", args=[pending.pk])
    response = client.post(f"{url}?next={back}", {"reason": "Not needed for this ticket."})
    assert response.status_code == 302 and response["Location"] == back


# --- the kind: every URL that reads such a parameter ------------------------------------------


@pytest.fixture
def world(db, groups):
    call_command("load_demo", "--force", stdout=io.StringIO(), stderr=io.StringIO())
    root = UserFactory(username="root-r", is_staff=True, is_superuser=True)
    owner = AccessRequest.objects.order_by("pk").first().requester
    return [root, owner]


_STOCK_ADMIN_VIEWS = ("_changelist", "_add", "_change", "_history", "_delete", "_auditlog")


def _send(client, user, method: str, path: str, params: dict):
    client.force_login(user)  # logout pages end the session; every request starts signed in
    if method == "get":
        return client.get(path, params)
    return client.post(f"{path}?{urlencode(params)}", params)


def test_no_url_sends_anyone_off_the_site(client, world):
    # given every mounted URL, for the superuser and for a staff member with requests
    marker = dict.fromkeys(NAMES, MARKER)
    readers: list[tuple] = []
    root, owner = world
    for url in site_urls():
        # admin pages as the superuser (who sees them all); the portal also as its user
        users = [root] if url.path.startswith("/admin/") else [root, owner]
        methods = ["get"]
        if not url.name.endswith(_STOCK_ADMIN_VIEWS):
            methods.append("post")  # Django's own model pages take no return parameter
        for user in users:
            for method in methods:
                response = _send(client, user, method, url.path, marker)
                if _echoes(response, MARKER):
                    readers.append((user, method, url.path))
    # then the walk found the pages that read a return parameter (it must find some)
    decide = reverse("admin:access_accessrequest_decide", args=[1, "approve"]).split("/1/")[0]
    assert any(decide in path for _, _, path in readers), readers
    assert any(path == reverse("login") for _, _, path in readers)
    # and when each is sent hostile values, nothing points off the site
    problems = {}
    for user, method, path in readers:
        for value in HOSTILE:
            response = _send(client, user, method, path, dict.fromkeys(NAMES, value))
            found = _problems(path, response)
            if found:
                problems[(user.username, method, path, value)] = found
    assert not problems, problems


def test_no_code_reads_a_return_parameter_but_the_helper():
    # Request parameters naming where to go next are read only by jitportal/redirects.py.
    names = "|".join(NAMES)
    pattern = re.compile(rf"""(GET|POST|query_params|data)\s*(\.get\(|\[)\s*["']({names})["']""")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("apps", "jitportal")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "redirects.py"
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not offenders, offenders
