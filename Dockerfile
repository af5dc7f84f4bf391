# The portal's image: one image for the web process, the Celery worker and Celery beat
# (compose.yaml, docs/deploy.md). Not built by CI here: these machines have no Docker engine;
# tests/e2e/test_production_stack.py runs the same commands without containers.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=jitportal.settings.production \
    STATIC_ROOT=/app/staticfiles \
    PATH=/venv/bin:$PATH

RUN python -m venv /venv && useradd --system --create-home --home-dir /home/jitportal jitportal
WORKDIR /app

# Dependencies first (a layer that changes only with pyproject.toml), then the code.
COPY pyproject.toml README.md ./
RUN mkdir -p apps jitportal && touch apps/__init__.py jitportal/__init__.py \
    && pip install -e . && rm -rf apps jitportal
COPY . .

# Build-time steps: compile the message files; collect, hash and compress the static files
# (the settings need some values to load; none of them is used by these two commands).
RUN DJANGO_SETTINGS_MODULE=jitportal.settings.base python manage.py translations --compile \
    && SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-build-only \
       ALLOWED_HOSTS=build.invalid DATABASE_URL=postgres://build.invalid/build \
       python manage.py collectstatic --noinput

USER jitportal
EXPOSE 8000
# compose.yaml (or the orchestrator) names the process: the web server by default,
# `python manage.py migrate --noinput` once per release, `celery -A jitportal worker
# --loglevel INFO` for workers and `celery -A jitportal beat --loglevel INFO` exactly once.
CMD ["gunicorn"]
