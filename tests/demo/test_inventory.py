import pytest

from apps.audit.models import AuditEvent
from apps.demo.inventory import load_inventory_demo
from apps.inventory import models as inv
from apps.inventory.gdpr import OrganisationRole, TransferMechanism
from apps.inventory.selectors import processing_activity_missing_keys
from apps.inventory.validation import processing_activity_validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(groups):
    return load_inventory_demo()


def test_demo_organisation_has_the_controller_header(demo):
    org = inv.Organisation.objects.get()
    assert org.legal_name and org.address and org.email and org.telephone
    assert org.dpo_name and org.dpo_address and org.dpo_email and org.dpo_telephone
    assert org.representative_name and org.representative_email


def test_demo_size(demo):
    assert inv.System.objects.count() >= 5
    assert inv.DataAsset.objects.count() >= 20
    assert inv.ProcessingActivity.objects.count() >= 10
    assert demo["created"]["activities"] == inv.ProcessingActivity.objects.count()
    # every asset has categories, subjects, an owner and a steward group
    assert not inv.DataAsset.objects.filter(categories=None).exists()
    assert not inv.DataAsset.objects.filter(subjects=None).exists()
    assert not inv.DataAsset.objects.filter(owner=None).exists()
    assert not inv.DataAsset.objects.filter(steward_group=None).exists()


def test_demo_has_special_category_activities(demo):
    special = set(inv.ProcessingActivity.objects.special_data().values_list("name", flat=True))
    assert {
        "Sickness absence and occupational health",
        "Building access with fingerprint readers",
        "Pre-employment criminal record checks",
    } <= special
    fingerprints = inv.DataAsset.objects.get(name="Fingerprint templates")
    assert fingerprints.is_special


def test_demo_transfers_with_sccs_and_adequacy(demo):
    sccs = inv.Transfer.objects.get(mechanism=TransferMechanism.SCCS)
    assert sccs.country.code == "US" and sccs.safeguard_link
    adequacy = inv.Transfer.objects.filter(mechanism=TransferMechanism.ADEQUACY)
    assert {t.country.code for t in adequacy} == {"CH"}
    assert inv.System.objects.get(name="Support desk").outside_eea


def test_every_demo_activity_passes_validation(demo):
    for activity in inv.ProcessingActivity.objects.all():
        activity.full_clean()
        processing_activity_validate(activity=activity)
    for transfer in inv.Transfer.objects.all():
        transfer.full_clean()


def test_some_demo_activities_are_deliberately_incomplete(demo):
    missing = {
        a.name: processing_activity_missing_keys(a) for a in inv.ProcessingActivity.objects.all()
    }
    assert missing["Diversity and equal opportunities monitoring"] == [
        "consent_record_link",
        "retention",
    ]
    assert missing["Email newsletter"] == ["transfers"]
    assert missing["Website analytics"] == ["next_review_on"]
    assert missing["Sickness absence and occupational health"] == ["processor_contract"]
    assert missing["Payroll services for Lumen Clinics Ltd"] == ["controller_on_behalf"]
    assert missing["Payroll"] == [] and missing["Customer support"] == []
    assert inv.ProcessingActivity.objects.as_processor().count() == 1
    assert (
        inv.ProcessingActivity.objects.get(role=OrganisationRole.PROCESSOR).name
        == "Payroll services for Lumen Clinics Ltd"
    )


def test_crm_assets_are_bound_to_the_governed_models(demo):
    customers = inv.DataAsset.objects.get(system__name="CRM", name="Customers")
    tickets = inv.DataAsset.objects.get(system__name="CRM", name="Support tickets")
    assert customers.governed_model.model_class().__name__ == "Customer"
    assert tickets.governed_model.model_class().__name__ == "SupportTicket"
    assert customers.is_special


def test_second_run_creates_nothing_and_records_one_audit_event(demo):
    assert AuditEvent.objects.filter(action="inventory.demo.loaded").count() == 1
    again = load_inventory_demo()
    assert again["created"] == {}
    assert AuditEvent.objects.filter(action="inventory.demo.loaded").count() == 1


def test_dpo_edits_to_demo_rows_survive_a_rerun(demo):
    activity = inv.ProcessingActivity.objects.get(name="Website analytics")
    activity.purposes = "Edited by the DPO"
    activity.save()
    activity.recipients.clear()
    load_inventory_demo()
    activity.refresh_from_db()
    assert activity.purposes == "Edited by the DPO"
    assert not activity.recipients.exists()
