"""Sign-in policy pieces wired in settings: the lockout key and the idle-session timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse

SESSION_LAST_SEEN_KEY = "_jitportal_last_seen"
SESSION_SIGNED_IN_KEY = "_jitportal_signed_in"
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
    # NUL cannot be stored in PostgreSQL text: drop it rather than fail the count.
    return username.replace("\x00", "").casefold() if isinstance(username, str) else username


def session_mark_seen(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """On login (``user_logged_in``): the session starts, and is seen, now."""
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SESSION_LAST_SEEN_KEY] = now
        request.session[SESSION_SIGNED_IN_KEY] = now


class SessionIdleTimeoutMiddleware:
    """Log a signed-in user out after ``SESSION_IDLE_TIMEOUT`` without a request.

    The time of the last request is kept in the session (seconds since the epoch), rewritten
    at most once a minute; a request that arrives later than the timeout after it ends the
    session (django.contrib.auth.logout) and is then served as anonymous, so protected pages
    send the user to the login page. Source: OWASP Session Management Cheat Sheet, idle timeout.

    Rewriting the session renews its cookie, so ``SESSION_COOKIE_AGE`` alone would no longer
    bound a busy session: the time of sign-in is kept too, and a session older than
    ``SESSION_COOKIE_AGE`` seconds is ended the same way (the absolute timeout).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            idle = int(settings.SESSION_IDLE_TIMEOUT.total_seconds())
            last_seen = request.session.get(SESSION_LAST_SEEN_KEY)
            signed_in = request.session.get(SESSION_SIGNED_IN_KEY)
            if (isinstance(last_seen, int) and now - last_seen > idle) or (
                isinstance(signed_in, int) and now - signed_in > settings.SESSION_COOKIE_AGE
            ):
                logout(request)
            elif not isinstance(last_seen, int) or now - last_seen >= min(
                _TOUCH_EVERY_SECONDS, idle
            ):
                request.session[SESSION_LAST_SEEN_KEY] = now
                request.session.setdefault(SESSION_SIGNED_IN_KEY, now)
        return self.get_response(request)


class DeactivatedUserMiddleware:
    """End the session of a user deactivated in the portal at their next request.

    Runs after ``AuthenticationMiddleware``. A session whose user is no longer active (or no
    longer exists, or whose backend refuses inactive users and so returned no one) is flushed
    (django.contrib.auth.logout), password and single sign-on sessions alike; the request is
    then served as anonymous. Nothing is asked of the database beyond the user row the
    authentication middleware loads anyway.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and session is not None:
            if user.is_authenticated:
                if not user.is_active:
                    logout(request)
            elif SESSION_KEY in session:
                # The session names a user the backends no longer return (deactivated/deleted).
                logout(request)
        return self.get_response(request)
