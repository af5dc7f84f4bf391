from __future__ import annotations

from collections.abc import Callable

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.inventory import models as inv
from apps.inventory.gdpr import Art9Condition, OrganisationRole, TransferMechanism
from tests.factories import (
    DataAssetFactory,
    DataCategoryFactory,
    DataSubjectCategoryFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    SystemFactory,
    UserFactory,
)
from tests.inventory.factories import TransferFactory, category, complete_activity
from tests.inventory.formdata import form_data

pytestmark = pytest.mark.django_db

INVENTORY_MODELS = [
    inv.Organisation,
    inv.DataCategory,
    inv.DataSubjectCategory,
    inv.System,
    inv.DataAsset,
    inv.Recipient,
    inv.ProcessingActivity,
    inv.Transfer,
]


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:inventory_{model._meta.model_name}_{view}", args=args)


def _rich_activity(n: int = 0) -> inv.ProcessingActivity:
    """An activity with every kind of link the changelist shows or filters on."""
    owner = UserFactory()
    steward = Group.objects.get_or_create(name="Stewards")[0]
    asset = DataAssetFactory(categories=[category("health")], owner=owner, steward_group=steward)
    asset.subjects.add(DataSubjectCategoryFactory(name="Employees"))
    activity = ProcessingActivityFactory(art9_condition=Art9Condition.B, owner=owner)
    activity.assets.add(asset)
    activity.data_categories.add(category("contact-email"))
    recipient = RecipientFactory(country="US")
    activity.recipients.add(recipient)
    TransferFactory(activity=activity, recipient=recipient)
    return activity


# One maker per model: creates a row with the related rows its changelist displays.
MAKERS: dict[type, Callable[[], object]] = {
    inv.Organisation: lambda: OrganisationFactory(),
    inv.DataCategory: lambda: DataAssetFactory(
        categories=[DataCategoryFactory(parent=category("identity"))]
    ).categories.get(),
    inv.DataSubjectCategory: lambda: DataSubjectCategoryFactory(),
    inv.System: lambda: DataAssetFactory(system=SystemFactory(owner=UserFactory())).system,
    inv.DataAsset: lambda: _rich_activity().assets.get(),
    inv.Recipient: lambda: RecipientFactory(),
    inv.ProcessingActivity: _rich_activity,
    inv.Transfer: lambda: _rich_activity().transfers.get(),
}


# --- smoke tests: every ModelAdmin --------------------------------------------------------


def test_every_inventory_model_is_registered_with_auditlog_history():
    from auditlog.mixins import AuditlogHistoryAdminMixin
    from auditlog.registry import auditlog

    for model in INVENTORY_MODELS:
        assert isinstance(admin.site._registry[model], AuditlogHistoryAdminMixin), model
        assert auditlog.contains(model), model


