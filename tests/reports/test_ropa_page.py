"""The record of processing as people read it: counts that agree, readable cell colours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from apps.reports.dashboard import dashboard_data
from apps.reports.ropa import ropa_build

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_the_dashboard_counts_completeness_as_the_record_does(ropa_world):
    # given controller-side activities (one with gaps) and a processor activity
    # when the dashboard and both records are built
    data = dashboard_data()
    controller, processor = ropa_build()["summary"], ropa_build(processor=True)["summary"]
    # then the dashboard's counts are the records' own
    assert (data["activities_complete"], data["activities"]) == (
        controller["complete"],
        controller["activities"],
    )
    assert (data["processor_activities_complete"], data["processor_activities"]) == (
        processor["complete"],
        processor["activities"],
    )
    assert data["activities"] == 3 and data["processor_activities"] == 1


def _luminance(hex_colour: str) -> float:
    """Relative luminance, WCAG 2.1 (sRGB)."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _long(colour: str) -> str:
    return "#" + "".join(c * 2 for c in colour[1:]) if len(colour) == 4 else colour


CELL_RULE = re.compile(r"td\.cell-(\w+)\s*\{([^}]*)\}")


@pytest.mark.parametrize(
    "path", ["static/reports/reports.css", "templates/reports/ropa_print.html"]
)
def test_every_cell_state_meets_wcag_aa_contrast(path):
    # given the stylesheet of the record's cells (missing, not filled, not applicable)
    rules = CELL_RULE.findall((ROOT / path).read_text())
    assert {state for state, _ in rules} >= {"missing", "blank", "na"}
    for state, body in rules:
        colour = re.search(r"(?<![-\w])color\s*:\s*(#[0-9a-fA-F]{3,6})", body)
        background = re.search(r"background\s*:\s*(#[0-9a-fA-F]{3,6})", body)
        assert colour, (path, state)
        fg = _long(colour.group(1))
        bg = _long(background.group(1)) if background else "#ffffff"
        # then its text is at least 4.5:1 against its background (WCAG 2.1 SC 1.4.3)
        assert _contrast(fg, bg) >= 4.5, (path, state, fg, bg, round(_contrast(fg, bg), 2))


def test_the_contrast_formula_matches_wcag_examples():
    assert round(_contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(_contrast("#8a94a6", "#f6f7fb"), 2) == 2.86  # the old "n/a" grey fails
