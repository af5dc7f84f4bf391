"""Every error under /api/, for every route and method and whatever is sent, is a problem
detail (RFC 9457, ``application/problem+json``), never a 500, never an HTML page or a text
of Django REST framework's: its title is one of the project's own messages, in the reader's
language (docs/api.md, "Errors")."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client, override_settings

from .conftest import make_token
from .test_request_token_never_decides import api_routes

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PATCH", "BREW")
LANGUAGES = ("en", "de", "fr")
# Texts of Django REST framework and Django that must never reach an API client.
FOREIGN = (
    "JSON parse error", "CSRF Failed", "{method}", "Unsupported media type",
    "Authentication credentials were not provided", "Not found.", "codec can't decode",
    "not allowed.", "<html", "<!DOCTYPE", "Bad Request",
)  # fmt: skip


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


BAD_CURSORS = (_b64("p=1e5"), _b64("p=0x10"), "!!!", "", _b64("p=99999999999999999999"),
               _b64("x=1"), _b64("p=1&p=2"), "cD0xZTU%3D")  # fmt: skip


def _titles(language: str) -> set[str]:
    """The project's own messages in ``language`` (its catalogue; English: the msgids)."""
    if language == "en":
        po = polib.pofile(str(Path(settings.BASE_DIR) / "locale/de/LC_MESSAGES/django.po"))
        return {e.msgid for e in po}
    po = polib.pofile(str(Path(settings.BASE_DIR) / f"locale/{language}/LC_MESSAGES/django.po"))
    return {e.msgstr for e in po if e.msgstr}


class Checker:
    def __init__(self) -> None:
        self.titles = {lang: _titles(lang) for lang in LANGUAGES}
        self.english = _titles("en")
        self.seen = 0
        self.statuses: set[int] = set()

    def __call__(self, response, what: str, language: str) -> None:
        self.seen += 1
        assert response.status_code < 500, what
        if response.status_code < 400:
            return
        self.statuses.add(response.status_code)
        assert response["Content-Type"] == "application/problem+json", what
        body = json.loads(response.content)
        assert body["status"] == response.status_code, what
        assert body["title"] in self.titles[language], (what, body)
        assert body["detail"], what
        if language != "en":
            # a fixed text of ours left untranslated would be its English msgid
            assert body["detail"] not in self.english or body["detail"] in self.titles[language]
        for text in (body["title"], body["detail"]):
            assert not any(f in text for f in FOREIGN), (what, body)
        if response.status_code == 401 and "Bearer" in what:
            assert 'error="invalid_token"' in response["WWW-Authenticate"], what


def _clients(dpo, approver):
    """Who calls, each in a language: the DPO's session (with a failing CSRF check, and
    without the check), a decide token, a request token, an unknown token, a password,
    nobody."""
    session = Client(enforce_csrf_checks=True, headers={"Accept-Language": "de"})
    session.force_login(dpo)
    plain = Client(headers={"Accept-Language": "fr"})
    plain.force_login(dpo)
    yield "session+csrf", "de", session, {"X-CSRFToken": "x" * 7}
    yield "session", "fr", plain, {}
    for who, language, authorization in (
        ("decide Bearer", "de", f"Bearer {make_token(approver, 'decide')}"),
        ("request Bearer", "fr", f"Bearer {make_token(dpo, 'request')}"),
        ("unknown Bearer", "de", "Bearer jpt_nonsense"),
        ("Basic", "fr", "Basic dXNlcjpwYXNz"),
        ("nobody", "en", ""),
    ):
        headers = {"Authorization": authorization} if authorization else {}
        yield who, language, Client(headers={"Accept-Language": language}), headers


