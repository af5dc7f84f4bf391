"""Security keys (WebAuthn) for real: headless Chromium with its virtual authenticator (the
DevTools protocol's WebAuthn domain, a CTAP2 key that answers every touch), against the live
server on http://localhost (a secure context, so the relying party ID is ``localhost``).

One walk: register a key on the enrolment page, sign out, sign in with password and key, then a
purge (a fresh-factor action) with a stale factor is accepted after touching the key again.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django_otp_webauthn.models import WebAuthnCredential

from apps.audit.models import AuditEvent
from apps.retention.models import PurgeRun
from apps.signin.mfa import SESSION_VERIFIED_AT_KEY
from tests.e2e.csp import csp_watch
from tests.e2e.test_browser import browser, log_in  # noqa: F401  (fixture)
from tests.retention.factories import make_rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def webauthn_on(settings, live_server):
    settings.MFA_REQUIRED = True
    settings.MFA_REQUIRED_GROUPS = ["DPO", "Approvers"]
    settings.MFA_FRESH_MINUTES = 10
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert urlsplit(live_server.url).hostname == "localhost"


def virtual_key(context, page) -> tuple[object, str]:
    """A USB security key (CTAP2, resident keys, user verification) that is touched at once."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def _make_factor_stale(context, minutes: int = 11) -> None:
    key = next(c["value"] for c in context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=key)
    session[SESSION_VERIFIED_AT_KEY] = int(time.time()) - minutes * 60
    session.save()


def test_register_a_key_then_sign_in_and_act_with_it(live_server, browser, webauthn_on, dpo):  # noqa: F811
    base = live_server.url
    rule = make_rule(actor=dpo)
    context = browser.new_context()
    reports = csp_watch(context)
    page = context.new_page()
    page.set_default_timeout(20_000)
    cdp, authenticator = virtual_key(context, page)

    # given the DPO signed in with a password and no second factor: the admin asks for one
    log_in(page, base, dpo.username)
    page.goto(f"{base}/admin/")
    assert page.url.startswith(f"{base}/accounts/second-factor/enrol/?next=")

    # when they register the security key on the enrolment page
    page.click("#passkey-register-button")

    # then the key is theirs, the session is verified, and the admin opens
    page.wait_for_url(f"{base}/admin/")
    assert page.get_by_text("Security key added.").is_visible()
    key = WebAuthnCredential.objects.get(user=dpo)
    assert key.confirmed
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1
    event = AuditEvent.objects.get(action="signin.mfa.enrolled")
    assert event.data == {"user_id": dpo.pk, "device": "webauthn", "device_id": key.pk}

    # when they sign out and in again with their password
    page.goto(f"{base}/")
    page.click("header form[action='/accounts/logout/'] button")
    page.wait_for_load_state()
    log_in(page, base, dpo.username)
    page.goto(f"{base}/admin/")

    # then the admin asks for the key (no code form: they have no app), and takes it
    assert page.url.startswith(f"{base}/accounts/second-factor/?next=")
    assert page.locator("input[name=token]").count() == 0
    page.click("#passkey-verification-button")
    page.wait_for_url(f"{base}/admin/")
    key.refresh_from_db()
    assert key.last_used_at is not None
    signed_once = key.sign_count

    # given a factor older than MFA_FRESH_MINUTES, when they open a purge
    _make_factor_stale(context)
    run_url = f"{base}/admin/retention/retentionrule/{rule.pk}/run/"
    page.goto(run_url)

    # then the key is asked for again, and a touch brings them back to the purge
    assert page.url.startswith(f"{base}/accounts/second-factor/?next=")
    page.click("#passkey-verification-button")
    page.wait_for_url(run_url)
    key.refresh_from_db()
    assert key.sign_count > signed_once  # the authenticator's counter moved on

    # and the purge is accepted: planned, and its progress page shown
    page.check("input[name=confirm]")
    page.click(".submit-row input[type=submit]")
    page.wait_for_load_state()
    run = PurgeRun.objects.get(rule=rule)
    assert page.url == f"{base}/admin/retention/purgerun/{run.pk}/change/"
    assert page.get_by_text("is planned").is_visible()
    assert not AuditEvent.objects.filter(action="signin.mfa.failed").exists()
    assert reports == []
    context.close()


