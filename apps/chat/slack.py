"""The Slack Web API client and the check of Slack's request signature.

The client is the official ``slack_sdk.WebClient`` pointed at ``SLACK_API_URL`` (Slack's
``https://slack.com/api/`` in production; the tests' local stand-in in CI), with the bot
token ``SLACK_BOT_TOKEN``. The signature check is ``slack_sdk.signature.SignatureVerifier``
(the v0 scheme: HMAC-SHA256 of ``v0:{timestamp}:{raw body}`` with ``SLACK_SIGNING_SECRET``,
compared in constant time, refused when the timestamp is more than five minutes away:
https://api.slack.com/authentication/verifying-requests-from-slack).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier


def slack_enabled() -> bool:
    """Slack messages are sent only when a bot token is configured."""
    return bool(settings.SLACK_BOT_TOKEN)


def slack_client() -> WebClient:
    """A Web API client with the bot token; ImproperlyConfigured without one."""
    if not settings.SLACK_BOT_TOKEN:
        raise ImproperlyConfigured("SLACK_BOT_TOKEN is not set: Slack messages are off.")
    base = settings.SLACK_API_URL
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=base if base.endswith("/") else base + "/",
        timeout=int(settings.SLACK_TIMEOUT_SECONDS),
    )


def slack_signature_valid(*, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether ``body`` (the raw bytes, before anything parses them) carries a valid v0
    signature made within the last five minutes. False, never an error, without a secret."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        return False
    try:
        return SignatureVerifier(secret).is_valid_request(body, dict(headers))
    except ValueError:  # a timestamp that is not a number
        return False
