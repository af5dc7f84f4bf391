"""Sign-in policy pieces wired in settings: the lockout key and the idle-session timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

SESSION_LAST_SEEN_KEY = "_jitportal_last_seen"
# An active session's timestamp is rewritten at most this often (one session write a minute).
_TOUCH_EVERY_SECONDS = 60


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username django-axes counts failures under: case-folded, so that "Alice",
    "ALICE" and "alice" share one count (OWASP Authentication Cheat Sheet: account lockout)."""
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    if credentials and credentials.get(field) is not None:
        username = credentials[field]
    else:
        username = getattr(request, "POST", {}).get(field)
    return username.casefold() if isinstance(username, str) else username


def session_mark_seen(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """On login (``user_logged_in``): the session starts as seen now."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LAST_SEEN_KEY] = int(time.time())


class SessionIdleTimeoutMiddleware:
    """Log a signed-in user out after ``SESSION_IDLE_TIMEOUT`` without a request.

    The time of the last request is kept in the session (seconds since the epoch), rewritten
    at most once a minute; a request that arrives later than the timeout after it ends the
    session (django.contrib.auth.logout) and is then served as anonymous, so protected pages
    send the user to the login page. Source: OWASP Session Management Cheat Sheet, idle timeout.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            idle = int(settings.SESSION_IDLE_TIMEOUT.total_seconds())
            last_seen = request.session.get(SESSION_LAST_SEEN_KEY)
            if isinstance(last_seen, int) and now - last_seen > idle:
                logout(request)
            elif not isinstance(last_seen, int) or now - last_seen >= min(
                _TOUCH_EVERY_SECONDS, idle
            ):
                request.session[SESSION_LAST_SEEN_KEY] = now
        return self.get_response(request)
