"""The approver's admin: the purpose beside each request, the queue's search and filters,
revoking from who holds access now and from each grant's row, the grant list sorted by end."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.access.models import GrantStatus
from apps.inventory.gdpr import Art9Condition, LawfulBasis
from tests.access.factories import AccessRequestFactory, AccessRoleFactory, GrantFactory
from tests.factories import DataAssetFactory, ProcessingActivityFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "admin:access_accessrequest_queue"
GRANTS = "admin:access_grant_changelist"
HOLDERS = "admin:access_grant_holders"


def decide_url(request, decision):
    return reverse("admin:access_accessrequest_decide", args=[request.pk, decision])


def queue(client, **params):
    return client.get(reverse(QUEUE), params)


def shown(response) -> list[int]:
    return [row["obj"].pk for row in response.context["rows"]]


@pytest.fixture
def activity(db):
    return ProcessingActivityFactory(
        name="Answering customer complaints",
        lawful_basis=LawfulBasis.CONTRACT,
        art9_condition=Art9Condition.H,
        purposes="Resolving complaints within the contract's service levels",
    )


# --- 1. the purpose -------------------------------------------------------------------------


def _refused_for_nul(response, value) -> bool:
    """NUL never reaches a view: the middleware answers 400 for the whole request
    (jitportal/middleware.py), naming the parameter."""
    values = value.values() if isinstance(value, dict) else [value]
    if not any("\x00" in str(v) for v in values):
        return False
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    return True


def test_the_queue_shows_the_purpose_with_its_lawful_basis(client, role, activity, approver):
    # given a request made for a processing activity, and one made without
    with_purpose = AccessRequestFactory(role=role, processing_activity=activity)
    without = AccessRequestFactory(role=role)
    client.force_login(approver)
    # when the approver opens the queue
    response = queue(client)
    # then each row says the purpose and its Art. 6 basis, or that none was given
    html = response.content.decode()
    assert "Purpose (lawful basis)" in html
    rows = {row["obj"].pk: str(row["purpose"]) for row in response.context["rows"]}
    assert "Answering customer complaints" in rows[with_purpose.pk]
    assert "Lawful basis: 6(1)(b) Contract" in rows[with_purpose.pk]
    assert "None given" in rows[without.pk]
    # an Art. 9(2) condition is shown only where the request touches special data
    assert "Art. 9(2)" not in rows[with_purpose.pk]


def test_the_decision_page_shows_the_purpose_basis_and_art9_condition(
    client, special_asset, approvers_group, activity, approver
):
    special_role = AccessRoleFactory(
        name="Needs read", assets=[special_asset], approver_groups=[approvers_group]
    )
    request = AccessRequestFactory(role=special_role, processing_activity=activity)
    client.force_login(approver)
    for decision in ("approve", "deny"):
        html = client.get(decide_url(request, decision)).content.decode()
        purpose = html[html.index('id="decide-purpose"') :]
        purpose = purpose[: purpose.index("</tr>")]
        assert "Answering customer complaints" in purpose
        assert "Lawful basis: 6(1)(b) Contract" in purpose
        assert "Art. 9(2): 9(2)(h) Preventive or occupational medicine" in purpose
        assert "within the contract&#x27;s service levels" in purpose


def test_the_request_change_page_shows_the_purpose(client, role, activity, approver, auditor):
    request = AccessRequestFactory(role=role, processing_activity=activity)
    for user in (approver, auditor):
        client.force_login(user)
        html = client.get(
            reverse("admin:access_accessrequest_change", args=[request.pk])
        ).content.decode()
        assert "Purpose (lawful basis)" in html
        assert "Answering customer complaints" in html and "6(1)(b) Contract" in html


def test_an_activity_without_a_basis_says_so(client, role, approver):
    bare = ProcessingActivityFactory(name="Unreviewed activity", lawful_basis="")
    AccessRequestFactory(role=role, processing_activity=bare)
    client.force_login(approver)
    row = queue(client).context["rows"][0]
    assert "no lawful basis recorded" in str(row["purpose"])


# --- 3. the queue's search and filters --------------------------------------------------------


@pytest.fixture
def mixed_queue(role, asset, special_asset, approvers_group):
    """Requests of several requesters, roles, assets, ages and sensitivities."""
    special_role = AccessRoleFactory(
        name="Needs read", assets=[special_asset], approver_groups=[approvers_group]
    )
    alice = UserFactory(username="alice", first_name="Alice", last_name="Archer")
    bob = UserFactory(username="bob", first_name="Bob", last_name="Baker")
    now = timezone.now()
    return {
        "role": AccessRequestFactory(
            requester=alice,
            role=role,
            justification="Refund dispute follow-up",
            ticket="INC-4711",
            created_at=now - timedelta(minutes=10),
        ),
        "asset": AccessRequestFactory(
            requester=bob,
            role=None,
            asset=asset,
            justification="Address change",
            created_at=now - timedelta(hours=5),
        ),
        "special": AccessRequestFactory(
            requester=bob,
            role=special_role,
            justification="Accessibility adjustment",
            created_at=now - timedelta(days=3),
        ),
        "old": AccessRequestFactory(
            requester=alice,
            role=special_role,
            justification="Late complaint",
            created_at=now - timedelta(days=9),
        ),
        "alice": alice,
        "bob": bob,
        "special_role": special_role,
    }


def test_queue_filter_by_asset_includes_roles_covering_it(
    client, mixed_queue, asset, special_asset, approver
):
    client.force_login(approver)
    by_asset = queue(client, asset=asset.pk)
    # the single-asset request and the request for the role that covers the asset
    assert set(shown(by_asset)) == {mixed_queue["role"].pk, mixed_queue["asset"].pk}
    assert set(shown(queue(client, asset=special_asset.pk))) == {
        mixed_queue["special"].pk,
        mixed_queue["old"].pk,
    }


def test_queue_filter_by_role(client, mixed_queue, role, approver):
    client.force_login(approver)
    assert shown(queue(client, role=role.pk)) == [mixed_queue["role"].pk]
    special = mixed_queue["special_role"].pk
    assert set(shown(queue(client, role=special))) == {
        mixed_queue["special"].pk,
        mixed_queue["old"].pk,
    }


def test_queue_filter_by_requester(client, mixed_queue, approver):
    client.force_login(approver)
    assert set(shown(queue(client, requester=mixed_queue["bob"].pk))) == {
        mixed_queue["asset"].pk,
        mixed_queue["special"].pk,
    }


def test_queue_filter_by_special_category_data(client, mixed_queue, approver):
    client.force_login(approver)
    special = {mixed_queue["special"].pk, mixed_queue["old"].pk}
    assert set(shown(queue(client, special="yes"))) == special
    assert set(shown(queue(client, special="no"))) == {
        mixed_queue["role"].pk,
        mixed_queue["asset"].pk,
    }


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        ("hour", {"role"}),
        ("day", {"role", "asset"}),
        ("week", {"role", "asset", "special"}),
        ("older", {"old"}),
    ],
)
def test_queue_filter_by_age(client, mixed_queue, approver, age, expected):
    client.force_login(approver)
    assert set(shown(queue(client, age=age))) == {mixed_queue[k].pk for k in expected}


def test_queue_age_is_measured_from_now(client, mixed_queue, approver):
    client.force_login(approver)
    # two hours later, the request made ten minutes ago is no longer under an hour old
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert shown(queue(client, age="hour")) == []


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("alice", {"role", "old"}),  # requester username
        ("Baker", {"asset", "special"}),  # requester's last name
        ("bob@example", {"asset", "special"}),  # requester's email
        ("Support read", {"role"}),  # the role's name (both words)
        ("Customer records", {"asset"}),  # the asset's name
        ("refund", {"role"}),  # justification, any case
        ("INC-4711", {"role"}),  # ticket
        ("alice complaint", {"old"}),  # every word must match somewhere
        ("nothing-like-this", set()),
    ],
)
def test_queue_search(client, mixed_queue, approver, q, expected):
    client.force_login(approver)
    response = queue(client, q=q)
    assert response.status_code == 200
    assert set(shown(response)) == {mixed_queue[k].pk for k in expected}


def test_queue_search_and_filters_combine(client, mixed_queue, approver):
    client.force_login(approver)
    response = queue(client, q="complaint", special="yes", requester=mixed_queue["alice"].pk)
    assert shown(response) == [mixed_queue["old"].pk]


def test_queue_filter_choices_come_from_the_queue(
    client, mixed_queue, role, asset, special_asset, approver
):
    # given an asset, a role and a requester that have nothing waiting for this approver
    stranger = UserFactory(username="zed")
    idle_role = AccessRoleFactory(name="Idle role", assets=[DataAssetFactory(name="Idle asset")])
    AccessRequestFactory(requester=stranger, role=idle_role)  # an owner-only role: not theirs
    client.force_login(approver)
    form = queue(client).context["form"]

    def values(name):
        return {v for v, _ in form.fields[name].choices if v}

    # then the filters offer what the queue holds, and only that
    assert values("asset") == {str(asset.pk), str(special_asset.pk)}
    assert values("role") == {str(role.pk), str(mixed_queue["special_role"].pk)}
    assert values("requester") == {str(mixed_queue["alice"].pk), str(mixed_queue["bob"].pk)}
    # and naming something outside the queue is a form error, not a way to look at it
    for name, value in (("role", idle_role.pk), ("requester", stranger.pk)):
        response = queue(client, **{name: value})
        assert response.status_code == 400
        assert response.context["rows"] == []


HOSTILE = ["\x00", "1\x00", "99999999999999999999", "-1", "²", "١", "1.0", "x" * 300]


@pytest.mark.parametrize("field", ["asset", "role", "requester", "special", "age"])
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_are_a_form_error(client, mixed_queue, approver, field, value):
    client.force_login(approver)
    response = queue(client, **{field: value})
    if _refused_for_nul(response, value):
        return
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="queue-filter-errors"' in html and "Select a valid choice" in html
    assert response.context["rows"] == []


@pytest.mark.parametrize("value", ["\x00", "refund\x00"])
def test_a_nul_in_the_search_is_refused(client, mixed_queue, approver, value):
    client.force_login(approver)
    response = queue(client, q=value)
    assert _refused_for_nul(response, value)


@pytest.mark.parametrize("value", ["x" * 201, "refund\x1b[2J"])
def test_a_search_too_long_or_with_a_control_character_is_not_run(
    client, mixed_queue, approver, value
):
    # given an approver on the queue
    client.force_login(approver)
    # when the queue is searched for it
    response = queue(client, q=value)
    # then the queue is shown again without the search, saying why (as every search box)
    assert response.status_code == 302 and "q=" not in response["Location"]
    assert "The search was not run." in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("page", ["\x00", "99999999999999999999", "²", "١", "-1", "abc"])
def test_hostile_page_numbers_give_a_page(client, mixed_queue, approver, page):
    client.force_login(approver)
    response = queue(client, p=page)
    if not _refused_for_nul(response, page):
        assert response.status_code == 200


def test_a_search_that_matches_nothing_says_what_to_do(client, mixed_queue, approver):
    client.force_login(approver)
    response = queue(client, q="no-such-words", special="yes")
    html = response.content.decode()
    assert response.status_code == 200
    assert "No waiting request matches “no-such-words” with these filters." in html
    assert f'href="{reverse(QUEUE)}"' in html  # show the whole queue
    assert "Nothing waits for your decision" not in html


def test_an_empty_queue_says_nothing_waits(client, approver, groups):
    client.force_login(approver)
    html = queue(client).content.decode()
    assert "Nothing waits for your decision." in html and "No waiting request matches" not in html


def test_pagination_keeps_the_search_and_filters(client, role, approver):
    for n in range(55):
        AccessRequestFactory(role=role, justification=f"Batch case {n}")
    AccessRequestFactory(role=role, justification="Other work")
    client.force_login(approver)
    first = queue(client, q="batch", role=role.pk)
    assert first.context["page"].paginator.count == 55
    html = first.content.decode()
    link = re.search(r'href="(\?[^"]*p=2[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "q=batch" in link and f"role={role.pk}" in link
    second = client.get(reverse(QUEUE) + link)
    assert len(second.context["rows"]) == 5
    # and the decision buttons bring the approver back to the same filtered page
    assert "next=/admin/access/accessrequest/queue/%3Fq%3Dbatch%26role" in (second.content.decode())


def _queue_queries(client, **params) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = queue(client, **params)
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["rows"])


def test_queue_query_count_is_constant_with_search_and_filters(
    client, role, asset, special_asset, approvers_group, approver
):
    special_role = AccessRoleFactory(
        name="Needs read", assets=[special_asset], approver_groups=[approvers_group]
    )

    def add(n):
        for i in range(n):
            requester = UserFactory(first_name="Casey")
            AccessRequestFactory(
                requester=requester,
                role=role if i % 2 else special_role,
                justification="Casework",
                processing_activity=ProcessingActivityFactory(),
            )
            AccessRequestFactory(
                requester=requester, role=None, asset=asset, justification="Casework"
            )

    add(3)
    client.force_login(approver)
    params = {"q": "casework", "age": "day", "special": ""}
    queue(client, **params)  # warm caches
    few, rows_few = _queue_queries(client, **params)
    unfiltered_few, _ = _queue_queries(client)
    add(30)
    many, rows_many = _queue_queries(client, **params)
    unfiltered_many, _ = _queue_queries(client)
    assert (rows_few, rows_many) == (6, 50)
    assert many == few
    assert unfiltered_many == unfiltered_few


# --- 2. revoking: from the holders page and each grant's row -----------------------------------


def _revoke_links(html: str) -> list[str]:
    return [
        m.replace("&amp;", "&")
        for m in re.findall(r'href="(/admin/access/grant/\d+/revoke/[^"]*)"', html)
    ]


def test_holders_page_offers_revoke_to_those_who_may_and_returns_there(
    client, asset, staff_user, staff2, approver, auditor
):
    other = DataAssetFactory(name="Other asset")
    kept = GrantFactory(user=staff_user, assets=[asset])
    GrantFactory(user=staff2, assets=[other])
    url = reverse(HOLDERS)
    # an auditor sees who holds access, with no Revoke
    client.force_login(auditor)
    assert _revoke_links(client.get(url).content.decode()) == []
    # an approver sees a Revoke per live grant
    client.force_login(approver)
    html = client.get(url, {"asset": asset.pk}).content.decode()
    links = _revoke_links(html)
    assert len(links) == 1 and links[0].startswith(f"/admin/access/grant/{kept.pk}/revoke/?")
    # the form asks for a reason; without one nothing changes
    form = client.get(links[0])
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()
    assert client.post(links[0], {"reason": ""}).status_code == 200
    kept.refresh_from_db()
    assert kept.revoked_at is None
    # with one, the grant is revoked and the approver is back on the same holders page
    response = client.post(links[0], {"reason": "Left the project"})
    assert response.status_code == 302
    assert response["Location"] == f"{url}?asset={asset.pk}"
    kept.refresh_from_db()
    assert kept.status == GrantStatus.REVOKED and kept.revoke_reason == "Left the project"
    assert kept not in [r["grant"] for r in client.get(url).context["rows"]]


def test_each_live_grant_row_offers_revoke_to_those_who_may(
    client, asset, staff_user, approver, auditor, dpo
):
    live = GrantFactory(user=staff_user, assets=[asset])
    later = timezone.now() + timedelta(days=1)
    scheduled = GrantFactory(user=staff_user, assets=[asset], starts_at=later)
    past = timezone.now() - timedelta(days=2)
    ended = GrantFactory(
        user=staff_user,
        assets=[asset],
        starts_at=past,
        ends_at=past + timedelta(hours=1),
        status=GrantStatus.EXPIRED,
    )
    for user in (approver, dpo):
        client.force_login(user)
        html = client.get(reverse(GRANTS), {"status__exact": "active"}).content.decode()
        assert 'class="column-revoke"' in html
        links = _revoke_links(html)
        assert [link.split("/")[4] for link in links] == [str(live.pk)]
        everything = _revoke_links(client.get(reverse(GRANTS)).content.decode())
        assert {link.split("/")[4] for link in everything} == {str(live.pk), str(scheduled.pk)}
        assert str(ended.pk) not in {link.split("/")[4] for link in everything}
    # an auditor sees no Revoke column at all
    client.force_login(auditor)
    html = client.get(reverse(GRANTS)).content.decode()
    assert "column-revoke" not in html and _revoke_links(html) == []


def test_revoke_from_a_row_returns_to_the_filtered_list(client, asset, staff_user, approver):
    grant = GrantFactory(user=staff_user, assets=[asset])
    client.force_login(approver)
    html = client.get(reverse(GRANTS), {"status__exact": "active"}).content.decode()
    (link,) = _revoke_links(html)
    response = client.post(link, {"reason": "Access review"})
    assert response["Location"] == reverse(GRANTS) + "?status__exact=active"
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED


@pytest.mark.parametrize(
    "params",
    [
        {"return_to": "//evil.example/", "return_query": ""},
        {"return_to": "https://evil.example/", "return_query": "a=1"},
        {"return_to": "grants", "return_query": "//evil.example/x?a=\x00&b=c"},
        {"return_to": "holders", "return_query": "\r\nLocation: https://evil.example/"},
    ],
)
def test_the_revoke_form_returns_only_to_its_own_pages(client, asset, staff_user, approver, params):
    grant = GrantFactory(user=staff_user, assets=[asset])
    client.force_login(approver)
    url = reverse("admin:access_grant_revoke", args=[grant.pk])
    response = client.post(url + "?" + _encode(params), {"reason": "Done"})
    if _refused_for_nul(response, params):
        return
    location = response["Location"]
    assert location.startswith("/admin/access/grant/") and "\n" not in location
    assert not location.startswith("//") and "evil.example/" not in location.split("?")[0]


def _encode(params):
    from django.utils.http import urlencode

    return urlencode(params)


def test_staff_see_no_grant_pages_and_no_revoke(client, asset, staff_user):
    grant = GrantFactory(user=staff_user, assets=[asset])
    client.force_login(staff_user)
    for url in (
        reverse(GRANTS),
        reverse(HOLDERS),
        reverse("admin:access_grant_revoke", args=[grant.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
        assert "Revoke" not in response.content.decode()


def test_grants_are_listed_by_end_soonest_live_first(client, asset, staff_user, auditor):
    now = timezone.now()
    late = GrantFactory(user=staff_user, assets=[asset], ends_at=now + timedelta(hours=8))
    soon = GrantFactory(user=staff_user, assets=[asset], ends_at=now + timedelta(minutes=20))
    scheduled = GrantFactory(
        user=staff_user,
        assets=[asset],
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
    )
    ended_long_ago = GrantFactory(
        user=staff_user,
        assets=[asset],
        starts_at=now - timedelta(days=9),
        ends_at=now - timedelta(days=8),
        status=GrantStatus.EXPIRED,
    )
    ended_recently = GrantFactory(
        user=staff_user,
        assets=[asset],
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=1),
        status=GrantStatus.EXPIRED,
    )
    revoked = GrantFactory(user=staff_user, assets=[asset], ends_at=now + timedelta(minutes=10))
    revoked.revoked_at, revoked.status = now, GrantStatus.REVOKED
    revoked.save()
    client.force_login(auditor)
    listed = list(client.get(reverse(GRANTS)).context["cl"].result_list)
    assert listed == [soon, scheduled, late, revoked, ended_recently, ended_long_ago]


def test_the_grant_list_has_few_columns_and_wraps(client, asset, staff_user, approver):
    GrantFactory(user=staff_user, assets=[asset], request__justification="x")
    client.force_login(approver)
    cl = client.get(reverse(GRANTS)).context["cl"]
    # checkbox, id, holder, role/asset, assets, rights, window, state, revoke
    assert len(cl.list_display) <= 9
    html = client.get(reverse(GRANTS)).content.decode()
    assert "/static/css/access_admin.css" in html


@pytest.mark.parametrize("field", ["asset", "user"])
@pytest.mark.parametrize("value", ["\x00", "99999999999999999999", "²", "١", "-1", "1.0", "0"])
def test_hostile_holders_filters_are_a_form_error(
    client, asset, staff_user, approver, field, value
):
    # given someone holding access to asset #1's neighbour, and a filter that names nothing
    GrantFactory(user=staff_user, assets=[asset])
    client.force_login(approver)
    response = client.get(reverse(HOLDERS), {field: value})
    if _refused_for_nul(response, value):
        return
    # then a 400 with the error, and nobody listed (not everyone, as if no filter were set)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="holders-filter-errors"' in html
    assert response.context["rows"] == [] and _revoke_links(html) == []
    assert "Nobody holds access" not in html


def test_holders_filter_refuses_non_ascii_digits_that_int_would_read(
    client, asset, staff_user, approver
):
    # int("١") == 1: without the check the Arabic-Indic one would pick the row with id 1
    GrantFactory(user=staff_user, assets=[asset])
    client.force_login(approver)
    ascii_id = str(asset.pk)
    lookalike = ascii_id.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert int(lookalike) == asset.pk
    assert client.get(reverse(HOLDERS), {"asset": ascii_id}).status_code == 200
    assert client.get(reverse(HOLDERS), {"asset": lookalike}).status_code == 400


def test_the_demo_requests_name_their_purpose(client, groups):
    # given the demo organisation (its register first, as load_demo does)
    from apps.access.models import AccessRequest
    from apps.demo.access import load_access_demo
    from apps.demo.inventory import load_inventory_demo

    load_inventory_demo()
    load_access_demo()
    # then every demo request names a processing activity, with a lawful basis
    requests = AccessRequest.objects.select_related("processing_activity")
    assert requests.exists()
    assert [r for r in requests if not r.processing_activity] == []
    assert all(r.processing_activity.lawful_basis for r in requests)
    # and the demo approver's queue shows it
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="approver"))
    row = queue(client).context["rows"][0]
    assert "Lawful basis: 6(1)" in str(row["purpose"])


def test_the_unfiltered_queue_is_counted_with_the_filter_choices(
    client, mixed_queue, role, approver, approver2
):
    # given the four waiting requests, one more already decided by this approver and one
    # that is their own: neither counts
    decided = AccessRequestFactory(role=role)
    decided.approvals.create(approver=approver, decision="approve")
    AccessRequestFactory(role=role, requester=approver)
    client.force_login(approver)
    response = queue(client)
    # then the count (taken in the same pass as the choices) is the queue's
    assert response.context["page"].paginator.count == 4
    assert "4 in all" in response.content.decode()
    filtered = queue(client, special="yes")
    assert filtered.context["page"].paginator.count == 2
    assert "2 match" in filtered.content.decode()
