"""The retention pages and the purge run's evidence in the reader's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from apps.retention.models import HoldBasis, HoldScope, PurgeRun, RunError, RunNote
from apps.retention.services import legal_hold_place, purge_run_dry
from tests.retention.conftest import NOW, OLD
from tests.retention.factories import CustomerFactory, make_rule

pytestmark = pytest.mark.django_db


def test_the_preview_page_speaks_german(client, dpo):
    # Given a rule with expired rows and a German-speaking DPO
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(2)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        client.force_login(dpo)
        # when they open its preview
        url = reverse("admin:retention_retentionrule_preview", args=[rule.pk])
        with translation.override("en-gb"):  # the request's language goes with it
            page = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    # then its labels and sentences are German, and the numbers are the same
    assert "Stichtag" in page and "Würden gelöscht" in page
    assert "Diese Vorschau als Probelauf speichern" in page
    assert '<td id="matched">2</td>' in page


def test_a_runs_stored_codes_are_read_in_the_readers_language():
    # Given a dry run and a refused run, stored as codes with their parameters
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(3)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        dry = purge_run_dry(rule_id=rule.pk, actor=None)
    refused = PurgeRun(rule=rule, error_code=RunError.ANOTHER_RUNNING)
    assert dry.note_codes[0][0] == RunNote.WOULD_GO and not dry.note_detail
    # then each reader gets them in their own language
    with translation.override("en-gb"):
        assert dry.note == "Would delete 3 row(s)."
        assert refused.error == "Refused: another run of this rule is running."
    with translation.override("de"):
        assert dry.note == "Würde 3 Zeile(n) löschen."
        assert refused.error == "Abgelehnt: Ein anderer Lauf dieser Regel läuft bereits."
    with translation.override("fr"):
        assert dry.note == "Supprimerait 3 ligne(s)."
        assert refused.error.startswith("Refusée :")


def test_a_run_from_before_the_codes_keeps_its_stored_text():
    # Given a run whose error and note were stored as text (before the codes)
    run = PurgeRun(error_detail="Refused: the batch size must be at least 1.", note_detail="Old.")
    # then that text is shown as it was written, in any language
    with translation.override("de"):
        assert run.error == "Refused: the batch size must be at least 1." and run.note == "Old."


def test_a_hold_named_in_a_note_is_described_in_the_readers_language(dpo):
    # Given a dry run blocked by a hold on its rule
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(2)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        hold = legal_hold_place(
            scope=HoldScope.RULE,
            basis=HoldBasis.ART_17_3_E,
            reason="Pending claim",
            review_on=timezone.localdate() + timedelta(days=30),
            rule=rule,
            actor=dpo,
        )
        dry = purge_run_dry(rule_id=rule.pk, actor=dpo)
    # then a German reader reads what the hold covers in German, whoever wrote the note
    with translation.override("de"):
        assert f"Blockiert durch Löschsperre #{hold.pk} für Regel {rule.name}." in dry.note
    with translation.override("en-gb"):
        assert f"Blocked by legal hold #{hold.pk} on rule {rule.name}." in dry.note
