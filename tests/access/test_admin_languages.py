"""The approver's and the DPO's admin pages speak the reader's language: the queue, its
filters and its columns, and the inventory's filters and messages, in German and French."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.inventory.gdpr import LawfulBasis
from tests.access.factories import AccessRequestFactory
from tests.factories import ProcessingActivityFactory

pytestmark = pytest.mark.django_db

QUEUE_WORDS = {
    "de": ["Anträge, die auf Ihre Entscheidung warten", "Rechtsgrundlage:", "Genehmigen", "Suche"],
    "fr": ["Demandes en attente de votre décision", "Base légale :", "Approuver", "Recherche"],
}


@pytest.mark.parametrize("language", ["de", "fr"])
def test_the_approval_queue_speaks_the_readers_language(client, role, approver, language):
    # Given a request waiting for an approver who reads German or French,
    activity = ProcessingActivityFactory(lawful_basis=LawfulBasis.CONTRACT)
    AccessRequestFactory(role=role, processing_activity=activity)
    client.force_login(approver)
    # when they open their queue in that language,
    page = client.get(
        reverse("admin:access_accessrequest_queue"), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    # then its title, columns, filters and buttons are in it, and not in English.
    for words in QUEUE_WORDS[language]:
        assert words in page
    assert "Requests waiting for your decision" not in page
    assert "Lawful basis:" not in page


@pytest.mark.parametrize(
    ("language", "words"),
    [("de", "Vollständigkeit nach Art. 30 DSGVO"), ("fr", "Complétude au titre de l’art. 30")],
)
def test_the_register_of_processing_activities_filters_in_the_readers_language(
    client, dpo, language, words
):
    # Given the DPO reading the processing activities in German or French,
    ProcessingActivityFactory()
    client.force_login(dpo)
    page = client.get(
        reverse("admin:inventory_processingactivity_changelist"), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    # then the Art. 30 completeness filter is named in that language.
    assert words in page
    assert "Art. 30 completeness" not in page
