"""Reading the environment strictly: the settings' one way to take an on/off word, a number
or a URL from an environment variable, each with what it allows declared at the read.

A value outside that stops the start with ``django.core.exceptions.ImproperlyConfigured``
and one line naming the variable, the value and what is allowed, so that a typo or a
nonsense value (``MFA_FRESH_MINUTES=0``, ``SLACK_API_URL=file:///etc/passwd``) never runs
quietly in production (tests/test_settings.py, tests/test_settings_values.py walk every
read in the settings' source)."""

import builtins
import math
import re
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

#: The words an on/off variable takes (any case); anything else stops the start, so that a
#: typo ("MFA_REQUIRED=ture", "PASSWORD_SIGNIN=of") never quietly turns a safeguard off.
ON_WORDS = frozenset({"on", "true", "yes", "1"})
OFF_WORDS = frozenset({"off", "false", "no", "0"})
#: Hosts a plain-http URL may name where only https is otherwise allowed (a local stand-in).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
#: The portal's own database (PostgreSQL; SQLite for the demo and development).
DATABASE_SCHEMES = frozenset({"postgres", "postgresql", "pgsql", "psql", "sqlite"})
#: django-environ's mail backends: SMTP, and the console, file, memory and dummy ones.
EMAIL_SCHEMES = frozenset(
    {"smtp", "smtps", "smtp+ssl", "smtp+tls", "consolemail", "filemail", "memorymail", "dummymail"}
)


class StrictEnv(environ.Env):
    """``environ.Env`` that refuses a value making no sense instead of reading it somehow.

    ``bool`` takes only an on/off word (django-environ reads every unknown word as False);
    ``int`` and ``float`` take a number within the range each read declares (``low`` and
    ``high``, both included, required); ``url``, ``url_list``, ``db_url`` and ``email_url``
    take a URL of a declared scheme (``http`` for an https-only URL only on a loopback host,
    so that no setting sends the portal's requests to a cloud metadata address or a file).
    An empty value means the default (an optional URL: none). Anything else raises
    ``ImproperlyConfigured`` with one line naming the variable, the value and what is
    allowed. Every number and URL read is recorded in ``declared`` (tests/test_settings_values
    walks it)."""

    def __init__(self, **scheme: object) -> None:
        super().__init__(**scheme)
        self.declared: dict[str, dict[str, object]] = {}

    def bool(self, var, default=environ.Env.NOTSET):  # type: ignore[override]
        raw = self.ENVIRON.get(var)
        if raw is None or not str(raw).strip():
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"Set the environment variable {var} (on or off)")
            return default
        word = str(raw).strip().lower()
        if word in ON_WORDS:
            return True
        if word in OFF_WORDS:
            return False
        raise ImproperlyConfigured(
            f"{var}={raw!r} is neither on nor off: use on or off (or true/false, yes/no, 1/0)"
        )

    def int(self, var, default=environ.Env.NOTSET, *, low: builtins.int, high: builtins.int):  # type: ignore[override]
        return self._number(var, default, whole=True, low=low, high=high)

    def float(self, var, default=environ.Env.NOTSET, *, low: builtins.float, high: builtins.float):  # type: ignore[override]
        return self._number(var, default, whole=False, low=low, high=high)

    def _number(
        self, var: str, default, *, whole: builtins.bool, low: builtins.float, high: builtins.float
    ):
        allowed = f"{'a whole number' if whole else 'a number'} from {low} to {high}"
        self.declared[var] = {"kind": "int" if whole else "float", "low": low, "high": high}
        if default not in (None, self.NOTSET) and not low <= default <= high:
            raise ImproperlyConfigured(f"{var}: the default {default!r} is not {allowed}")
        raw = self.ENVIRON.get(var)
        if raw is None or not str(raw).strip():
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"Set the environment variable {var} ({allowed})")
            return default
        try:
            value = builtins.int(str(raw).strip()) if whole else builtins.float(str(raw).strip())
        except ValueError:
            raise ImproperlyConfigured(f"{var}={raw!r} is not a number: use {allowed}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise ImproperlyConfigured(f"{var}={raw!r} is out of range: use {allowed}")
        return value

    def url(  # type: ignore[override]
        self,
        var: str,
        default=environ.Env.NOTSET,
        *,
        schemes: frozenset[str],
        loopback_only: frozenset[str] = frozenset(),
        optional: builtins.bool = False,
    ) -> str:
        self.declared[var] = {
            "kind": "url",
            "schemes": sorted(schemes),
            "loopback_only": sorted(loopback_only),
            "optional": optional,
        }
        raw = self.ENVIRON.get(var)
        if raw is None or not str(raw).strip():
            if optional:
                return "" if raw is not None or default is self.NOTSET else default
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"Set the environment variable {var} (a URL)")
            return default
        return _checked_url(var, str(raw).strip(), str(raw), schemes, loopback_only)

    def url_list(
        self,
        var: str,
        default: list[str],
        *,
        schemes: frozenset[str],
        loopback_only: frozenset[str] = frozenset(),
    ) -> list[str]:
        """A comma-separated list of URLs (origins), each checked as ``url`` checks one."""
        self.declared[var] = {
            "kind": "url_list",
            "schemes": sorted(schemes),
            "loopback_only": sorted(loopback_only),
            "optional": True,
        }
        raw = self.ENVIRON.get(var)
        if raw is None or not str(raw).strip():
            return default
        return [
            _checked_url(var, item.strip(), str(raw), schemes, loopback_only)
            for item in str(raw).split(",")
            if item.strip()
        ]

    def db_url(self, var=environ.Env.DEFAULT_DATABASE_ENV, default=environ.Env.NOTSET, engine=None):  # type: ignore[override]
        return self.db_url_config(self.url(var, default, schemes=DATABASE_SCHEMES), engine=engine)

    def email_url(
        self, var=environ.Env.DEFAULT_EMAIL_ENV, default=environ.Env.NOTSET, backend=None
    ):  # type: ignore[override]
        return self.email_url_config(self.url(var, default, schemes=EMAIL_SCHEMES), backend=backend)


def _checked_url(
    var: str, value: str, raw: str, schemes: frozenset[str], loopback_only: frozenset[str]
) -> str:
    """``value`` when its scheme is allowed (and an http(s) URL names a host), else
    ``ImproperlyConfigured`` naming ``var``, the value without its credentials, and what is
    allowed."""
    allowed = " or ".join(f"{scheme}://" for scheme in sorted(schemes))
    if loopback_only:
        loopback = " or ".join(f"{scheme}://" for scheme in sorted(loopback_only))
        allowed += f" ({loopback} only to localhost, 127.0.0.1 or [::1])"
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
    except ValueError:
        parts, host = None, ""
    scheme = parts.scheme.lower() if parts else ""
    good = (
        parts is not None
        and not re.search(r"\s", value)
        and value.lower().startswith(f"{scheme}://")
        and (scheme in schemes or (scheme in loopback_only and host in LOOPBACK_HOSTS))
        and (bool(host) or scheme not in {"http", "https"})
    )
    if not good:
        shown = re.sub(r"//[^/@]*@", "//***@", raw)
        raise ImproperlyConfigured(f"{var}={shown[:200]!r} is not an allowed URL: use {allowed}")
    return value
