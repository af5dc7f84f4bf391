"""What a purge run stored as codes with parameters (``PurgeRun.error_code``,
``note_codes``), put in words in the active language when someone reads it."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.formats import number_format
from django.utils.translation import gettext

from jitportal.formats import datetime_display

from .choices import PurgeAction, RunError, RunNote


def four_eyes_text(rule: Any, rows: int, threshold: int) -> str:
    """Why a first run waits for a second person, in the active language."""
    return gettext(
        "The first run of “%(rule)s” would purge %(rows)s rows, more than the four-eyes "
        "threshold of %(threshold)s: a second person with the permission to confirm purges "
        "must confirm it first."
    ) % {
        "rule": rule,
        "rows": number_format(rows, force_grouping=True),
        "threshold": number_format(threshold, force_grouping=True),
    }


def run_error_text(code: str, params: dict[str, Any]) -> str:
    """The sentence for a run's error code, in the active language."""
    if code == RunError.ANOTHER_RUNNING:
        return gettext("Refused: another run of this rule is running.")
    if code == RunError.RULE_PROBLEMS:
        return gettext("Refused: %(reason)s") % {
            "reason": " ".join(str(p) for p in params.get("problems", []))
        }
    if code == RunError.BATCH_SIZE:
        return gettext("Refused: the batch size must be at least 1.")
    if code == RunError.FOUR_EYES:
        return gettext("Refused: %(reason)s") % {
            "reason": four_eyes_text(
                params.get("rule", ""), params.get("rows", 0), params.get("threshold", 0)
            )
        }
    if code == RunError.STOPPED_BEFORE_START:
        return gettext("Stopped before it began by %(user)s.") % {"user": params.get("by", "")}
    if code == RunError.INTERRUPTED:
        host = params.get("host") or gettext("unknown host")
        process = (
            gettext("%(host)s, pid %(pid)s") % {"host": host, "pid": params["pid"]}
            if params.get("pid")
            else host
        )
        at = parse_datetime(params.get("at") or "")
        return gettext(
            "Interrupted: the process running it (%(process)s) ended without finishing; "
            "closed by %(user)s at %(time)s. A new run continues where it stopped."
        ) % {
            "process": process,
            "user": params.get("by", ""),
            "time": datetime_display(at) if at else "",
        }
    return code


def holds_text(holds: list[tuple[int, str]] | list[list[Any]]) -> str:
    """Whole-rule holds as people read them: "legal hold #3 on …; legal hold #5 on …"."""
    return "; ".join(
        gettext("legal hold #%(id)s on %(covers)s") % {"id": pk, "covers": covers}
        for pk, covers in holds
    )


def _stored_holds_text(holds: list[list[Any]]) -> str:
    """Holds a note names, with what each covers said in the reader's language (the hold
    rows stay for good); the label stored with the note stands in for a hold not found."""
    from .models import LegalHold

    ids = [pk for pk, _covers in holds]
    found = {
        hold.pk: hold.covers_label
        for hold in LegalHold.objects.filter(pk__in=ids).select_related(
            "asset__system", "rule", "content_type"
        )
    }
    return holds_text([(pk, found.get(pk, covers)) for pk, covers in holds])


def run_note_text(code: str, params: dict[str, Any]) -> str:
    """The sentence for one of a run's note codes, in the active language."""
    if code == RunNote.WOULD_GO:
        rows = number_format(params.get("rows", 0), force_grouping=True)
        parts = [
            gettext("Would delete %(rows)s row(s).") % {"rows": rows}
            if params.get("action") == PurgeAction.DELETE
            else gettext("Would anonymise %(rows)s row(s).") % {"rows": rows}
        ]
        if params.get("holds"):
            parts.append(
                gettext("Blocked by %(holds)s.") % {"holds": _stored_holds_text(params["holds"])}
            )
        if params.get("four_eyes"):
            parts.append(gettext("Needs four-eyes confirmation first."))
        return " ".join(parts)
    if code == RunNote.HELD:
        return gettext("Nothing purged: %(holds)s covers this rule.") % {
            "holds": _stored_holds_text(params.get("holds", []))
        }
    if code == RunNote.STOPPED:
        return gettext("Stopped on request.")
    if code == RunNote.HOLD_PLACED:
        return gettext("Stopped: %(holds)s was placed during the run.") % {
            "holds": _stored_holds_text(params.get("holds", []))
        }
    if code == RunNote.NOT_COUNTED:
        return gettext("The total was not counted beside the run; matched is the rows examined.")
    if code == RunNote.NOT_COUNTED_INTERRUPTED:
        return gettext(
            "The total was not counted before the run ended; matched is the rows examined."
        )
    if code == RunNote.FOUR_EYES_CONFIRMED:
        return gettext(
            "Four eyes: asked for by %(requested_by)s, confirmed by %(confirmed_by)s."
        ) % {
            "requested_by": params.get("requested_by", ""),
            "confirmed_by": params.get("confirmed_by", ""),
        }
    return code
