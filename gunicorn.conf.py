"""gunicorn's configuration for the portal (docs/deploy.md). Every value can be changed
from the environment; gunicorn reads this file from the working directory by itself:

    DJANGO_SETTINGS_MODULE=jitportal.settings.production gunicorn

WEB_CONCURRENCY      worker processes (default: 2 per CPU + 1, at most 8)
GUNICORN_THREADS     threads per worker (default 4; a slow export does not block the worker)
GUNICORN_BIND        address to listen on (default 0.0.0.0:$PORT, PORT defaulting to 8000)
GUNICORN_TIMEOUT     seconds a worker may stay silent before it is restarted (default 60)
FORWARDED_ALLOW_IPS  proxies whose X-Forwarded-* headers are believed (default 127.0.0.1)
LOG_FORMAT           "json" for one JSON object a line, as the Django logs (default plain)
"""

import multiprocessing
import os

wsgi_app = "jitportal.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# gthread workers tell the arbiter they are alive from their main loop, so a long streamed
# export does not count against the timeout; a worker stuck for this long is restarted.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# A worker is replaced after this many requests (with jitter) to bound any slow leak.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Heartbeat files in memory, not on a disk that may stall (containers: /dev/shm).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Request limits (gunicorn's defaults, written out): a request line of 4 KiB, 100 headers.
limit_request_line = 4094
limit_request_fields = 100

# Access log: the time, method, path without its query string (searches and filters may
# hold names), status, size and duration. No client address, user, referrer or browser: the
# audit trail records who did what; this log is for operating the service.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

if os.environ.get("LOG_FORMAT") == "json":
    # The same formatter as the Django logs (python-json-logger); an access line carries the
    # fields above as "message".
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
