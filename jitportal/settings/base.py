"""Settings shared by every environment. Everything an operator may change comes from the
environment (or a ``.env`` file beside ``manage.py``); the defaults run the portal on SQLite
with Python alone so a newcomer can try it without any service."""

import re
from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from jitportal.environment import StrictEnv

BASE_DIR = Path(__file__).resolve().parent.parent.parent
#: Units of the ranges numbers are read within (seconds).
HOUR, DAY = 3600, 24 * 3600
WEEK = 7 * DAY

env = StrictEnv()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

# Development default only; production.py refuses to start with it.
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-jitportal-development-only-key-change-me"
SECRET_KEY = env("SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.url_list(
    "CSRF_TRUSTED_ORIGINS", default=[], schemes=frozenset({"https", "http"})
)

INSTALLED_APPS = [
    # django.contrib.admin with the portal's site (jitportal/admin_site.py)
    "jitportal.admin_site.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_countries",
    "guardian",
    "auditlog",
    "django_celery_beat",
    "axes",
    "health_check",
    # The second factor (apps/signin/mfa.py): TOTP apps, single-use recovery codes and
    # security keys or passkeys (WebAuthn, django-otp-webauthn).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "apps.signin",
    "apps.integrations",
    "apps.audit",
    "apps.inventory",
    "apps.access",
    "apps.retention",
    "apps.reports",
    "apps.crm",
    "apps.chat",
    "apps.webhooks",
    # Accounts in other systems that grants open and close (docs/connectors.md).
    "apps.connectors",
    # The demo organisation and load_demo: imports every app, imported by none.
    "apps.demo",
    "apps.health",
    # The REST API (apps/api, docs/api.md): Django REST framework, its OpenAPI schema and the
    # Swagger UI files served from the portal itself (no CDN).
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.api",
    # The MCP server for AI agents (request-only tools): imports access, imported by none.
    "apps.agents",
    "jitportal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (hashed, compressed, cached for a year) straight from the web process.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "jitportal.middleware.UnstorableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: picks the reader's language (cookie, then Accept-Language).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.signin.policy.DeactivatedUserMiddleware",
    "apps.signin.policy.SessionIdleTimeoutMiddleware",
    # request.user.is_verified(), then: the admin asks a second factor of those who need one.
    "django_otp.middleware.OTPMiddleware",
    "apps.signin.mfa.AdminSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: a search a page cannot run is sent back with the reason (inputs.py).
    "jitportal.middleware.SearchInputMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-auditlog's, with the client address the proxy settings say is real.
    "apps.signin.client_address.AuditlogMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "jitportal.urls"
WSGI_APPLICATION = "jitportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jitportal.redirects.this_page",
            ],
        },
    },
]

# DATABASE_URL, e.g. postgres://user:pass@host:5432/jitportal; default: SQLite beside manage.py.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file in the demo: wait for locks instead of failing,
    # and take the write lock at BEGIN so read-then-write transactions cannot deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", 60, low=0, high=DAY)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses every password check of a locked-out username before it is tried.
    "axes.backends.AxesStandaloneBackend",
    # Django's password backend; refuses all but break-glass admins when PASSWORD_SIGNIN=off.
    "apps.signin.backends.PasswordBackend",
    "apps.access.backends.GrantBackend",
    # OpenID Connect single sign-on (mozilla-django-oidc), when OIDC_RP_CLIENT_ID is set.
    "apps.signin.backends.PortalOIDCBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The organisation's language: emails and exports default to it; each reader can switch.
