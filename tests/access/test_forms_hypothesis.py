"""Arbitrary input thrown at the staff forms through the test client: never a 500, and an
invalid form saves nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.access import services
from apps.access.models import AccessRequest, AccessRole, Grant
from tests.factories import DataAssetFactory, ProcessingActivityFactory

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text of every kind: unicode, control characters (NUL included), very long strings.
any_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20),
    st.sampled_from(["\x00", "  ", "1e400", "NaN", "-Infinity", "０１２", "١٢", "9" * 40]),
    st.text(min_size=3000, max_size=5000),
)
any_number = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=10**18, max_value=10**40).map(str),
)
any_datetime = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M")
    ),
    st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2040, 1, 1),
        timezones=st.just(UTC),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["2024-02-30T10:00", "0000-00-00T00:00", "24:00", "tomorrow", "T"]),
    any_text,
)


@pytest.fixture
def world(groups):
    approvers = Group.objects.get(name="Approvers")
    asset = DataAssetFactory(name="Orders")
    role = AccessRole(
        name="Order support",
        require_ticket=True,
        ticket_pattern=r"INC-\d+",
        max_duration=timedelta(hours=8),
    )
    role.full_clean()
    role.save()
    role.assets.set([asset])
    role.approver_groups.set([approvers])
    auto = AccessRole(name="Lookup", approvals_required=0, require_justification=False)
    auto.full_clean()
    auto.save()
    auto.assets.set([DataAssetFactory(name="Catalogue")])
    hidden = AccessRole(name="Hidden")
    hidden.save()
    hidden.assets.set([DataAssetFactory(name="HR")])
    hidden.requestable_by_groups.set([Group.objects.get(name="DPO")])
    activity = ProcessingActivityFactory(name="Complaints")
    return {
        "role": role,
        "auto": auto,
        "hidden": hidden,
        "asset": asset,
        "activity": activity,
    }


def targets(world):
    ids = st.one_of(
        st.sampled_from(
            [world["role"].pk, world["auto"].pk, world["hidden"].pk, world["asset"].pk, 0, -1]
        ).map(str),
        any_number,
        any_text,
    )
    return st.one_of(
        st.sampled_from([f"role-{world['role'].pk}", f"role-{world['auto'].pk}"]),
        st.builds(lambda kind, i: f"{kind}-{i}", st.sampled_from(["role", "asset", "x"]), ids),
        any_text,
    )


def request_forms(world):
    return st.fixed_dictionaries(
        {},
        optional={
            "target": targets(world),
            "start": st.one_of(st.sampled_from(["now", "later"]), any_text),
            "starts_at": any_datetime,
            "duration": st.one_of(st.just("2"), any_number, any_text),
            "ends_at": any_datetime,
            "processing_activity": st.one_of(
                st.just(str(world["activity"].pk)), any_number, any_text
            ),
            "justification": any_text,
            "ticket": st.one_of(st.just("INC-7"), any_text),
        },
    )


def test_request_form_survives_arbitrary_input(client, staff_user, world):
    client.force_login(staff_user)
    url = reverse("access-request-create")

    @EXAMPLES
    @given(data=request_forms(world))
    def check(data):
        before = AccessRequest.objects.count()
        grants_before = Grant.objects.count()
        response = client.post(url, data)
        # never a 500: either the form comes back with its errors, or one request is saved
        # (NUL, which the database cannot store, is a 400 for the whole request)
        assert response.status_code in (200, 302, 400), response.status_code
        if response.status_code == 400:
            assert any("\x00" in f"{k}{v}" for k, v in data.items())
            assert AccessRequest.objects.count() == before
        elif response.status_code == 200:
            assert response.context["form"].errors
            assert AccessRequest.objects.count() == before
            assert Grant.objects.count() == grants_before
        else:
            assert AccessRequest.objects.count() == before + 1
            created = AccessRequest.objects.order_by("-pk").first()
            assert created.requester == staff_user
            assert created.role_id in (world["role"].pk, world["auto"].pk)
            assert created.ends_at > created.starts_at
            # leave no pending request behind, so later examples are not duplicates
            if created.status == "pending":
                services.access_request_cancel(request_id=created.pk, actor=staff_user)

    check()


def test_request_form_query_survives_arbitrary_input(client, staff_user, world):
    client.force_login(staff_user)

    @EXAMPLES
    @given(
        key=st.sampled_from(["role", "asset", "target", "page"]),
        value=st.one_of(targets(world), any_number, any_text),
    )
    def check(key, value):
        for name in ("access-request-create", "access-request-policy", "portal-home"):
            response = client.get(reverse(name), {key: value})
            assert response.status_code == (400 if "\x00" in str(value) else 200)

    check()


def test_extend_form_survives_arbitrary_input(client, staff_user, approver, world):
    client.force_login(staff_user)
    start = timezone.now()
    request = services.access_request_submit(
        requester=staff_user,
        role=world["role"],
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        justification="Complaint",
        ticket="INC-1",
    )
    services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get(request=request)
    url = reverse("access-grant-extend", args=[grant.pk])

    @EXAMPLES
    @given(
        data=st.fixed_dictionaries(
            {},
            optional={
                "extend_by": st.one_of(st.just("1"), any_number, any_text),
                "ends_at": any_datetime,
                "justification": st.one_of(st.just("More time"), any_text),
                "ticket": st.one_of(st.just("INC-8"), any_text),
            },
        )
    )
    def check(data):
        before = AccessRequest.objects.count()
        ends_before = Grant.objects.get(pk=grant.pk).ends_at
        response = client.post(url, data)
        assert response.status_code in (200, 302, 400), response.status_code
        if response.status_code == 400:
            assert any("\x00" in f"{k}{v}" for k, v in data.items())
            assert Grant.objects.get(pk=grant.pk).ends_at == ends_before
        elif response.status_code == 200:
            assert response.context["form"].errors
            assert AccessRequest.objects.count() == before
            assert Grant.objects.get(pk=grant.pk).ends_at == ends_before
        else:
            assert AccessRequest.objects.count() == before + 1
            extension = AccessRequest.objects.get(extends_grant=grant, status="pending")
            # an extension waits for approval: the grant is unchanged until then
            assert Grant.objects.get(pk=grant.pk).ends_at == ends_before
            services.access_request_cancel(request_id=extension.pk, actor=staff_user)

    check()