@pytest.mark.parametrize("model", INVENTORY_MODELS, ids=lambda m: m._meta.model_name)
def test_dpo_opens_changelist_add_change_and_history(dpo_client, model):
    # given no row yet, the add page opens; then given one row
    assert dpo_client.get(_url(model, "add")).status_code == 200
    obj = MAKERS[model]()
    # then each page of the DPO's workplace renders
    assert dpo_client.get(_url(model, "changelist")).status_code == 200
    response = dpo_client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert _url(model, "auditlog", obj.pk) in response.content.decode()
    assert dpo_client.get(_url(model, "auditlog", obj.pk)).status_code == 200
    assert dpo_client.get(_url(model, "delete", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", INVENTORY_MODELS, ids=lambda m: m._meta.model_name)
def test_staff_member_gets_no_inventory_admin_page(staff_client, model):
    # given a staff member (not is_staff) and a row
    obj = MAKERS[model]()
    # then every inventory admin URL sends them to the admin login
    for url in (
        _url(model, "changelist"),
        _url(model, "add"),
        _url(model, "change", obj.pk),
        _url(model, "auditlog", obj.pk),
        _url(model, "delete", obj.pk),
    ):
        response = staff_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    # and a POST changes nothing
    before = model.objects.count()
    staff_client.post(_url(model, "delete", obj.pk), {"post": "yes"})
    assert model.objects.count() == before


@pytest.mark.parametrize("model", INVENTORY_MODELS, ids=lambda m: m._meta.model_name)
def test_approver_and_auditor_can_view_but_not_add_change_or_delete(
    client, approver, auditor, model
):
    obj = MAKERS[model]()
    for user in (approver, auditor):
        client.force_login(user)
        # then they read
        assert client.get(_url(model, "changelist")).status_code == 200
        response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200
        assert 'name="_save"' not in response.content.decode()
        assert client.get(_url(model, "auditlog", obj.pk)).status_code == 200
        # and may not write
        assert client.get(_url(model, "add")).status_code == 403
        assert client.post(_url(model, "change", obj.pk), {}).status_code == 403
        assert client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


# --- changelist query counts --------------------------------------------------------------


def _changelist_queries(client, model, query: str = "") -> int:
    # The page once before counting: what a process caches on first use (content types)
    # is not a cost that grows with rows.
    assert client.get(_url(model, "changelist") + query).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(_url(model, "changelist") + query)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("model", INVENTORY_MODELS, ids=lambda m: m._meta.model_name)
def test_changelist_query_count_does_not_grow_with_rows(dpo_client, model):
    # given 5 rows
    for _ in range(5):
        MAKERS[model]()
    with_5 = _changelist_queries(dpo_client, model)
    # when there are 50
    for _ in range(45):
        MAKERS[model]()
    with_50 = _changelist_queries(dpo_client, model)
    # then the page costs the same number of queries
    assert with_50 == with_5, (with_5, with_50)


def test_activity_changelist_with_filters_stays_constant(dpo_client):
    query = "?art30=missing&special=yes&review=due&o=6"
    for _ in range(5):
        _rich_activity()
    with_5 = _changelist_queries(dpo_client, inv.ProcessingActivity, query)
    for _ in range(45):
        _rich_activity()
    with_50 = _changelist_queries(dpo_client, inv.ProcessingActivity, query)
    assert with_50 == with_5


# --- ProcessingActivity changelist filters and columns ----------------------------------------


def _listed(client, query: str) -> set[str]:
    response = client.get(_url(inv.ProcessingActivity, "changelist") + query)
    assert response.status_code == 200
    return {obj.name for obj in response.context["cl"].result_list}


def test_art30_completeness_filter(dpo_client):
    # given a complete activity, one without retention and one without a review date
    complete = complete_activity(name="Complete")
    no_retention = complete_activity(name="No retention", retention_description="")
    no_review = complete_activity(name="No review", next_review_on=None)
    # then each choice lists the right ones
    assert _listed(dpo_client, "?art30=complete") == {complete.name}
    assert _listed(dpo_client, "?art30=missing") == {no_retention.name, no_review.name}
    assert _listed(dpo_client, "?art30=missing:retention") == {no_retention.name}
    assert _listed(dpo_client, "?art30=missing:next_review_on") == {no_review.name}
    # and review due lists the undated one
    assert _listed(dpo_client, "?review=due") == {no_review.name}
    assert _listed(dpo_client, "?review=not_due") == {complete.name, no_retention.name}


def test_filters_by_special_data_category_system_basis_and_role(dpo_client):
    special = _rich_activity()
    plain = complete_activity(name="Plain")
    processor = complete_activity(name="For a client", role=OrganisationRole.PROCESSOR)
    system = special.assets.get().system
    assert _listed(dpo_client, "?special=yes") == {special.name}
    assert _listed(dpo_client, "?special=art9") == {special.name}
    assert _listed(dpo_client, "?special=art10") == set()
    assert _listed(dpo_client, "?special=no") == {plain.name, processor.name}
    # a parent category finds activities with its children, directly or via assets
    special_group = inv.DataCategory.objects.get(slug="special")
    assert _listed(dpo_client, f"?category={special_group.pk}") == {special.name}
    contact = inv.DataCategory.objects.get(slug="contact")
    assert _listed(dpo_client, f"?category={contact.pk}") == {
        special.name,
        plain.name,
        processor.name,
    }
    assert _listed(dpo_client, f"?system={system.pk}") == {special.name}
    assert _listed(dpo_client, "?role__exact=processor") == {processor.name}
    assert _listed(dpo_client, "?lawful_basis__exact=6(1)(b)") == {
        special.name,
        plain.name,
        processor.name,
    }


def test_activity_change_page_shows_what_is_missing(dpo_client):
    activity = complete_activity(retention_description="")
    html = dpo_client.get(_url(inv.ProcessingActivity, "change", activity.pk)).content.decode()
    assert "Missing for Art. 30" in html
    assert "<li>Retention schedule</li>" in html
    row = dpo_client.get(_url(inv.ProcessingActivity, "changelist")).context["cl"].result_list[0]
    assert row.missing_count == 1


def test_garbage_filter_values_do_not_fail(dpo_client):
    for query in ("?category=abc", "?system=x", "?art30=missing:nope", "?special=maybe"):
        assert dpo_client.get(_url(inv.ProcessingActivity, "changelist") + query).status_code == 200


# --- writing through the admin -----------------------------------------------------------


def _activity_add_data(dpo_client, **overrides):
    page = dpo_client.get(_url(inv.ProcessingActivity, "add")).content.decode()
    return form_data(page, **overrides)


def test_adding_an_activity_with_special_asset_needs_an_art9_condition(dpo_client):
    # given an asset holding health data
    asset = DataAssetFactory(categories=[category("health")])
    data = _activity_add_data(
        dpo_client,
        name="Occupational health",
        purposes="Fitness for work",
        lawful_basis="6(1)(c)",
        assets=[str(asset.pk)],
    )
    # when the DPO saves without an Art. 9(2) condition
    response = dpo_client.post(_url(inv.ProcessingActivity, "add"), data)
    # then the form comes back with the message and nothing is saved
    assert response.status_code == 200
    assert "choose the condition" in response.content.decode()
    assert not inv.ProcessingActivity.objects.exists()
    # and with a condition it saves, links and all
    data["art9_condition"] = Art9Condition.H
    response = dpo_client.post(_url(inv.ProcessingActivity, "add"), data)
    assert response.status_code == 302
    activity = inv.ProcessingActivity.objects.get()
    assert list(activity.assets.all()) == [asset]


def test_admin_form_shows_every_activity_rule(dpo_client):
    recipient = RecipientFactory()
    data = _activity_add_data(
        dpo_client,
        name="Bad",
        lawful_basis="6(1)(f)",
        dpia_status="completed",
        last_reviewed_on="2025-06-01",
        next_review_on="2025-05-01",
        no_recipients="on",
        recipients=[str(recipient.pk)],
        data_categories=[str(category("criminal-record-checks").pk)],
    )
    response = dpo_client.post(_url(inv.ProcessingActivity, "add"), data)
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "state the interest",
        "link to the DPIA document",
        "cannot be before the last review",
        "untick it or remove the recipients",
        "name that authority",
    ):
        assert text in html, text
    assert not inv.ProcessingActivity.objects.exists()


def test_transfer_inline_refuses_adequacy_without_decision(dpo_client):
    data = _activity_add_data(
        dpo_client,
        name="Offshore support",
        purposes="Support",
        lawful_basis="6(1)(b)",
        **{
            "transfers-TOTAL_FORMS": "1",
            "transfers-0-country": "IN",
            "transfers-0-mechanism": TransferMechanism.ADEQUACY,
        },
    )
    response = dpo_client.post(_url(inv.ProcessingActivity, "add"), data)
    assert response.status_code == 200
    assert "no adequacy decision for IN" in response.content.decode()
    assert not inv.Transfer.objects.exists()
    # with SCCs it is saved
    data["transfers-0-mechanism"] = TransferMechanism.SCCS
    assert dpo_client.post(_url(inv.ProcessingActivity, "add"), data).status_code == 302
    assert inv.Transfer.objects.get().country.code == "IN"


def test_transfer_admin_refuses_two_destinations(dpo_client):
    activity = ProcessingActivityFactory()
    page = dpo_client.get(_url(inv.Transfer, "add")).content.decode()
    data = form_data(
        page,
        activity=str(activity.pk),
        country="US",
        international_organisation="UN",
        mechanism="sccs",
    )
    response = dpo_client.post(_url(inv.Transfer, "add"), data)
    assert response.status_code == 200
    assert "not both" in response.content.decode()
    assert not inv.Transfer.objects.exists()


def test_asset_change_page_explains_the_special_flag(dpo_client):
    asset = DataAssetFactory(categories=[category("health"), category("contact-email")])
    response = dpo_client.get(_url(inv.DataAsset, "change", asset.pk))
    html = response.content.decode()
    assert "because of: Data concerning health" in html
    assert "Derived from the categories" in html
    # the flag is not a form field: posting it changes nothing
    assert 'name="is_special"' not in html


def test_asset_saved_in_admin_gets_its_flag_from_the_categories(dpo_client):
    asset = DataAssetFactory(categories=[category("contact-email")])
    page = dpo_client.get(_url(inv.DataAsset, "change", asset.pk)).content.decode()
    data = form_data(page, categories=[str(category("sexual-orientation").pk)])
    assert dpo_client.post(_url(inv.DataAsset, "change", asset.pk), data).status_code == 302
    asset.refresh_from_db()
    assert asset.is_special


def test_organisation_admin_allows_one_row(dpo_client):
    # given no organisation: adding is offered
    assert dpo_client.get(_url(inv.Organisation, "add")).status_code == 200
    OrganisationFactory()
    # then with one, adding is refused and the changelist offers no add link
    assert dpo_client.get(_url(inv.Organisation, "add")).status_code == 403
    html = dpo_client.get(_url(inv.Organisation, "changelist")).content.decode()
    assert _url(inv.Organisation, "add") not in html


def test_empty_changelist_explains_what_belongs_there(dpo_client):
    html = dpo_client.get(_url(inv.Transfer, "changelist")).content.decode()
    assert "No transfers recorded" in html
    html = dpo_client.get(_url(inv.Transfer, "changelist") + "?q=nothing").content.decode()
    assert "match this search" in html


def test_dpo_can_autocomplete_users_for_owners(dpo_client):
    UserFactory(username="owner-person")
    response = dpo_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "inventory",
            "model_name": "dataasset",
            "field_name": "owner",
            "term": "owner-p",
        },
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["owner-person"]