def _bodies():
    """(name, body, content type) of hostile bodies."""
    yield "nested JSON", b"[" * 200_000, "application/json"
    yield "not UTF-8", b'{"a": "\xff"}', "application/json"
    yield "huge", b'{"reason": "' + b"x" * 5000 + b'"}', "application/json"
    yield (
        "multipart",
        b'--b\r\nContent-Disposition: form-data; name="role"\r\n\r\n1\r\n--b--\r\n',
        ("multipart/form-data; boundary=b"),
    )
    yield "form", b"role=1", "application/x-www-form-urlencoded"
    yield "text", b"hello", "text/plain"
    yield "JSON list", b"[1]", "application/json"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_every_route_and_method_answers_hostile_input_with_our_problem_detail(
    dpo, approver, pending, pending_special, live_grant
):
    # given every API route from the resolver (ids: a request waiting in the queue), plus
    # addresses that name no route, and every kind of caller
    check = Checker()
    paths = [
        "/" + route.replace("<str:pk>", str(pending.pk)).replace("<str:account>", "x")
        for route, _view in api_routes()
        if route.startswith("api/") and "(?P" not in route
    ]
    paths += ["/api/", "/api/nonexistent/", f"/api/queue/{pending.pk}/approve"]
    for who, language, client, headers in _clients(dpo, approver):
        for path in paths:
            for method in METHODS:
                # when each method is sent plainly and without the trailing slash
                what = f"{who} {method} {path} [{language}]"
                check(client.generic(method, path, headers=headers), what, language)
                check(client.generic(method, path.rstrip("/"), headers=headers), what, language)
            # and with NUL in the query
            for method in ("GET", "POST"):
                response = client.generic(method, path + "?q=a%00b", headers=headers)
                check(response, f"{who} {method} {path} NUL [{language}]", language)
            if who not in ("session", "decide Bearer"):
                continue
            # and with bad cursors, and each hostile body
            for cursor in BAD_CURSORS:
                response = client.get(path, {"cursor": cursor}, headers=headers)
                check(response, f"{who} {path} cursor={cursor}", language)
            for name, body, content_type in _bodies():
                response = client.generic(
                    "POST", path, body, content_type=content_type, headers=headers
                )
                check(response, f"{who} POST {path} {name} [{language}]", language)
    # then every error was one of ours, and each kind of refusal was met
    assert check.seen >= 3_000
    assert {400, 401, 403, 404, 405, 413, 415} <= check.statuses


def test_the_named_refusals(api, auditor, approver, dpo, pending, pending_special):
    # given an auditor's token, a decide token and the DPO's session
    audit = Client(headers={"Authorization": f"Bearer {make_token(auditor, 'audit')}"})
    # when a cursor was tampered with, then it is refused, not restarted from the oldest
    for cursor in BAD_CURSORS:
        response = audit.get("/api/audit/events/", {"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json()["type"] == "urn:jitportal:problem:invalid-cursor"
    # when a page does not exist, then 404 says so
    reader = Client(headers={"Accept-Language": "de"})
    reader.force_login(dpo)
    missing = reader.get("/api/inventory/assets/", {"page": "999"})
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("Diese Seite der Liste gibt es nicht")
    # when a multipart body is posted, then 415, not an empty object
    client = Client()
    client.force_login(approver)
    response = client.post(f"/api/queue/{pending.pk}/deny/", {"reason": "no"})
    assert response.status_code == 415
    # when a POST lacks the trailing slash, then 404 naming the right address
    response = client.post(f"/api/queue/{pending.pk}/approve", content_type="application/json")
    assert response.status_code == 404
    assert f"/api/queue/{pending.pk}/approve/" in response.json()["detail"]
    # when an unknown method is used, then the title is whole, in German for a German reader
    response = client.generic("BREW", "/api/queue/", headers={"Accept-Language": "de"})
    assert response.status_code == 405
    assert "{" not in response.json()["title"] and "BREW" in response.json()["detail"]
    # when a bad token is sent, then RFC 6750's invalid_token, in French for a French reader
    response = Client().get(
        "/api/queue/", headers={"Authorization": "Bearer jpt_x", "Accept-Language": "fr"}
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert response.json()["detail"] != "The token is malformed."


def test_a_fresh_factor_is_asked_only_of_what_is_waiting_for_me(
    api, approver, dpo, pending_special
):
    # given a special-category request the approver may decide, and a DPO who approved it
    decide = api(token=make_token(approver, "decide"))
    path = f"/api/queue/{pending_special.pk}/approve/"
    # when it is cancelled, then the approver is told 404, not "fresh second factor"
    from apps.access import services

    services.access_request_cancel(request_id=pending_special.pk, actor=pending_special.requester)
    response = decide.post(path, {})
    assert response.status_code == 404
    assert "portal_url" not in response.json()
    # when someone outside its approvers asks, it is 404 too
    response = api(token=make_token(dpo, "decide")).post(path, {})
    assert response.status_code in (404, 409)
    assert "portal_url" not in response.json()
