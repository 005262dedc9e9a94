"""What the demo tests share: the running demo's handle, and a person in a browser window
doing what the sample and Tether's pages ask."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.browser.support import run_cli

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "angularjs-linking"
LOCK_SAMPLE = REPO / "examples" / "angularjs-lock-linking"
#: Where each step's screenshot goes. TETHER_DEMO_SCREENSHOTS=docs/screenshots refreshes the
#: committed ones (shown in the README); a normal run writes to a temporary folder, so running
#: the suite never changes the checkout.
SCREENSHOTS = Path(
    os.environ.get("TETHER_DEMO_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / f"tether-demo-screenshots-{os.getpid()}"
)
PASSWORD = "correct horse battery staple"
OUTSIDE_EMAIL = "outside@example.com"
OUTSIDE_PASSWORD = "outside demo password"
#: Bounded waits (Playwright's defaults for actions and navigations).
ACTION_TIMEOUT_MS = 15_000
NAVIGATION_TIMEOUT_MS = 20_000
CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class Demo:
    """A running ``tether serve --demo`` and the sample it serves."""

    url: str  # http://localhost:PORT, the sample's "domain"
    sample_url: str  # http://localhost:SAMPLE_PORT/
    client_id: str
    config: dict[str, Any]
    env: dict[str, str]
    data_dir: Path
    log: Path
    lock_url: str = ""  # http://localhost:LOCK_PORT/, the tutorial's Lock 14 version
    lock_config: dict[str, Any] = field(default_factory=dict)

    @property
    def upstream_url(self) -> str:
        """The outside IdP: a second tenant of the same server on 127.0.0.1."""
        return self.url.replace("//localhost:", "//127.0.0.1:")

    def cli(self, *args: str) -> Any:
        return json.loads(run_cli(self.env, self.data_dir, *args, "--json"))

    def signup(self, email: str, password: str = PASSWORD) -> None:
        """A password user made through the public signup API, as another app would."""
        r = httpx.post(
            f"{self.url}/dbconnections/signup",
            json={
                "client_id": self.client_id,
                "email": email,
                "password": password,
                "connection": "Username-Password-Authentication",
            },
            timeout=10,
        )
        assert r.status_code == 200, r.text


def shot(page: Any, name: str) -> None:
    """docs/screenshots/demo-NAME.png of what the page shows now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"demo-{name}.png"), full_page=True, timeout=10_000)


