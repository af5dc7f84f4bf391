#!/usr/bin/env python3
"""One entry point for newcomers and CI; needs nothing but Python 3.11+.

    python3 dev.py demo    install, migrate, load the demo organisation, run web + worker + beat
    python3 dev.py test    install and run the whole test suite (extra args go to pytest)
    python3 dev.py bench   run every benchmark in bench/
    python3 dev.py messages  update the German and French message files from the code, compile them

It keeps its own virtual environment in .venv and reinstalls only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def say(msg: str) -> None:
    print(f"[jitportal] {msg}", flush=True)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 is
        sys.exit("jitportal needs Python 3.11 or newer")
    if not PY.exists():
        say("creating .venv")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    stamp = VENV / ".installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installing dependencies into .venv (first run takes a minute)")
    quiet = ["-q", "-q", "--disable-pip-version-check"]
    subprocess.run([str(PY), "-m", "pip", "install", *quiet, "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", *quiet, "-e", f"{ROOT}[dev]"], check=True)
    stamp.write_text(digest)


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(PY), "manage.py", *args], cwd=ROOT, env=env, check=True)


def compile_messages() -> None:
    """Compile locale/*.po to .mo (the .mo files are built, never committed)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="jitportal.settings.base")
    subprocess.run(
        [str(PY), "manage.py", "translations", "--compile"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def demo(argv: list[str]) -> int:
    ensure_venv()
    compile_messages()
    port = os.environ.get("PORT", "8000")
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "jitportal.settings.base")
    env.setdefault("PORTAL_BASE_URL", f"http://127.0.0.1:{port}")
    if "CELERY_BROKER_URL" not in env:
        if "REDIS_URL" in env:
            env["CELERY_BROKER_URL"] = env["REDIS_URL"]
            say(f"broker: Redis at {env['REDIS_URL']}")
        elif answers("127.0.0.1", 6379):
            env["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/0"
            say("broker: Redis on 127.0.0.1:6379")
        else:
            env["CELERY_BROKER_URL"] = "filesystem://"
            say(
                "broker: no Redis answers (set REDIS_URL or start redis-server), so the "
                "embedded file broker in var/broker is used; fine for a first look"
            )
    (ROOT / "var").mkdir(exist_ok=True)
    manage("migrate", "--noinput", "-v", "0", env=env)
    loaded = subprocess.run(
        [str(PY), "manage.py", "load_demo"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    print(loaded, end="", flush=True)
    procs = {
        "web": [str(PY), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "jitportal",
            "worker",
            "-l",
            "info",
            "--pool",
            "threads",
            "--concurrency",
            "2",
        ],
        "beat": [
            str(BIN / "celery"),
            "-A",
            "jitportal",
            "beat",
            "-l",
            "info",
            "--schedule",
            str(ROOT / "var" / "celerybeat-schedule"),
        ],
    }
    running = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in procs.items()}
    # The workers log a lot at start: repeat what a newcomer needs once they are up.
    time.sleep(6)
    logins = loaded[loaded.find("username") :] if "username" in loaded else ""
    print(f"\n{logins}", flush=True)
    admin = env.get("ADMIN_URL", "admin/")
    say(f"portal:  http://127.0.0.1:{port}/   admin: http://127.0.0.1:{port}/{admin}")
    say("web, worker and beat are running; Ctrl-C stops all three")

    def stop(*_: object) -> None:
        for proc in running.values():
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(proc.poll() is None for proc in running.values()):
            time.sleep(0.5)
        failed = [name for name, proc in running.items() if proc.poll() not in (None, 0)]
        if failed:
            say(f"{', '.join(failed)} stopped; stopping the others")
    except KeyboardInterrupt:
        say("stopping")
    stop()
    for proc in running.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


def test(argv: list[str]) -> int:
    ensure_venv()
    compile_messages()
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "jitportal.settings.test"
    return subprocess.run([str(PY), "-m", "pytest", *argv], cwd=ROOT, env=env).returncode


def bench(argv: list[str]) -> int:
    ensure_venv()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "jitportal.settings.test")
    status = 0
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        if argv and script.stem not in argv:
            continue
        say(f"running {script.name}")
        status |= subprocess.run([str(PY), str(script)], cwd=ROOT, env=env).returncode
    return status


def messages(argv: list[str]) -> int:
    ensure_venv()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="jitportal.settings.base")
    cmd = [str(PY), "manage.py", "translations", *argv]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


COMMANDS = {"demo": demo, "test": test, "bench": bench, "messages": messages}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
