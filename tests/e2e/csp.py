"""Collect what a real browser reports about the Content-Security-Policy."""

from __future__ import annotations

_LISTEN = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
    + `at ${e.sourceFile}:${e.lineNumber} (${document.location.pathname})`);
});
"""


def csp_watch(context) -> list[str]:
    """Record every securitypolicyviolation event and every console error of a browser
    context's pages; returns the list that fills as pages load."""
    reports: list[str] = []

    def report(text: str) -> None:
        reports.append(text)

    context.expose_function("__cspViolation", report)
    context.add_init_script(_LISTEN)

    def on_console(page, msg) -> None:
        # A page answered 403/404/405 on purpose logs "Failed to load resource": not an error
        # of the page itself.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            reports.append(f"console {msg.type}: {msg.text} ({page.url})")

    def on_page(page) -> None:
        page.on("console", lambda msg: on_console(page, msg))

    for page in context.pages:
        on_page(page)
    context.on("page", on_page)
    return reports
