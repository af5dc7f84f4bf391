# Shortcuts; each target is also a plain command (see README).
.PHONY: demo test bench lint format migrations-check deploy-check ci

demo:
	python3 dev.py demo

test:
	python3 dev.py test

bench:
	python3 dev.py bench

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

migrations-check:
	.venv/bin/python manage.py makemigrations --check --dry-run

deploy-check:
	DJANGO_SETTINGS_MODULE=jitportal.settings.production \
	SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(64))') \
	ALLOWED_HOSTS=jit.example.org PORTAL_BASE_URL=https://jit.example.org DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/jitportal} \
	.venv/bin/python manage.py check --deploy --fail-level WARNING

ci:
	bash .ci/run
