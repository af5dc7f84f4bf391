"""Every free text has a bounded length, every number typed as text is ASCII digits.

Walks every form class of the project (found at run time among the subclasses of Django's
forms in ``apps.*``) and sends an over-long text through every access service that takes
one: refused with a clear message, nothing written (no row, no audit event, no mail).
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import timedelta

import pytest
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

import apps
from apps.access import selectors, services
from apps.access.admin.forms import QueueFilterForm
from apps.access.models import AccessRequest, Grant, GrantStatus, RequestStatus
from apps.audit.models import AuditEvent
from jitportal.inputs import TEXT_MAX_LENGTH
from tests.access.factories import AccessRequestFactory, GrantFactory
from tests.factories import UserFactory

TOO_LONG = "x" * (TEXT_MAX_LENGTH + 1)
UNICODE_NUMBERS = ("١", "²", "٣.5", "1e٣", "１", "NaN", "٣")


def project_form_classes() -> list[type[forms.BaseForm]]:
    """Every Form and ModelForm class defined in a module of ``apps``."""
    for module in pkgutil.walk_packages(apps.__path__, "apps."):
        if ".migrations" not in module.name and ".tests" not in module.name:
            importlib.import_module(module.name)
    found: list[type[forms.BaseForm]] = []
    pending: list[type] = [forms.Form, forms.ModelForm]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("apps.") and sub not in found:
                found.append(sub)
    return found


def _fields(form_class: type[forms.BaseForm]):
    for name, field in form_class.base_fields.items():
        yield f"{form_class.__module__}.{form_class.__qualname__}.{name}", field


def test_every_form_text_field_has_a_maximum_length():
    # given every form class of the project
    classes = project_form_classes()
    assert len(classes) > 10, "the walk found the project's forms"
    # when each text field is looked at
    unbounded = [
        path
        for cls in classes
        for path, field in _fields(cls)
        # JSON fields (DPO-only admin settings) are read by their own structure checks.
        if isinstance(field, forms.CharField)
        and not isinstance(field, forms.JSONField)
        and field.max_length is None
    ]
    # then every one has a maximum length
    assert unbounded == []


def test_every_numeric_form_field_takes_ascii_digits_only():
    # given every whole-number and decimal field of every form of the project
    numeric = [
        (path, field)
        for cls in project_form_classes()
        for path, field in _fields(cls)
        if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField)
    ]
    assert len(numeric) >= 3
    accepted = []
    for path, field in numeric:
        for value in UNICODE_NUMBERS:
            # when a number is typed in other digits than ASCII
            try:
                field.clean(value)
            except ValidationError as exc:
                # then it is the field's own "Enter a number" kind of error
                assert exc.messages
            else:
                accepted.append((path, value))
    assert accepted == []


# --- services ------------------------------------------------------------------------------


@pytest.fixture
def written():
    """What a refused call must not change: counts of requests, grants and audit events."""

    def counts() -> tuple[int, int, int]:
        return (AccessRequest.objects.count(), Grant.objects.count(), AuditEvent.objects.count())

    return counts


def _refused(call, field: str) -> str:
    with pytest.raises(ValidationError) as exc:
        call()
    messages = exc.value.message_dict.get(field) if hasattr(exc.value, "error_dict") else None
    assert messages, exc.value
    assert str(TEXT_MAX_LENGTH) in " ".join(messages)
    return messages[0]


@pytest.mark.django_db
def test_every_access_service_refuses_an_over_long_text_and_writes_nothing(
    role, asset, staff_user, approver, dpo, window, mailoutbox, written, groups
):
    # given a pending request, a live grant and a break-glass grant waiting for review
    pending = AccessRequestFactory(requester=staff_user, role=role)
    live = GrantFactory(user=staff_user, assets=[asset], request__role=role)
    glass = GrantFactory(
        user=UserFactory(groups=["DPO"], is_staff=True), assets=[asset], is_break_glass=True
    )
    Grant.objects.filter(pk=glass.pk).update(needs_review=True)
    leaver = UserFactory(groups=["Staff"], is_active=False)
    before = written()
    now = timezone.now()
    calls = {
        "justification": [
            lambda: services.access_request_submit(
                requester=staff_user,
                role=role,
                starts_at=window[0],
                ends_at=window[1],
                justification=TOO_LONG,
            ),
            lambda: services.access_request_extend(
                grant_id=live.pk,
                requester=staff_user,
                ends_at=live.ends_at + timedelta(hours=1),
                justification=TOO_LONG,
            ),
        ],
        "comment": [
            lambda: services.access_request_approve(
                request_id=pending.pk, approver=approver, comment=TOO_LONG
            ),
            lambda: services.grant_mark_reviewed(grant_id=glass.pk, reviewer=dpo, comment=TOO_LONG),
        ],
        "reason": [
            lambda: services.access_request_deny(
                request_id=pending.pk, approver=approver, reason=TOO_LONG
            ),
            lambda: services.grant_revoke(grant_id=live.pk, actor=dpo, reason=TOO_LONG),
            lambda: services.grant_break_glass(
                user=dpo, asset=asset, duration=timedelta(minutes=30), reason=TOO_LONG
            ),
            lambda: services.user_offboard(user_id=leaver.pk, actor=dpo, reason=TOO_LONG),
        ],
    }
    for field, field_calls in calls.items():
        for call in field_calls:
            # when the service is called with a text one character over the limit
            message = _refused(call, field)
            # then it is refused with a clear message, and nothing is written
            assert "characters" in message
            assert written() == before
    pending.refresh_from_db()
    live.refresh_from_db()
    assert pending.status == RequestStatus.PENDING
    assert live.status == GrantStatus.ACTIVE and live.revoked_at is None
    assert mailoutbox == []
    assert timezone.now() - now < timedelta(minutes=1)


@pytest.mark.django_db
def test_a_text_at_the_limit_is_accepted(role, staff_user, window):
    # given a justification exactly as long as the limit
    # when it is sent
    created = services.access_request_submit(
        requester=staff_user,
        role=role,
        starts_at=window[0],
        ends_at=window[1],
        justification="y" * TEXT_MAX_LENGTH,
    )
    # then it is kept whole
    assert len(created.justification) == TEXT_MAX_LENGTH


def test_permission_denied_is_still_the_first_answer_to_a_stranger():
    # given the services' refusal types
    # then PermissionDenied and ValidationError stay distinct (a stranger is not told lengths)
    assert not issubclass(PermissionDenied, ValidationError)


@pytest.mark.django_db
def test_the_queue_search_refuses_control_characters(approver):
    # given the approver's queue filter
    queue = selectors.approval_queue_for(approver)
    # when a search holds a control character, or is longer than the field takes
    for q in ("case\x01", "\x1b[2J", "x" * 201):
        form = QueueFilterForm({"q": q}, queue=queue)
        # then it is a form error on the search, as body fields are
        assert not form.is_valid() and "q" in form.errors, q
    # and an ordinary search is valid
    assert QueueFilterForm({"q": "case 17"}, queue=queue).is_valid()
