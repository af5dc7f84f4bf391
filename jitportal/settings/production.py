"""Production: every secret comes from the environment and the deploy checks pass.

Required: SECRET_KEY (50+ characters, not the development one), ALLOWED_HOSTS,
DATABASE_URL. HTTPS behaviour can be tuned with the SECURE_* variables below.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import DAY, INSECURE_DEFAULT_SECRET_KEY, env

DEBUG = False

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "Production needs SECRET_KEY: a random value of at least 50 characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Production needs ALLOWED_HOSTS, e.g. ALLOWED_HOSTS=jit.example.org")

if "DATABASE_URL" not in env.ENVIRON:
    raise ImproperlyConfigured(
        "Production needs DATABASE_URL, e.g. postgres://jitportal:secret@db.internal:5432/jitportal"
    )

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000, low=0, high=2 * 365 * DAY)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 8 * 60 * 60, low=300, high=30 * DAY)
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Static files: collectstatic writes hashed, compressed copies (gzip, and Brotli when the
# brotli package is installed) and a manifest; whitenoise serves the hashed names with a
# one-year immutable cache header. `manage.py collectstatic --noinput` runs at each deploy.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Probes reach the health endpoints over plain HTTP inside the network (docs/deploy.md).
SECURE_REDIRECT_EXEMPT = [r"^health/"]

# A second factor for the admin's approvers, DPO and superusers (docs/signin.md).
MFA_REQUIRED = env.bool("MFA_REQUIRED", default=True)
