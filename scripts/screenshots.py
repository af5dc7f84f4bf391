#!/usr/bin/env python3
"""Render screenshots of the portal from a running server into docs/img/.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000
    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 --out /tmp/shots \\
        --staff staff:staff-demo-pass --approver approver:approver-demo-pass

It logs in as a staff member and as an approver (the demo users by default, see
``manage.py load_demo``) and saves:

- portal-home.png             the staff member's "My access" page
- request-form.png            the request form with the policy panel of a data asset
- records.png                 the customers, else the support tickets, else the refusal
- admin-approval-queue.png    the approver's queue in the admin

Needs Debian's ``chromium`` (apt-get install chromium) and the ``playwright`` package;
Playwright's own browser download is not used. It changes nothing on the server except
what any reader causes: opening a records page writes its access-log event.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 860}


def credentials(value: str) -> tuple[str, str]:
    username, sep, password = value.partition(":")
    if not sep or not username:
        raise argparse.ArgumentTypeError("give USERNAME:PASSWORD")
    return username, password


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    if "/accounts/login/" in page.url:
        raise SystemExit(f"could not log in as {username!r} at {base}")


def shoot(page, out: Path, name: str) -> None:
    path = out / name
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="the running portal, e.g. http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--staff", type=credentials, default=("staff", "staff-demo-pass"))
    parser.add_argument("--approver", type=credentials, default=("approver", "approver-demo-pass"))
    args = parser.parse_args(argv)

    executable = shutil.which("chromium")
    if executable is None:
        print("needs Chromium: apt-get install chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    base = args.base_url.rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            staff = browser.new_context(viewport=VIEWPORT).new_page()
            log_in(staff, base, *args.staff)
            staff.goto(f"{base}/")
            shoot(staff, args.out, "portal-home.png")

            staff.goto(f"{base}/request/")
            options = staff.locator("select[name=target] option[value^='asset-']")
            if options.count():
                # The form's script fetches the policy panel of the chosen target.
                value = options.first.get_attribute("value")
                staff.select_option("select[name=target]", value)
                staff.locator("#policy h2").wait_for()
            shoot(staff, args.out, "request-form.png")

            opened = staff.goto(f"{base}/records/")
            if opened is not None and opened.status == 403:
                # No grant on the customers: the tickets, if a grant opens them.
                tickets = staff.goto(f"{base}/records/tickets/")
                if tickets is None or tickets.status != 200:
                    staff.goto(f"{base}/records/")
            shoot(staff, args.out, "records.png")

            approver = browser.new_context(viewport=VIEWPORT).new_page()
            log_in(approver, base, *args.approver)
            approver.goto(f"{base}/admin/access/accessrequest/queue/")
            shoot(approver, args.out, "admin-approval-queue.png")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
