"""Steps through the pages, the axe-core check, and screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.support import PASSWORD
from tests.dashboard.browser.conftest import AXE, SCREENSHOTS

_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
  }));
}"""


def sign_in_here(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    """On /u/login: fill in and submit the database form."""
    page.wait_for_url(lambda u: u.startswith(f"{base}/u/login"))
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form button[type=submit]")


def open_signed_in(page: Any, base: str, path: str, email: str) -> None:
    page.goto(base + path)
    sign_in_here(page, base, email)
    page.wait_for_url(lambda u: u.startswith(base + path.split("?")[0]))


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page. The script is evaluated through
    the DevTools protocol, which the page's CSP does not govern, so the page stays as served."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;0")
    found: list[dict[str, Any]] = page.evaluate(_RUN_AXE)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def assert_accessible(page: Any) -> None:
    bad = axe_violations(page)
    assert not bad, f"axe-core on {page.url}:\n" + "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} {v['nodes']}" for v in bad
    )


def screenshot(page: Any, name: str, *, full_page: bool = True) -> None:
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)
