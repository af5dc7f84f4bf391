"""Every portal form: an error goes under the field whose value is wrong and nowhere else, and
it is gone once that field is corrected and the form is sent again.

The form pages are discovered from the URL resolver at run time: a new portal page with a form
fails ``test_every_portal_form_has_its_cases`` until its cases are written below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, RequestStatus
from apps.crm.models import Customer, SupportTicket
from tests.access.test_views import (  # noqa: F401 (fixtures)
    FMT,
    activity,
    approved_grant,
    approvers,
    client_staff,
    orders,
    role,
    submit,
)
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def _later(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).strftime(FMT)


def _portal_routes() -> list[tuple[str, bool]]:
    """(URL name, takes a pk) of every named route outside the admin and the REST API (whose
    answers to the same bad input are the pages' own: tests/api/test_same_messages.py)."""
    found: list[tuple[str, bool]] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if route.startswith(("admin/", "api/")):
                continue
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, route, inner)
            elif isinstance(entry, URLPattern) and entry.name:
                found.append((namespace + entry.name, "<" in route))

    walk(get_resolver().url_patterns, "", "")
    return found


# Each case: (field that must carry the error, what is sent wrong, what is sent to correct it).
Case = tuple[str, dict[str, Any], dict[str, Any]]

REQUEST_CASES: list[Case] = [
    ("target", {"target": ""}, {}),
    ("target", {"target": "role-987654"}, {}),
    ("start", {"start": "yesterday"}, {}),
    (
        "starts_at",
        {"start": "later", "starts_at": lambda: _later(hours=-2)},
        {"start": "later", "starts_at": lambda: _later(hours=2)},
    ),
    (
        "starts_at",
        {"start": "later", "starts_at": lambda: _later(days=30)},
        {"start": "later", "starts_at": lambda: _later(days=1)},
    ),
    (
        "starts_at",
        {"start": "later", "starts_at": "tomorrow"},
        {"start": "later", "starts_at": lambda: _later(days=1)},
    ),
    ("duration", {"duration": "9"}, {"duration": "3"}),
    ("duration", {"duration": "0"}, {"duration": "3"}),
    ("duration", {"duration": "four"}, {"duration": "3"}),
    ("duration", {"duration": ""}, {"duration": "3"}),
    # "Or until" given beside the usual duration the form fills in: its limit goes under it
    ("ends_at", {"ends_at": lambda: _later(hours=10)}, {"ends_at": lambda: _later(hours=3)}),
    ("ends_at", {"ends_at": lambda: _later(hours=-1)}, {"ends_at": lambda: _later(hours=3)}),
    ("ends_at", {"ends_at": "soon"}, {"ends_at": lambda: _later(hours=3)}),
    ("processing_activity", {"processing_activity": ""}, {}),
    ("processing_activity", {"processing_activity": "987654"}, {}),
    ("justification", {"justification": "  "}, {}),
    ("justification", {"justification": "x" * 2001}, {}),
    ("ticket", {"ticket": ""}, {}),
    ("ticket", {"ticket": "JIRA-7"}, {}),
    ("ticket", {"ticket": "INC-" + "1" * 100}, {}),
]

EXTEND_CASES: list[Case] = [
    ("extend_by", {"extend_by": "9"}, {"extend_by": "2"}),
    ("extend_by", {"extend_by": "-1"}, {"extend_by": "2"}),
    ("extend_by", {"extend_by": ""}, {"extend_by": "2"}),
    ("ends_at", {"ends_at": "2001-01-01T00:00"}, {"ends_at": ""}),
    ("ends_at", {"ends_at": lambda: _later(hours=20)}, {"ends_at": lambda: _later(hours=4)}),
    ("ends_at", {"ends_at": "soon"}, {"ends_at": ""}),
    ("justification", {"justification": ""}, {}),
    ("ticket", {"ticket": ""}, {}),
    ("ticket", {"ticket": "nope"}, {}),
]

LOGIN_CASES: list[Case] = [
    ("username", {"username": ""}, {}),
    ("password", {"password": ""}, {}),
]


#: Pages whose one field is a one-time code: a right code cannot be typed twice and answers
#: with the recovery codes, not a redirect, so their refusals are tested where they live.
ONE_TIME_CODE_PAGES = {
    "mfa-enrol": "tests/signin/test_mfa.py::test_enrolment_with_a_real_code_gives_recovery_codes",
    "mfa-verify": "tests/signin/test_mfa.py::test_a_new_session_verifies_with_a_recovery_code_once",
}