LANGUAGE_CODE = env("LANGUAGE_CODE", default="en-gb")
LANGUAGES = [
    ("en-gb", _("English")),
    ("de", _("German")),
    ("fr", _("French")),
]
# The portal's own message files (python3 dev.py messages writes them; tests check them).
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
# One date and time format everywhere, a time always with its zone (jitportal/formats).
FORMAT_MODULE_PATH = ["jitportal.formats"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` copies every static file here; whitenoise serves them from it.
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development keeps Django's plain storage; production.py names whitenoise's hashed one.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Where the admin lives (jitportal/urls.py): a path relative to the site root ending in "/",
# e.g. ADMIN_URL=backoffice-7f3a/. Everything else finds it with reverse("admin:...").
ADMIN_URL = env("ADMIN_URL", default="admin/")

# The second factor (apps/signin/mfa.py, docs/signin.md). Off here so that the demo and
# development sign in with a password alone; on by default in production.
MFA_REQUIRED = env.bool("MFA_REQUIRED", default=False)
MFA_REQUIRED_GROUPS = env.list("MFA_REQUIRED_GROUPS", default=["DPO", "Approvers"])
MFA_FRESH_MINUTES = env.int("MFA_FRESH_MINUTES", 10, low=1, high=24 * 60)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="jitportal")
if not re.fullmatch(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*/", ADMIN_URL) or {".", ".."} & set(
    ADMIN_URL.split("/")
):
    raise ImproperlyConfigured(
        f"ADMIN_URL={ADMIN_URL!r}: give a path such as 'admin/' or 'backoffice/': letters, "
        "digits, '.', '_', '~', '-' and inner '/', ending in '/', never starting with '/'"
    )
# The portal's own top-level paths (jitportal/urls.py, the apps' urls) stay theirs.
if ADMIN_URL.split("/")[0] in {
    "accounts", "grants", "health", "i18n", "records", "reports", "request", "requests", "static"
}:  # fmt: skip
    raise ImproperlyConfigured(f"ADMIN_URL={ADMIN_URL!r} would hide the portal's own pages")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal-home"
LOGOUT_REDIRECT_URL = "login"

# Email: EMAIL_URL, e.g. smtp+tls://user:pass@smtp.example.org:587; default prints to the console.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="jitportal <jitportal@localhost>")
# Who is mailed a server error's traceback (Django's mail_admins, only when DEBUG is off):
# ADMINS="Ops <ops@example.org>, dpo-tech@example.org"; SERVER_EMAIL is the sender.
ADMINS = [
    (name or address, address)
    for name, address in getaddresses([env("ADMINS", default="")])
    if address
]
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# http:// for development and the demo; production's deploy checks ask for https.
PORTAL_BASE_URL = env.url(
    "PORTAL_BASE_URL", default="http://127.0.0.1:8000", schemes=frozenset({"https", "http"})
)
# Seconds an SMTP conversation may block a worker (a notice that times out is retried).
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", 30.0, low=1, high=600)

# --- WebAuthn: security keys and passkeys as a second factor ------------------------------
# (django-otp-webauthn; apps/signin/mfa_webauthn.py, docs/signin.md). The relying party ID is
# the host name people type; a key is bound to it, so changing it means registering keys
# again. Browsers run WebAuthn only on https or http://localhost, and the package's checks
# refuse any other origin: by default both follow PORTAL_BASE_URL when it is such an origin
# (an IP address cannot be a relying party ID: 127.0.0.1 becomes localhost), else localhost.
_portal_url = urlsplit(PORTAL_BASE_URL)
_portal_host = _portal_url.hostname or "localhost"
if re.fullmatch(r"[0-9.]+|.*:.*", _portal_host) or (
    _portal_url.scheme != "https" and _portal_host != "localhost"
):
    _portal_host = "localhost"
_portal_port = f":{_portal_url.port}" if _portal_url.port else ""
OTP_WEBAUTHN_RP_ID = env("OTP_WEBAUTHN_RP_ID", default=_portal_host)
OTP_WEBAUTHN_RP_NAME = env("OTP_WEBAUTHN_RP_NAME", default=OTP_TOTP_ISSUER)
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.url_list(
    "OTP_WEBAUTHN_ALLOWED_ORIGINS",
    default=[
        f"https://{_portal_host}{_portal_port}"
        if _portal_url.scheme == "https"
        else f"http://localhost{_portal_port}"
    ],
    schemes=frozenset({"https"}),
    loopback_only=frozenset({"http"}),
)
# A second factor only: signing in still takes single sign-on or a password first.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False

# --- Redis and Celery -------------------------------------------------------------------
REDIS_URL = env.url(
    "REDIS_URL", default="redis://127.0.0.1:6379/0", schemes=frozenset({"redis", "rediss", "unix"})
)
CELERY_BROKER_URL = env.url(
    "CELERY_BROKER_URL",
    default=REDIS_URL,
    schemes=frozenset(
        {"redis", "rediss", "sentinel", "amqp", "amqps", "pyamqp", "sqs", "filesystem"}
    ),
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker the demo falls back to when no Redis answers: messages are files.
    _broker_dir = Path(env("CELERY_BROKER_DIR", default=str(BASE_DIR / "var" / "broker")))
    (_broker_dir / "out").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", 60 * 60, low=60, high=WEEK)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", 55 * 60, low=30, high=WEEK)
# Several workers, a worker lost (docs/deploy.md, "Several workers"): a message is
# acknowledged after its task ends, so a worker killed mid-task (SIGKILL, out of memory, a
# lost host) leaves it to be delivered again; every task is safe to run twice (rows are
# claimed with SELECT ... FOR UPDATE SKIP LOCKED and re-checked under the lock). A worker
# reserves one message at a time, so a long purge does not hold others' work hostage.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task still running when the broker connection drops is cancelled: its message is
# delivered again and runs once more elsewhere, instead of twice at the same time.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Redis hands an unacknowledged message to another worker after this many seconds: it must
# be longer than the longest task may run (CELERY_TASK_TIME_LIMIT), or a long purge would be
# started a second time while the first still runs. RabbitMQ redelivers when the consumer's
# connection closes instead; its own consumer_timeout must exceed the time limit too.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int(
    "CELERY_BROKER_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 30 * 60, low=120, high=30 * DAY
)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_VISIBILITY_TIMEOUT ({CELERY_BROKER_VISIBILITY_TIMEOUT} s) must be "
        f"longer than CELERY_TASK_TIME_LIMIT ({CELERY_TASK_TIME_LIMIT} s): Redis would hand a "
        "running task to a second worker"
    )
# Worker processes per `celery worker` (default: one per CPU).
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", None, low=1, high=256)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish must not hang a web request when the broker is down: one connection attempt,
# this long at most (jitportal.tasking); what was not queued is done by the beat tasks.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float(
    "CELERY_BROKER_CONNECTION_TIMEOUT", 0.5, low=0.1, high=60
)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Kombu's Redis transport ignores the connection timeout above for the TCP connect.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
        "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    }
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Third-party apps ---------------------------------------------------------------------
# No anonymous user row: nobody unauthenticated ever holds an object permission.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
AUDITLOG_INCLUDE_ALL_MODELS = False
# Guardian's own backend is left out on purpose: every denied check would fall through to it
# and cost a query per object. Grants answer has_perm (apps.access.backends); the guardian
# rows are a mirror for code that reads them directly.
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]
AUDITLOG_DISABLE_REMOTE_ADDR = False

# --- The portal's own knobs -----------------------------------------------------------------
JITPORTAL = {
    # Organisation-wide fallbacks; per-policy values live in the database.
    "RECONCILE_EVERY_SECONDS": env.int("JITPORTAL_RECONCILE_EVERY_SECONDS", 60, low=5, high=HOUR),
    "RECONCILE_BATCH_SIZE": env.int("JITPORTAL_RECONCILE_BATCH_SIZE", 1000, low=1, high=1000000),
    # Further reconcile runs queued when more than one batch is due, so idle workers share it.
    "RECONCILE_HELPERS": env.int("JITPORTAL_RECONCILE_HELPERS", 3, low=0, high=64),
    "BREAK_GLASS_MAX": timedelta(
        hours=env.int("JITPORTAL_BREAK_GLASS_MAX_HOURS", 4, low=1, high=72)
    ),
    "EXPIRY_WARNING_BEFORE": timedelta(
        minutes=env.int("JITPORTAL_EXPIRY_WARNING_MINUTES", 30, low=1, high=7 * 24 * 60)
    ),
    "PURGE_BATCH_SIZE": env.int("JITPORTAL_PURGE_BATCH_SIZE", 100000, low=1, high=10000000),
    "PURGE_MIN_PERIOD_DAYS": env.int("JITPORTAL_PURGE_MIN_PERIOD_DAYS", 30, low=1, high=3650),
    "PURGE_FOUR_EYES_THRESHOLD": env.int(
        "JITPORTAL_PURGE_FOUR_EYES_THRESHOLD", 1000, low=0, high=10**9
    ),
    "AUDIT_RETENTION_DAYS": env.int("JITPORTAL_AUDIT_RETENTION_DAYS", 6 * 365, low=365, high=36500),
    "HASH_SECRET": env("JITPORTAL_HASH_SECRET", default=""),
    # UK organisations: the record of processing carries the DPA 2018 Schedule 1 column.
    "ROPA_UK": env.bool("JITPORTAL_ROPA_UK", default=False),
    # Key of the digests that stand for search terms in the audit trail (docs/audit.md).
    "AUDIT_SEARCH_KEY": env("JITPORTAL_AUDIT_SEARCH_KEY", default=""),
    # After a failed publish, skip the broker for this long (the database keeps the work).
    "ENQUEUE_PAUSE_SECONDS": env.int("JITPORTAL_ENQUEUE_PAUSE_SECONDS", 30, low=1, high=HOUR),
    # The notice outbox: tries before giving up (never for break-glass), backoff in seconds.
    "NOTICE_MAX_TRIES": env.int("JITPORTAL_NOTICE_MAX_TRIES", 8, low=1, high=100),
    "NOTICE_RETRY_SECONDS": env.int("JITPORTAL_NOTICE_RETRY_SECONDS", 60, low=1, high=DAY),
    "NOTICE_RETRY_MAX_SECONDS": env.int(
        "JITPORTAL_NOTICE_RETRY_MAX_SECONDS", 3600, low=1, high=WEEK
    ),
    "INTEGRATION_TOKEN_MAX_DAYS": env.int(
        "JITPORTAL_INTEGRATION_TOKEN_MAX_DAYS", 365, low=1, high=3650
    ),
    # Readiness (apps/health) fails while a notice has waited longer than this to be sent.
    "HEALTH_OUTBOX_MAX_AGE": timedelta(
        minutes=env.int("JITPORTAL_HEALTH_OUTBOX_MAX_AGE_MINUTES", 15, low=1, high=24 * 60)
    ),
    # Seconds the readiness check waits for the broker to answer.
    "HEALTH_BROKER_TIMEOUT": env.float("JITPORTAL_HEALTH_BROKER_TIMEOUT", 2.0, low=0.1, high=60),
}

# --- Event webhooks (apps/webhooks, docs/webhooks.md) -------------------------------------
WEBHOOKS = {
    # Fernet keys (comma-separated) encrypting subscription secrets at rest; the first
    # encrypts, all decrypt (rotation). Empty: one key derived from SECRET_KEY.
    "SECRET_KEYS": env.list("WEBHOOK_SECRET_KEYS", default=[]),
    # Local testing only: allow http:// endpoints and private, loopback or link-local targets.
    "ALLOW_HTTP": env.bool("WEBHOOK_ALLOW_HTTP", default=False),
    "ALLOW_PRIVATE_TARGETS": env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False),
    # Tries before a delivery is given up; the wait doubles per try from RETRY_SECONDS.
    "MAX_TRIES": env.int("WEBHOOK_MAX_TRIES", 10, low=1, high=100),
    "RETRY_SECONDS": env.int("WEBHOOK_RETRY_SECONDS", 30, low=1, high=DAY),
    "RETRY_MAX_SECONDS": env.int("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600, low=1, high=WEEK),
    # How often beat sends what is due (retries, and what a lost message left behind).
    "SWEEP_EVERY_SECONDS": env.int("WEBHOOK_SWEEP_EVERY_SECONDS", 30, low=1, high=HOUR),
    # PEM file of the certificate authorities endpoints are checked against, instead of the
    # system's (an internal CA). Empty: the system's.
    "CA_FILE": env("WEBHOOK_CA_FILE", default=""),
    # Readiness (apps/health) and the dashboard turn red while a delivery was given up in
    # the last GIVEN_UP_ALERT_HOURS (until it is re-sent, or the period has passed).
    "GIVEN_UP_ALERT_HOURS": env.int("WEBHOOK_GIVEN_UP_ALERT_HOURS", 24, low=1, high=24 * 90),
    # Delivered and given-up deliveries are deleted this many days after their last try
    # (beat, nightly, or manage.py webhook_deliveries_prune), DELIVERY_PRUNE_BATCH at a time.
    "DELIVERY_RETENTION_DAYS": env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", 90, low=1, high=3650),
    "DELIVERY_PRUNE_BATCH": env.int("WEBHOOK_DELIVERY_PRUNE_BATCH", 1000, low=1, high=100_000),
}
# --- Connectors: accounts in other systems (docs/connectors.md) ---------------------------
CONNECTORS = {
    # Key of the Fernet encryption of one-time secrets until shown (derived from SECRET_KEY
    # when empty); rotating it makes unseen secrets unreadable (they are provisioned again).
    "SECRET_KEY": env("CONNECTORS_SECRET_KEY", default=""),
    # Tries after which the admins are alerted (retries go on with backoff, capped below).
    "ALERT_AFTER_TRIES": env.int("CONNECTORS_ALERT_AFTER_TRIES", 3, low=1, high=100),
    "RETRY_SECONDS": env.int("CONNECTORS_RETRY_SECONDS", 10, low=1, high=DAY),
    "RETRY_MAX_SECONDS": env.int("CONNECTORS_RETRY_MAX_SECONDS", 600, low=1, high=WEEK),
    # Grants ending within this many seconds get a task queued for their exact end.
    "END_HORIZON_SECONDS": env.int("CONNECTORS_END_HORIZON_SECONDS", 90, low=1, high=HOUR),
    # Extra modules that register connectors of the organisation's own.
    "MODULES": env.list("CONNECTORS_MODULES", default=[]),
}
# The demo's target database (apps/demo/connectors.py; load_demo makes it when PostgreSQL
# answers). Empty: the demo binds nothing.
JITPORTAL_DEMO_TARGET_URL = env.url(
    "JITPORTAL_DEMO_TARGET_URL",
    default="postgresql://postgres@127.0.0.1:5432/jitportal_demo_target",
    schemes=frozenset({"postgres", "postgresql"}),
    optional=True,
)

# --- Sign-in: lockout (django-axes), idle sessions, browser policies -----------------------
# Every password check (login page, admin login, anything calling authenticate()) counts
# failures per username, case-insensitively; after AXES_FAILURE_LIMIT failures the username
# is locked for AXES_COOLOFF_MINUTES (0: until unlocked with `manage.py axes_reset_username`).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", 5, low=1, high=100)
_axes_cooloff = env.int("AXES_COOLOFF_MINUTES", 30, low=0, high=30 * 24 * 60)
AXES_COOLOFF_TIME = timedelta(minutes=_axes_cooloff) if _axes_cooloff > 0 else None
# One count per username whatever the address, browser or cookies, so rotating them does not
# reset it; axes.W006 (which asks for the address too) does not apply to a username count.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS += ["axes.W006"]
AXES_USERNAME_CALLABLE = "apps.signin.policy.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies that each
# append to X-Forwarded-For, that many entries from its right (apps/signin/client_address.py).
# Lockout and the audit trail both use it; never a header a client can set when 0.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0, low=0, high=10)
TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
AXES_CLIENT_IP_CALLABLE = "apps.signin.client_address.client_address"
# Logged out after this long without a request (OWASP Session Management: idle timeout).
SESSION_IDLE_TIMEOUT = timedelta(minutes=env.int("SESSION_IDLE_MINUTES", 30, low=1, high=24 * 60))

# --- Sign-in: single sign-on (OpenID Connect, mozilla-django-oidc) and password sign-in ----
# Single sign-on is offered when OIDC_RP_CLIENT_ID is set. Endpoints: OIDC_ISSUER alone (read
# from its /.well-known/openid-configuration), or each OIDC_OP_*_ENDPOINT (docs/signin.md).
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
# https:// only (http:// to a provider on this machine, for tests); empty: not used.
_HTTPS, _LOCAL_HTTP = frozenset({"https"}), frozenset({"http"})
OIDC_ISSUER = env.url(
    "OIDC_ISSUER", default="", schemes=_HTTPS, loopback_only=_LOCAL_HTTP, optional=True
)
OIDC_OP_AUTHORIZATION_ENDPOINT = env.url(
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    default="",
    schemes=_HTTPS,
    loopback_only=_LOCAL_HTTP,
    optional=True,
)
OIDC_OP_TOKEN_ENDPOINT = env.url(
    "OIDC_OP_TOKEN_ENDPOINT", default="", schemes=_HTTPS, loopback_only=_LOCAL_HTTP, optional=True
)
OIDC_OP_USER_ENDPOINT = env.url(
    "OIDC_OP_USER_ENDPOINT", default="", schemes=_HTTPS, loopback_only=_LOCAL_HTTP, optional=True
)
OIDC_OP_JWKS_ENDPOINT = env.url(
    "OIDC_OP_JWKS_ENDPOINT", default="", schemes=_HTTPS, loopback_only=_LOCAL_HTTP, optional=True
)
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid email profile groups")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", 10.0, low=1, high=120)
# The userinfo claim listing the user's groups (Entra ID: "groups"/"roles", Keycloak: "groups").
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", default="groups")
# {"idp-group": "Portal group" or ["Group", ...]}; the admin adds rows (Sign-in > Group mappings).
OIDC_GROUP_MAP = env.json("OIDC_GROUP_MAP", default={})
# On: an existing account whose groups claim names none of the mapped identity-provider groups
# (removed from the portal's groups at the provider) is deactivated at that sign-in, which
# offboards it (docs/access.md, "Offboarding"). Off by default: an unmapped sign-in is refused
# nothing and keeps no portal group.
OIDC_DEACTIVATE_UNMAPPED = env.bool("OIDC_DEACTIVATE_UNMAPPED", default=False)
# Shown on the login button: "Sign in with <name>" (empty: "Sign in with single sign-on").
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="")
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
OIDC_AUTHENTICATE_CLASS = "apps.signin.views.OIDCRequestView"
OIDC_CALLBACK_CLASS = "apps.signin.views.OIDCCallbackView"
# Membership of these portal groups gives admin access (is_staff) to accounts that sign in
# with single sign-on; no identity-provider group can give more (never is_superuser).
SIGNIN_ADMIN_GROUPS = ["DPO", "Approvers", "Auditors"]
# PASSWORD_SIGNIN=off: passwords sign in only the break-glass admins named here (usernames,
# case-insensitive), at /accounts/login/password/; everyone else uses single sign-on.
PASSWORD_SIGNIN = env.bool("PASSWORD_SIGNIN", default=True)
PASSWORD_SIGNIN_BREAK_GLASS = env.list("PASSWORD_SIGNIN_BREAK_GLASS", default=[])

# Content-Security-Policy (django-csp) and Permissions-Policy, in every environment so that
# development and the browser test see what production sends: no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# The portal uses none of these browser features: deny them to every origin.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (  # noqa: SIM905 - a literal list takes a line per name
        "accelerometer autoplay camera display-capture encrypted-media fullscreen geolocation "
        "gyroscope magnetometer microphone midi payment picture-in-picture screen-wake-lock "
        "usb xr-spatial-tracking"
    ).split()
}
# Security keys and passkeys (the second factor): this origin only, never a framed one.
PERMISSIONS_POLICY["publickey-credentials-create"] = ["self"]
PERMISSIONS_POLICY["publickey-credentials-get"] = ["self"]

# LOG_FORMAT=json: one JSON object a line (python-json-logger), for a log collector.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use 'plain' or 'json'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "filters": {
        "not_a_health_probe": {
            "()": "django.utils.log.CallbackFilter",
            "callback": "ext://jitportal.observability.not_a_health_probe",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Server errors still reach Django's own handlers (mailed to ADMINS when DEBUG is
        # off) and Sentry; a failing health probe's 500 does not.
        "django.request": {"filters": ["not_a_health_probe"]},
    },
}

# --- REST API (apps/api, docs/api.md) ---------------------------------------------------------
# Session (with CSRF) for the browser, integration tokens (Bearer, scoped) for machines; JSON
# only; every error an RFC 9457 problem detail; every list paginated.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: its Bearer challenge is the 401's WWW-Authenticate header.
        "apps.api.authentication.IntegrationTokenAuthentication",
        "apps.api.authentication.PortalSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.permissions.TokenScopePermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.PagePagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", 50, low=1, high=200),
    "EXCEPTION_HANDLER": "apps.api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "jitportal API",
    "DESCRIPTION": "Just-in-time access, the data inventory, registers and the audit trail "
    "(docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.schema.integer_ids",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RequestStatusEnum": "apps.access.models.RequestStatus",
        "GrantStatusEnum": "apps.access.models.GrantStatus",
    },
}

if LOG_FORMAT == "json":
    # Celery workers and beat log through the configuration above instead of their own.
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Optional error reporting to Sentry (or a compatible service): no personal data is sent
# (jitportal/observability.py strips bodies, cookies and who the user is).
# A self-hosted Sentry may answer on http:// inside the network.
SENTRY_DSN = env.url("SENTRY_DSN", default="", schemes=frozenset({"https", "http"}), optional=True)
# Read (and checked) whether or not a DSN is set, so that a wrong value is found at once.
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", 0.0, low=0.0, high=1.0)
if SENTRY_DSN:
    from jitportal.observability import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# --- Approvals from Slack (apps/chat, docs/slack.md) -------------------------------------
# Slack's Web API; the tests point it at a local stand-in. Messages are sent only with a token.
# https:// only (http:// to a stand-in on this machine), never a metadata address or a file.
SLACK_API_URL = env.url(
    "SLACK_API_URL", default="https://slack.com/api/", schemes=_HTTPS, loopback_only=_LOCAL_HTTP
)
SLACK_BOT_TOKEN = env("SLACK_BOT_TOKEN", default="")
# Signs every interactive request; without it the endpoint refuses everything.
SLACK_SIGNING_SECRET = env("SLACK_SIGNING_SECRET", default="")
# Match an unlinked Slack user to the portal user with the same, Slack-confirmed email.
SLACK_MATCH_BY_EMAIL = env.bool("SLACK_MATCH_BY_EMAIL", default=False)
SLACK_TIMEOUT_SECONDS = env.int("SLACK_TIMEOUT_SECONDS", 10, low=1, high=120)
# The one Slack workspace (team id, T…) whose clicks count; empty: any the app is installed in.
SLACK_TEAM_ID = env("SLACK_TEAM_ID", default="")
if SLACK_TEAM_ID and not re.fullmatch(r"T[A-Z0-9]{2,20}", SLACK_TEAM_ID):
    raise ImproperlyConfigured(
        f"SLACK_TEAM_ID={SLACK_TEAM_ID[:40]!r}: give the workspace's team id, 'T' then capital "
        "letters and digits (e.g. T024BE7LD), or leave it empty"
    )