# Asks the portal for a challenge in this session, signs it with whatever discoverable key the
# authenticator holds (allowCredentials empty: the browser may offer any key for the site), and
# sends the assertion back as the package's script would; returns [status, JSON body].
_ASSERT_WITH_ANY_KEY = r"""
async () => {
  const config = JSON.parse(document.getElementById("otp_webauthn_config").textContent);
  const headers = {"X-CSRFToken": config.csrfToken, "Accept": "application/json"};
  const options = await (await fetch(config.beginAuthenticationUrl,
                                     {method: "POST", headers})).json();
  const bytes = (s) => Uint8Array.from(
    atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)),
    (c) => c.charCodeAt(0));
  const text = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const credential = await navigator.credentials.get({publicKey: {
    challenge: bytes(options.challenge), rpId: options.rpId, allowCredentials: [],
    userVerification: "discouraged"}});
  const r = credential.response;
  const body = {id: credential.id, rawId: text(credential.rawId), type: credential.type,
    response: {authenticatorData: text(r.authenticatorData),
               clientDataJSON: text(r.clientDataJSON), signature: text(r.signature),
               userHandle: r.userHandle ? text(r.userHandle) : null},
    clientExtensionResults: {}};
  const answer = await fetch(config.completeAuthenticationUrl, {method: "POST",
    headers: {...headers, "Content-Type": "application/json"}, body: JSON.stringify(body)});
  return [answer.status, await answer.json()];
}
"""


def test_a_key_of_another_account_is_refused(live_server, browser, webauthn_on, dpo, approver):  # noqa: F811
    base = live_server.url
    # (in French: the package's status lines and the portal's refusals are translated)
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(20_000)
    virtual_key(context, page)

    # given the approver registered this (virtual) key to their account
    log_in(page, base, approver.username)
    page.goto(f"{base}/admin/")
    page.click("#passkey-register-button")
    page.wait_for_url(f"{base}/admin/")
    theirs = WebAuthnCredential.objects.get(user=approver)

    # and the DPO, whose own key is elsewhere, signs in on this browser
    page.goto(f"{base}/")
    page.click("header form[action='/accounts/logout/'] button")
    page.wait_for_load_state()
    WebAuthnCredential.objects.create(
        user=dpo, credential_id=b"a key elsewhere", public_key=theirs.public_key, confirmed=True
    )
    log_in(page, base, dpo.username)
    page.goto(f"{base}/admin/")
    assert page.url.startswith(f"{base}/accounts/second-factor/?next=")

    # when they use the button: the browser holds no key of theirs and says so
    page.click("#passkey-verification-button")
    page.locator("#passkey-verification-status-message").get_by_text(
        "Vérification annulée ou non autorisée."
    ).wait_for()

    # when they sign the portal's challenge with the approver's key anyway
    status, body = page.evaluate(_ASSERT_WITH_ANY_KEY)

    # then the portal refuses it as not theirs, records the attempt, and verifies nothing
    assert status == 403, body
    assert body == {
        "detail": "Cette clé de sécurité n’est pas enregistrée pour votre compte.",
        "code": "credential_user_mismatch",
    }
    failed = AuditEvent.objects.get(action="signin.mfa.failed")
    assert failed.actor_id == dpo.pk
    assert failed.data == {
        "user_id": dpo.pk,
        "page": "webauthn-verify",
        "code": "credential_user_mismatch",
    }
    page.goto(f"{base}/admin/")
    assert page.url.startswith(f"{base}/accounts/second-factor/?next=")
    theirs.refresh_from_db()
    assert theirs.last_used_at is None
    context.close()