def _resolved(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v() if callable(v) else v for k, v in data.items()}


class FormPage:
    """A portal form page: its URL, a payload it accepts, and a reset after an accepted one."""

    def __init__(
        self, url: str, valid: Callable[[], dict[str, Any]], cases: list[Case], reset=None
    ) -> None:
        self.url, self.valid, self.cases, self.reset = url, valid, cases, reset or (lambda: None)


@pytest.fixture
def form_pages(staff_user, role, activity, approver) -> dict[str, FormPage]:  # noqa: F811
    grant = approved_grant(staff_user, role, approver=approver, hours=2)

    def cancel_pending() -> None:
        for pending in AccessRequest.objects.filter(
            requester=staff_user, status=RequestStatus.PENDING
        ):
            services.access_request_cancel(request_id=pending.pk, actor=staff_user)

    return {
        "access-request-create": FormPage(
            reverse("access-request-create"),
            lambda: {
                "target": f"role-{role.pk}",
                "start": "now",
                "duration": "4",
                "ends_at": "",
                "starts_at": "",
                "processing_activity": str(activity.pk),
                "justification": "Customer complaint about a missing order",
                "ticket": "INC-42",
            },
            REQUEST_CASES,
            cancel_pending,
        ),
        "access-grant-extend": FormPage(
            reverse("access-grant-extend", args=[grant.pk]),
            lambda: {
                "extend_by": "1",
                "ends_at": "",
                "justification": "Not finished",
                "ticket": "INC-9",
            },
            EXTEND_CASES,
            cancel_pending,
        ),
        "login": FormPage(
            reverse("login"),
            lambda: {"username": staff_user.username, "password": DEFAULT_PASSWORD},
            LOGIN_CASES,
        ),
        # the same form at the break-glass admins' own address
        "login-password": FormPage(
            reverse("login-password"),
            lambda: {"username": staff_user.username, "password": DEFAULT_PASSWORD},
            LOGIN_CASES,
        ),
    }


def _field_errors(response) -> dict[str, list[str]]:
    if response.status_code != 200:
        return {}
    form = response.context["form"]
    return {k: v for k, v in form.errors.items() if k != "__all__"}


def test_every_portal_form_has_its_cases(client_staff, staff_user, role, form_pages):  # noqa: F811
    # given one of each object a portal page can be about
    pending = submit(staff_user, role)
    customer = Customer.objects.create(external_ref="FORM-1", full_name="Grace Hopper")
    ticket = SupportTicket.objects.create(customer=customer, subject="Hi", body="Body")
    grant_pk = int(form_pages["access-grant-extend"].url.strip("/").split("/")[1])
    pks = {"request": pending.pk, "grant": grant_pk, "customer": customer.pk, "ticket": ticket.pk}
    # when every portal route is opened
    with_forms = set()
    for name, takes_pk in _portal_routes():
        args = [next(v for k, v in pks.items() if k in name)] if takes_pk else []
        response = client_staff.get(reverse(name, args=args))
        context = getattr(response, "context", None)
        form = context.get("form") if context is not None else None
        if form is not None and form.fields:
            with_forms.add(name)
    # then each page with a form to fill in has its cases here, or where it is tested instead
    assert with_forms - set(ONE_TIME_CODE_PAGES) == set(form_pages), with_forms
    assert all(page.cases for page in form_pages.values())


@pytest.mark.parametrize(
    "name", ["access-request-create", "access-grant-extend", "login", "login-password"]
)
def test_an_error_sits_under_its_field_and_goes_once_corrected(
    client_staff,  # noqa: F811
    form_pages,
    name,
):
    page = form_pages[name]
    for field, wrong, corrected in page.cases:
        # when the form is sent with one field wrong
        sent = page.valid() | _resolved(wrong)
        response = client_staff.post(page.url, sent)
        errors = _field_errors(response)
        # then the error is under that field, and under no other
        assert set(errors) == {field}, (field, sent, errors)
        # when that field is corrected and the form is sent again
        again = client_staff.post(page.url, page.valid() | _resolved(corrected))
        # then no field carries an error any more
        assert _field_errors(again) == {}, (field, sent, _field_errors(again))
        assert again.status_code == 302, (field, again.status_code)
        page.reset()
