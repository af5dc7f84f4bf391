"""The Block Kit of the Slack messages: a request for an approver, its outcome, the denial
modal and the short replies only the clicker sees (https://api.slack.com/block-kit).

Everything is written in the organisation's language (``LANGUAGE_CODE``; a Slack user carries
none the portal knows) and every time in the portal's time zone with its zone name
(``jitportal.formats.datetime_display``).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.access.models import AccessRequest, RequestStatus
from apps.access.selectors import approvals_still_needed_label
from jitportal.formats import datetime_display

ACTION_APPROVE = "jp_approve"
ACTION_DENY = "jp_deny"
ACTION_OPEN_PORTAL = "jp_open_portal"
VIEW_DENY = "jp_deny_reason"
REASON_BLOCK = "reason"
REASON_INPUT = "reason_input"
#: The longest reason the deny modal takes (Slack's plain_text_input allows up to 3000).
REASON_MAX = 2000
#: Slack's limits: 3,000 characters in a text object, 150 in a button's or modal's title.
TEXT_MAX = 2900


def esc(text: Any) -> str:
    """``text`` for Slack's mrkdwn: &, < and > escaped (nothing typed becomes a link or a
    mention), cut to what a text object may hold."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value if len(value) <= TEXT_MAX else value[: TEXT_MAX - 1] + "…"


def decision_page_url(request_id: int) -> str:
    """The portal's page where this request is approved (after a fresh second factor)."""
    path = reverse("admin:access_accessrequest_decide", args=(request_id, "approve"))
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _person(user: Any) -> str:
    if user is None:
        return _("the policy")
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{full} ({user.get_username()})" if full else user.get_username()


def _purpose(request: AccessRequest) -> str:
    activity = request.processing_activity
    if activity is None:
        return _("None given")
    basis = activity.get_lawful_basis_display() or _("no lawful basis recorded")
    return f"{activity.name} ({basis})"


def request_facts(request: AccessRequest, *, special: bool) -> list[dict[str, Any]]:
    """Who asks, for what, when, why: the blocks every message about ``request`` starts with."""
    fields = [
        (_("Requester"), _person(request.requester)),
        (_("Access to"), request.target_label),
        (
            _("Window"),
            f"{datetime_display(request.starts_at)} → {datetime_display(request.ends_at)}",
        ),
        (_("Purpose"), _purpose(request)),
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": (_("Access request #%(number)s") % {"number": request.pk})[:150],
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{esc(label)}*\n{esc(value)}"[:2000]}
                for label, value in fields
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{esc(_('Justification'))}*\n"
                + esc(request.justification or _("None given")),
            },
        },
    ]
    if special:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": ":warning: " + esc(special_note()),
                    }
                ],
            }
        )
    return blocks


def _button(text: str, action_id: str, value: str, style: str = "") -> dict[str, Any]:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75]},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _outcome_text(request: AccessRequest, *, approver_decided: bool) -> str:
    when = datetime_display(request.decided_at) if request.decided_at else ""
    if request.status == RequestStatus.APPROVED:
        return _("Approved by %(who)s on %(when)s.") % {
            "who": _person(request.decided_by),
            "when": when,
        }
    if request.status == RequestStatus.DENIED:
        return _("Denied by %(who)s on %(when)s: %(reason)s") % {
            "who": _person(request.decided_by),
            "when": when,
            "reason": request.decision_text,
        }
    if request.status == RequestStatus.LAPSED:
        return _("Lapsed on %(when)s: nobody decided in time.") % {"when": when}
    if request.status == RequestStatus.CANCELLED:
        return _("Cancelled on %(when)s.") % {"when": when}
    still = approvals_still_needed_label(request)
    if approver_decided:
        return _("You approved. Still needed: %(still)s.") % {"still": still}
    return _("Still needed: %(still)s.") % {"still": still}


def shown_state(request: AccessRequest, *, approver_decided: bool) -> str:
    """What a message about ``request`` shows to an approver, as a short key: a message is
    updated only when this changes."""
    if request.status != RequestStatus.PENDING:
        return str(request.status)
    return f"pending:{int(approver_decided)}:{request.approvals.count()}"


def request_message(
    request: AccessRequest, *, special: bool, approver_decided: bool
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of the message showing ``request`` to one approver: the facts,
    then the buttons while the approver may still decide, else the outcome."""
    blocks = request_facts(request, special=special)
    text = _("Access request #%(number)s from %(who)s for %(target)s") % {
        "number": request.pk,
        "who": _person(request.requester),
        "target": request.target_label,
    }
    open_for_them = request.status == RequestStatus.PENDING and not approver_decided
    if open_for_them:
        value = str(request.pk)
        blocks.append(
            {
                "type": "actions",
                "block_id": f"decide-{request.pk}",
                "elements": [
                    _button(_("Approve"), ACTION_APPROVE, value, "primary"),
                    _button(_("Deny"), ACTION_DENY, value, "danger"),
                ],
            }
        )
    if request.status != RequestStatus.PENDING or approver_decided or request.approvals.exists():
        outcome = _outcome_text(request, approver_decided=approver_decided)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": esc(outcome)}]})
        if not open_for_them:
            text = f"{text}: {outcome}"
    return esc(text), blocks


def deny_modal(*, request: AccessRequest, channel: str) -> dict[str, Any]:
    """The modal that asks the reason for a denial (``views.open``)."""
    return {
        "type": "modal",
        "callback_id": VIEW_DENY,
        "private_metadata": json.dumps({"request": request.pk, "channel": channel}),
        "title": {"type": "plain_text", "text": _("Deny request")[:24]},
        "submit": {"type": "plain_text", "text": _("Deny")[:24]},
        "close": {"type": "plain_text", "text": _("Cancel")[:24]},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": esc(
                        _("Deny request #%(number)s for %(target)s?")
                        % {"number": request.pk, "target": request.target_label}
                    ),
                },
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": _("Reason")[:2000]},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "max_length": REASON_MAX,
                },
            },
        ],
    }


def _mfa_on() -> bool:
    # The portal's own switch (apps.signin.mfa reads the same setting; chat imports no signin).
    return bool(getattr(settings, "MFA_REQUIRED", False))


def special_note() -> str:
    """The warning on a special-category request's message: why it is not approved here."""
    if _mfa_on():
        return _(
            "Special-category data (GDPR Art. 9/10): approving needs a fresh second factor "
            "on the portal."
        )
    return _(
        "Special-category data (GDPR Art. 9/10): it is approved on the portal only, never "
        "from Slack."
    )


def portal_link_reply(request_id: int) -> tuple[str, list[dict[str, Any]]]:
    """The reply for a decision Slack cannot take: a button to the portal's decision page.
    Where MFA applies, the reason is the fresh second factor Slack cannot ask for; without
    MFA, Slack still takes no such approval (architecture.md, invariant 25), and says so."""
    if _mfa_on():
        text = _(
            "Approving request #%(number)s needs a fresh second factor (special-category "
            "data, GDPR Art. 9/10, or break-glass), which Slack cannot ask for: approve it on "
            "the portal."
        ) % {"number": request_id}
    else:
        text = _(
            "Request #%(number)s opens special-category data (GDPR Art. 9/10) or is "
            "break-glass: such approvals are taken on the portal only, never from Slack. "
            "Approve it on the portal."
        ) % {"number": request_id}
    return esc(text), [
        {"type": "section", "text": {"type": "mrkdwn", "text": esc(text)}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": _("Open the decision page")[:75]},
                    "action_id": ACTION_OPEN_PORTAL,
                    "url": decision_page_url(request_id),
                }
            ],
        },
    ]
