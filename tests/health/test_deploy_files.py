"""The Dockerfile, compose.yaml and the systemd units run exactly the commands the
production stack test runs, and there is exactly one beat."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.test_production_stack import BEAT, COLLECTSTATIC, MIGRATE, WEB, WORKER

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def line(command: list[str]) -> str:
    return " ".join(command)


def test_compose_runs_the_tested_commands_with_one_beat():
    compose = (ROOT / "compose.yaml").read_text()
    commands = dict(re.findall(r"^  (\w+):\n(?:    .*\n)*?    command: (.+)$", compose, re.M))
    assert commands == {
        "redis": '["redis-server", "--appendonly", "yes"]',
        "migrate": line(MIGRATE),
        "web": line(WEB),
        "worker": line(WORKER),
        "beat": line(BEAT),
    }
    beat = re.search(r"^  beat:\n((?:    .*\n)*)", compose, re.M).group(1)
    assert "      replicas: 1\n" in beat
    for service in ("db", "redis", "migrate", "web", "worker", "beat"):
        assert f"\n  {service}:\n" in compose


def test_the_image_collects_static_files_and_starts_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert line(COLLECTSTATIC) in dockerfile
    assert 'CMD ["gunicorn"]' in dockerfile
    assert "DJANGO_SETTINGS_MODULE=jitportal.settings.production" in dockerfile


def test_systemd_units_run_the_tested_commands():
    def exec_lines(unit: str) -> list[str]:
        text = (UNITS / unit).read_text()
        return [
            value.replace("/opt/jitportal/.venv/bin/", "")
            for value in re.findall(r"^ExecStart=(.+)$", text, re.M)
        ]

    assert exec_lines("jitportal-release.service") == [line(COLLECTSTATIC), line(MIGRATE)]
    assert exec_lines("jitportal-web.service") == [line(WEB)]
    assert exec_lines("jitportal-worker.service") == [line(WORKER)]
    assert exec_lines("jitportal-beat.service") == [line(BEAT)]