@dataclass
class Person:
    """One browser context (its own cookies and localStorage) with the sample open in a tab."""

    demo: Demo
    context: Any
    page: Any
    problems: list[str] = field(default_factory=list)
    #: Requests still waiting for an answer, by id (for the evidence after a failure).
    pending: dict[int, str] = field(default_factory=dict)

    # -- the sample -----------------------------------------------------------------------

    def open_sample(self) -> None:
        self.page.goto(self.demo.sample_url)
        self.ready()

    def ready(self) -> None:
        """The sample has started and finished any sign-in in progress."""
        self.page.wait_for_url(lambda u: u.startswith(self.demo.sample_url))
        self.page.wait_for_selector(
            ".home[data-ready]", state="attached", timeout=NAVIGATION_TIMEOUT_MS
        )
        self.idle()

    def idle(self) -> None:
        self.page.wait_for_selector('.home[data-busy="false"]', state="attached")

    def user_id(self) -> str:
        return str(self.page.inner_text("#profile-user-id")).strip()

    def identities(self) -> list[dict[str, str]]:
        """The sample's list of linked identities, as shown."""
        items: list[dict[str, str]] = self.page.eval_on_selector_all(
            ".identities-item",
            """els => els.map(e => ({
                provider: e.dataset.provider, user_id: e.dataset.userId,
                text: e.querySelector('.who').innerText}))""",
        )
        return items

    def wait_for_identities(self, count: int) -> list[dict[str, str]]:
        self.page.wait_for_function(
            "n => document.querySelectorAll('.identities-item').length === n "
            "&& document.querySelector('.home[data-busy=\"false\"]')",
            arg=count,
            timeout=ACTION_TIMEOUT_MS,
        )
        return self.identities()

    def error(self) -> str | None:
        box = self.page.query_selector("#error")
        return None if box is None else str(box.inner_text()).strip()

    def click_link_account(self) -> Any:
        """Link Account: the popup, on Tether's sign-in page."""
        with self.page.expect_popup(timeout=ACTION_TIMEOUT_MS) as info:
            self.page.click("#link-account")
        popup = info.value
        popup.wait_for_url(lambda u: u.startswith(f"{self.demo.url}/u/login"))
        popup.wait_for_load_state()
        return popup

    # -- Tether's pages -------------------------------------------------------------------

    def sign_up(self, email: str, password: str = PASSWORD, *, screenshot: str = "") -> None:
        """Sign Up in the sample -> Tether's sign-up page -> back, signed in."""
        self.page.click("#signup")
        self.page.wait_for_url(lambda u: u.startswith(f"{self.demo.url}/u/signup"))
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        if screenshot:
            shot(self.page, screenshot)
        self.page.click("form button[type=submit]")
        self.ready()
        self.page.wait_for_selector("#profile-user-id")

    def password_sign_in(self, page: Any, email: str, password: str = PASSWORD) -> None:
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("form button[type=submit]")

    def email_code_sign_in(
        self, page: Any, email: str, *, screenshots: tuple[str, str] = ("", "")
    ) -> None:
        """On /u/login: "Continue with an email code", then the code read from the demo
        mailbox page, opened in another tab as a person would."""
        page.click("text=Continue with an email code")
        page.wait_for_url(lambda u: u.startswith(f"{self.demo.url}/u/passwordless"))
        page.fill("#email", email)
        page.click("form button[type=submit]")
        page.wait_for_selector("#code")
        code = self.read_code(email, screenshot=screenshots[0])
        page.fill("#code", code)
        if screenshots[1]:
            shot(page, screenshots[1])
        page.click("form button[type=submit]")

    def read_code(self, email: str, *, screenshot: str = "") -> str:
        mailbox = self.context.new_page()
        try:
            mailbox.goto(f"{self.demo.url}/demo/mailbox")
            newest = mailbox.locator(f'article.mail[aria-label="Mail to {email}"]').first
            text = str(newest.inner_text(timeout=ACTION_TIMEOUT_MS))
            if screenshot:
                shot(mailbox, screenshot)
        finally:
            mailbox.close()
        found = CODE.search(text)
        assert found, f"no code in the mail to {email}: {text!r}"
        return found.group(1)

    def outside_idp_sign_in(self, page: Any, *, screenshot: str = "") -> None:
        """On /u/login: "Continue with Outside IdP (demo)" -> the other tenant's sign-in page."""
        page.click("text=Continue with Outside IdP (demo)")
        page.wait_for_url(lambda u: u.startswith(f"{self.demo.upstream_url}/u/login"))
        page.fill("#email", OUTSIDE_EMAIL)
        page.fill("#password", OUTSIDE_PASSWORD)
        if screenshot:
            shot(page, screenshot)
        page.click("form button[type=submit]")

    # -- after a failure --------------------------------------------------------------------

    def leave_evidence(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="tether-demo-failure-"))
        shutil.copy(self.demo.log, folder / "serve.log")
        for i, page in enumerate(self.context.pages):
            try:
                page.screenshot(path=str(folder / f"tab{i}.png"), timeout=5000)
                (folder / f"tab{i}.html").write_text(f"<!-- {page.url} -->\n" + page.content())
            except Exception as exc:  # a closed popup, a page mid-navigation: keep going
                (folder / f"tab{i}.txt").write_text(repr(exc))
        (folder / "console.txt").write_text("\n".join(self.problems))
        (folder / "pending-requests.txt").write_text("\n".join(self.pending.values()))
        print(f"\ndemo evidence (screenshots, HTML, server log) in {folder}")


def new_person(browser: Any, demo: Demo) -> Person:
    context = browser.new_context(viewport={"width": 1000, "height": 720})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    person = Person(demo, context, context.new_page())

    def watch(page: Any) -> None:
        page.on(
            "console",
            lambda m: (
                person.problems.append(f"{page.url}: console {m.type}: {m.text}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda exc: person.problems.append(f"{page.url}: page error: {exc}"))

    watch(person.page)
    context.on("page", watch)
    context.on("request", lambda r: person.pending.__setitem__(id(r), f"{r.method} {r.url}"))
    context.on("requestfinished", lambda r: person.pending.pop(id(r), None))
    context.on(
        "requestfailed",
        lambda r: (
            person.pending.pop(id(r), None),
            person.problems.append(f"request failed: {r.method} {r.url} {r.failure}"),
        ),
    )
    return person
