"""The staff pages, their messages and the emails speak the reader's language; what the
portal decides on its own is stored as a code and read in each reader's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from apps.access import services
from apps.access.models import DecisionCode, RequestStatus
from jitportal.durations import duration_text

pytestmark = pytest.mark.django_db


def german_client(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(user)
    return client


def submit(user, role):
    now = timezone.now()
    with translation.override("de"):
        return services.access_request_submit(
            requester=user,
            role=role,
            starts_at=now,
            ends_at=now + timedelta(hours=2),
            justification="Kundenbeschwerde",
        )


def test_the_staff_home_speaks_german(staff_user):
    # Given a member of staff whose browser prefers German, when they open their home page
    html = german_client(staff_user).get(reverse("portal-home")).content.decode()
    # then it speaks German
    assert 'lang="de"' in html
    assert "Mein Zugriff" in html
    assert "Sie haben keinen Zugriff auf personenbezogene Daten" in html
    assert "My access" not in html


def test_the_request_form_and_its_errors_speak_german(staff_user, role):
    client = german_client(staff_user)
    # Given the request form in German
    html = client.get(reverse("access-request-create")).content.decode()
    assert "Worauf benötigen Sie Zugriff?" in html
    assert "Wann und wie lange" in html
    # when it is sent for the role with no justification
    response = client.post(
        reverse("access-request-create"),
        {"target": f"role-{role.pk}", "start": "now", "duration": "2"},
    )
    html = response.content.decode()
    # then nothing is saved and the refusal is in German
    assert "Es wurde nichts gespeichert" in html
    assert "diese Richtlinie verlangt es" in html


def test_the_policy_panel_writes_durations_in_german(staff_user, role):
    html = (
        german_client(staff_user)
        .get(reverse("access-request-create"), {"target": f"role-{role.pk}"})
        .content.decode()
    )
    assert "Richtlinie für" in html
    assert duration_text(role.max_duration).split()[0] in html
    with translation.override("de"):
        assert duration_text(timedelta(hours=8)) == "8 Stunden"
        assert duration_text(timedelta(days=1, minutes=30)) == "1 Tag 30 Minuten"


def test_emails_go_out_in_the_organisations_language(
    settings, staff_user, approver, role, mailoutbox, django_capture_on_commit_callbacks
):
    # Given a portal whose organisation works in German
    settings.LANGUAGE_CODE = "de"
    # when a request is made (by someone reading the portal in English)
    with django_capture_on_commit_callbacks(execute=True), translation.override("en-gb"):
        request = submit(staff_user, role)
    # then its approver is told in German
    mail = mailoutbox[-1]
    assert mail.to == [approver.email]
    assert mail.subject.startswith(f"Zugriffsantrag #{request.pk}:")
    assert "Guten Tag" in mail.body
    assert "Noch erforderliche Genehmigungen: 1 weitere" in mail.body
    assert "Hier entscheiden:" in mail.body


def test_emails_stay_in_english_by_default(
    staff_user, approver, role, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(staff_user, role)
    assert mailoutbox[-1].body.startswith("Hello ")
    assert "Approvals still needed: 1 more" in mailoutbox[-1].body


def test_a_lapsed_request_stores_a_code_and_reads_in_each_language(staff_user, role):
    # Given a request nobody decided before its deadline
    request = submit(staff_user, role)
    services.access_reconcile(now=request.lapses_at + timedelta(minutes=1))
    request.refresh_from_db()
    # then no English sentence is stored for display, only the code
    assert request.status == RequestStatus.LAPSED
    assert request.decision_code == DecisionCode.LAPSED and request.decision_comment == ""
    # and each reader reads it in their own language
    with translation.override("de"):
        assert request.decision_text == "Niemand hat vor Ablauf der Frist des Antrags entschieden."
    with translation.override("fr"):
        assert request.decision_text == "Personne n'a statué avant l'échéance de la demande."
    html = (
        german_client(staff_user)
        .get(reverse("access-request-detail", args=[request.pk]))
        .content.decode()
    )
    assert "Niemand hat vor Ablauf der Frist des Antrags entschieden." in html
    assert "Verfallen" in html
