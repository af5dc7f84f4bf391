"""Why a token is refused is a code, told in the reader's language wherever it is shown: the
token check itself, the audit feed, the REST API and the admin's list of tokens, in English,
German and French. Every refusal code is met (a new one without a case fails here)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.integrations.models import STATUS_LABELS, IntegrationToken
from apps.integrations.services import (
    TOKEN_REFUSALS,
    TokenRefused,
    integration_token_authenticate,
    integration_token_create,
    integration_token_revoke,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LANGUAGES = ("en", "de", "fr")
FEED = "/reports/audit/events/"
API = "/api/audit/events/"


def _issue(owner, scopes=("audit",), days=30) -> tuple[IntegrationToken, str]:
    return integration_token_create(
        owner=owner,
        name="SIEM",
        scopes=list(scopes),
        expires_at=datetime.now(tz=UTC) + timedelta(days=days),
    )


def _cases(groups) -> list[tuple[str, str, str, datetime | None]]:
    """(code, raw token, scope asked for, moment to travel to) for every refusal."""
    cases: list[tuple[str, str, str, datetime | None]] = [
        ("malformed", "jpt_x", "audit", None),
        ("unknown", "jpt_0123456789_" + "A" * 43, "audit", None),
    ]
    revoked, raw = _issue(UserFactory(username="aud-revoked", groups=["Auditors"]))
    integration_token_revoke(token_id=revoked.pk)
    cases.append(("revoked", raw, "audit", None))
    _row, raw = _issue(UserFactory(username="aud-expired", groups=["Auditors"]), days=1)
    cases.append(("expired", raw, "audit", datetime.now(tz=UTC) + timedelta(days=2)))
    gone = UserFactory(username="aud-gone", groups=["Auditors"])
    _row, raw = _issue(gone)
    gone.is_active = False
    gone.save()
    cases.append(("owner_inactive", raw, "audit", None))
    _row, raw = _issue(UserFactory(username="asker", groups=["Staff"]), scopes=("request",))
    cases.append(("scope_missing", raw, "audit", None))
    moved = UserFactory(username="aud-moved", groups=["Auditors"])
    _row, raw = _issue(moved)
    moved.groups.remove(Group.objects.get(name="Auditors"))
    cases.append(("owner_lacks_permissions", raw, "audit", None))
    # a scope the token holds that is no longer registered (an app removed)
    row, raw = _issue(UserFactory(username="aud-old", groups=["Auditors"]))
    IntegrationToken.objects.filter(pk=row.pk).update(scopes=["audit", "retired"])
    cases.append(("owner_lacks_scope", raw, "retired", None))
    return cases


def _at(moment: datetime | None):
    return time_machine.travel(moment, tick=False) if moment else contextlib.nullcontext()


def test_every_refusal_is_a_code_with_a_message_in_each_language(groups):
    # given a token refused for each reason there is
    seen = set()
    for code, raw, scope, moment in _cases(groups):
        # when it is checked
        with _at(moment), pytest.raises(TokenRefused) as refused:
            integration_token_authenticate(raw=raw, scope=scope)
        # then the refusal keeps the code, not a sentence
        assert refused.value.code == code
        seen.add(code)
        english = None
        for language in LANGUAGES:
            with translation.override(language):
                text = refused.value.message
            # and its message is made in the language of whoever reads it
            assert text and "%(" not in text, (code, language)
            if language == "en":
                english = text
            else:
                assert text != english, (code, language)
    assert seen == set(TOKEN_REFUSALS)


def test_the_feed_and_the_api_tell_the_refusal_in_the_readers_language(groups):
    # given a token refused for each reason the audit scope can meet
    for code, raw, scope, moment in _cases(groups):
        if scope != "audit":
            continue
        for language in LANGUAGES:
            client = Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": language})
            with _at(moment):
                with pytest.raises(TokenRefused) as refused:
                    integration_token_authenticate(raw=raw, scope=scope)
                with translation.override(language):
                    expected = refused.value.message
                # when the SIEM reads the feed, then the refusal is told in its language
                feed = client.get(FEED)
                assert feed.status_code in (401, 403), (code, language)
                assert expected in feed.content.decode(), (code, language, feed.content)
                # and the API, for a token that is refused outright, says the same words
                answer = client.get(API)
            if refused.value.error == "invalid_token":
                assert answer.status_code == 401
                assert answer.json()["detail"] == expected, (code, language)
            else:
                assert answer.status_code == 403, (code, language)


def test_the_admin_lists_a_tokens_status_in_the_readers_language(groups, dpo):
    # given an active, a revoked and an expired token
    owner = UserFactory(username="aud-list", groups=["Auditors"])
    _issue(owner)
    revoked, _raw = _issue(owner)
    integration_token_revoke(token_id=revoked.pk)
    _issue(owner, days=1)
    url = reverse("admin:integrations_integrationtoken_changelist")
    with time_machine.travel(datetime.now(tz=UTC) + timedelta(days=2)):
        for language in ("de", "fr"):
            client = Client(headers={"Accept-Language": language})
            client.force_login(dpo)
            # when the DPO lists them, then each status is in the DPO's language
            page = client.get(url).content.decode()
            with translation.override(language):
                labels = {str(label) for label in STATUS_LABELS.values()}
            for label in labels:
                assert f">{label}<" in page, (language, label)
            assert ">revoked<" not in page and ">expired<" not in page
