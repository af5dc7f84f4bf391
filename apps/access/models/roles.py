"""Access roles: the policies people may ask under."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import DataAsset

# An example in a ticket hint is the text after one of these words, up to ";", ")" or the end
# of the sentence; several examples are separated by commas, "or" or "and".
_EXAMPLE_MARKER = re.compile(
    r"(?:\be\.?\s?g\.|\bfor (?:example|instance)\b|\bsuch as\b|\bexample:)\s*:?\s*(?P<rest>[^;)\n]*)",
    re.IGNORECASE,
)
_EXAMPLE_SPLIT = re.compile(r"\s*(?:,|\bor\b|\band\b)\s*", re.IGNORECASE)
_QUOTES = "\"'`\u2018\u2019\u201c\u201d\u00ab\u00bb"


def ticket_hint_examples(hint: str) -> list[str]:
    """The example ticket references in a role's ticket hint, e.g. ``["INC-1234", "CASE-77"]``
    for "an incident or case number, e.g. INC-1234 or CASE-77". An example is one word (no
    space) after "e.g.", "for example", "for instance", "such as" or "example:"; quotes and a
    closing full stop are not part of it. Words with spaces are description, not examples."""
    examples: list[str] = []
    for match in _EXAMPLE_MARKER.finditer(hint or ""):
        rest = re.split(r"\.(?:\s|$)", match.group("rest"), maxsplit=1)[0]
        for part in _EXAMPLE_SPLIT.split(rest):
            word = part.strip().strip(_QUOTES).rstrip(".:!?").strip(_QUOTES)
            if word and not any(ch.isspace() for ch in word):
                examples.append(word)
    return examples


class AccessRole(models.Model):
    """A bundle of permissions on data assets, and the policy for asking for it."""

    name = models.CharField(max_length=150, unique=True, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    assets = models.ManyToManyField(
        DataAsset, related_name="access_roles", verbose_name=_("assets")
    )
    can_view = models.BooleanField(default=True, verbose_name=_("can view"))
    can_change = models.BooleanField(default=False, verbose_name=_("can change"))
    can_export = models.BooleanField(default=False, verbose_name=_("can export"))

    # Who may ask: members of these groups or these users; nobody listed means any active user.
    requestable_by_groups = models.ManyToManyField(
        Group, blank=True, related_name="+", verbose_name=_("requestable by groups")
    )
    requestable_by_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        verbose_name=_("requestable by users"),
    )
    default_duration = models.DurationField(
        default=timedelta(hours=4), verbose_name=_("default duration")
    )
    max_duration = models.DurationField(default=timedelta(hours=8), verbose_name=_("max duration"))
    max_total_duration = models.DurationField(
        _("longest reach through extensions"),
        default=timedelta(hours=24),
        help_text=_(
            "How far one grant may reach from its start, its extensions included; "
            "checked on every extension, automatic ones too. At least the maximum duration."
        ),
    )
    allow_future_start = models.BooleanField(default=True, verbose_name=_("allow future start"))
    max_start_ahead = models.DurationField(
        default=timedelta(days=14),
        help_text=_("How far ahead a future start may be."),
        verbose_name=_("max start ahead"),
    )

    # Who decides
    approvals_required = models.PositiveSmallIntegerField(
        default=1,
        help_text=_("0 approves automatically; N needs N distinct eligible approvers."),
        verbose_name=_("approvals required"),
    )
    approve_by_asset_owner = models.BooleanField(
        default=True, verbose_name=_("approve by asset owner")
    )
    approve_by_steward_group = models.BooleanField(
        default=True, verbose_name=_("approve by steward group")
    )
    approver_groups = models.ManyToManyField(
        Group, blank=True, related_name="+", verbose_name=_("approver groups")
    )
    require_dpo = models.BooleanField(
        _("DPO approval also required"),
        default=False,
        help_text=_("Always on for assets holding Art. 9/10 data, whatever this says."),
    )
    require_justification = models.BooleanField(
        default=True, verbose_name=_("require justification")
    )
    require_ticket = models.BooleanField(default=False, verbose_name=_("require ticket"))
    ticket_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text=_(
            r"Regular expression the ticket must match, e.g. ^INC-\d+$ (staff see the "
            "ticket hint below, not this)."
        ),
        verbose_name=_("ticket pattern"),
    )
    ticket_hint = models.CharField(
        max_length=200,
        blank=True,
        help_text=_(
            "What staff are shown about the ticket reference instead of the pattern: a "
            "plain description or an example, e.g. “an incident or case number, e.g. INC-1234”. "
            "An example (after “e.g.”, “for example” or “such as”) must match the pattern."
        ),
        verbose_name=_("ticket hint"),
    )
    requester_mfa_required = models.BooleanField(
        default=False,
        verbose_name=_("second factor required of the requester"),
        help_text=_(
            "The requester must present a second factor (within the last few minutes) on the "
            "portal's request page before asking for this role."
        ),
    )
    pending_timeout = models.DurationField(
        default=timedelta(days=2),
        help_text=_("A request nobody decides by then lapses."),
        verbose_name=_("pending timeout"),
    )
    remind_approvers_after = models.DurationField(
        default=timedelta(hours=8),
        help_text=_(
            "Approvers are reminded of a request still waiting this long (and again "
            "after each further period, until it is decided or lapses)."
        ),
        verbose_name=_("remind approvers after"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("access role")
        verbose_name_plural = _("access roles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.ticket_pattern:
            try:
                re.compile(self.ticket_pattern)
            except re.error as exc:
                errors["ticket_pattern"] = gettext(
                    "“%(pattern)s” is not a valid regular expression: %(error)s."
                ) % {"pattern": self.ticket_pattern, "error": exc}
        if self.ticket_hint and self.ticket_pattern and "ticket_pattern" not in errors:
            wrong = [
                example
                for example in ticket_hint_examples(self.ticket_hint)
                if not re.fullmatch(self.ticket_pattern, example)
            ]
            if wrong:
                shown = ", ".join(f"“{example}”" for example in wrong)
                errors["ticket_hint"] = gettext(
                    "The example %(examples)s does not match the ticket pattern, so staff who "
                    "follow it would be refused. Give an example that matches the pattern, "
                    "or change the pattern."
                ) % {"examples": shown}
        zero = timedelta(0)
        for name in ("default_duration", "max_duration", "max_total_duration", "pending_timeout"):
            value = getattr(self, name)
            if value is not None and value <= zero:
                errors[name] = gettext("Must be longer than zero.")
        if self.remind_approvers_after is not None and self.remind_approvers_after <= zero:
            errors["remind_approvers_after"] = gettext("Must be longer than zero.")
        if self.max_start_ahead is not None and self.max_start_ahead < zero:
            errors["max_start_ahead"] = gettext("Cannot be negative.")
        if (
            "default_duration" not in errors
            and "max_duration" not in errors
            and self.default_duration is not None
            and self.max_duration is not None
            and self.default_duration > self.max_duration
        ):
            errors["default_duration"] = gettext(
                "The default duration cannot exceed the maximum duration."
            )
        if (
            "max_duration" not in errors
            and "max_total_duration" not in errors
            and self.max_duration is not None
            and self.max_total_duration is not None
            and self.max_total_duration < self.max_duration
        ):
            errors["max_total_duration"] = gettext(
                "The longest reach through extensions cannot be shorter than the maximum duration."
            )
        if errors:
            raise ValidationError(errors)