# --- audit log ------------------------------------------------------------------------------


def test_auditlog_records_the_acting_user_of_an_admin_change(dpo_client, dpo):
    # given a system with no assets
    system = SystemFactory(name="Old name")
    page = dpo_client.get(_url(inv.System, "change", system.pk)).content.decode()
    # when the DPO renames it in the admin
    response = dpo_client.post(
        _url(inv.System, "change", system.pk), form_data(page, name="New name")
    )
    assert response.status_code == 302
    # then the trail has the change, made by the DPO
    entry = LogEntry.objects.get_for_object(system).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == dpo
    assert entry.changes_dict["name"] == ["Old name", "New name"]
    # and the history page shows it
    html = dpo_client.get(_url(inv.System, "auditlog", system.pk)).content.decode()
    assert "New name" in html


def test_auditlog_records_category_changes_of_an_asset(dpo_client, dpo):
    asset = DataAssetFactory(categories=[category("contact-email")])
    page = dpo_client.get(_url(inv.DataAsset, "change", asset.pk)).content.decode()
    data = form_data(page, categories=[str(category("health").pk)])
    assert dpo_client.post(_url(inv.DataAsset, "change", asset.pk), data).status_code == 302
    entries = LogEntry.objects.get_for_object(asset).filter(actor=dpo)
    assert entries.exists()
    assert any("categories" in (e.changes_dict or {}) for e in entries)


def test_category_form_refuses_an_ordinary_child_of_a_special_category(dpo_client):
    page = dpo_client.get(_url(inv.DataCategory, "add")).content.decode()
    data = form_data(
        page,
        name="Allergies",
        slug="allergies",
        parent=str(inv.DataCategory.objects.get(slug="health").pk),
        kind="ordinary",
    )
    response = dpo_client.post(_url(inv.DataCategory, "add"), data)
    assert response.status_code == 200
    assert "is Special category (Art. 9) data too" in response.content.decode()
    assert not inv.DataCategory.objects.filter(slug="allergies").exists()
    data["kind"] = "special"
    assert dpo_client.post(_url(inv.DataCategory, "add"), data).status_code == 302
