"""The record of processing in the DPO's own language: a German reader downloads the XLSX
with German headers, cell texts and sheet names (Art. 30 DSGVO, Verzeichnis von
Verarbeitungstätigkeiten); a snapshot stays in the organisation's language."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from apps.reports.renderers import render_ropa
from apps.reports.ropa import ropa_build
from apps.reports.services import ropa_snapshot_take

pytestmark = pytest.mark.django_db


def _sheets(body: bytes) -> dict[str, list[list]]:
    wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    return {name: [list(r) for r in wb[name].iter_rows(values_only=True)] for name in wb.sheetnames}


def _column_row(rows: list[list]) -> list:
    return next(r for r in rows if r and r[0] == "Referenz")


def test_the_ropa_xlsx_renders_in_german(ropa_world):
    # Given the known inventory, when the controller record is built and written in German,
    with translation.override("de"):
        sheets = _sheets(render_ropa(ropa_build(), "xlsx"))
    # then the sheets, the title, the organisation block and every column header are German,
    assert list(sheets) == ["Verantwortlicher", "Lücken"]
    rows = sheets["Verantwortlicher"]
    assert rows[0][0] == (
        "Verzeichnis von Verarbeitungstätigkeiten: Verantwortlicher (Art. 30 Abs. 1 DSGVO)"
    )
    firsts = [r[0] for r in rows if r and r[0]]
    assert "Name des Verantwortlichen" in firsts
    assert "Name des Datenschutzbeauftragten" in firsts
    assert "Zusammenfassung" in firsts
    labels = _column_row(rows)
    for german in (
        "Verarbeitungstätigkeit",
        "Zwecke der Verarbeitung",
        "Kategorien betroffener Personen",
        "Kategorien personenbezogener Daten",
        "Kategorien von Empfängern",
        "Aufbewahrungs- und Löschfristen",
        "Allgemeine Beschreibung der technischen und organisatorischen Maßnahmen",
        "Rechtsgrundlage nach Art. 6",
        "DSFA erforderlich?",
        "Lücken (erforderlich, fehlend)",
    ):
        assert german in labels, german
    assert "Purpose of processing" not in labels
    # the article row above the headers cites the GDPR the German way,
    articles = rows[rows.index(labels) - 1]
    assert "Art. 30 Abs. 1 lit. b" in articles
    # and the cells that are words, not data, are German too.
    gappy = dict(zip(labels, next(r for r in rows if r and r[0] == "PA-002"), strict=True))
    assert gappy["Zwecke der Verarbeitung"] == "FEHLT (erforderlich)"
    assert gappy["Name und Kontaktdaten des gemeinsam Verantwortlichen"] == "entfällt"
    assert gappy["Ist eine Verletzung des Schutzes personenbezogener Daten eingetreten?"] in (
        "Ja",
        "Nein",
    )
    gaps = sheets["Lücken"]
    assert gaps[0][0] == "Lücken je Tätigkeit"
    assert gaps[1][:4] == ["Referenz", "Verarbeitungstätigkeit", "Fehlt", "Erforderlich nach"]


def test_a_german_reader_downloads_the_ropa_in_german(client, ropa_world, dpo):
    # Given a DPO who chose German with the language switcher,
    client.force_login(dpo)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    # when they download the XLSX from the admin,
    response = client.get(reverse("admin:reports_ropa"), {"format": "xlsx"})
    # then its headers are German; the same download in English is unchanged.
    assert response.status_code == 200
    rows = _sheets(response.content)["Verantwortlicher"]
    assert "Zwecke der Verarbeitung" in _column_row(rows)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en-gb"
    english = _sheets(client.get(reverse("admin:reports_ropa"), {"format": "xlsx"}).content)
    assert "Purpose of processing" in next(
        r for r in english["Controller"] if r and r[0] == "Reference"
    )


def test_a_snapshot_is_frozen_in_the_organisations_language(ropa_world, dpo, settings):
    # Given an organisation that works in English, when a German reader takes a snapshot,
    settings.LANGUAGE_CODE = "en-gb"
    with translation.override("de"):
        snapshot = ropa_snapshot_take(taken_by=dpo)
    # then the frozen record is in English, so two snapshots compare value with value.
    labels = [c["label"] for c in snapshot.content["columns"]]
    assert "Purpose of processing" in labels
    assert snapshot.content["title"].startswith("Record of processing activities")


def test_the_ropa_page_and_its_forms_read_in_german(client, ropa_world, dpo):
    # Given a DPO reading in German, when they open the record of processing,
    client.force_login(dpo)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    page = client.get(reverse("admin:reports_ropa")).content.decode()
    # then the title, the column headers and the snapshot form are German.
    assert "Verzeichnis von Verarbeitungstätigkeiten: Verantwortlicher" in page
    assert "Zwecke der Verarbeitung" in page
    assert "Datierte Kopie einfrieren" in page and "Stand festhalten" in page
