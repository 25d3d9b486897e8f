"""The students' and the instructor's side of the course in Chromium (Playwright), through the course's JupyterHub."""

from __future__ import annotations

import json
import time

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ASSIGNMENTS_TAB = "#jp-main-dock-panel .nbgrader-AssignmentList, #jp-main-dock-panel #assignments"


def launch(playwright, executable: str, user_data_dir: str):
    """Debian's Chromium, a fresh profile (``--user-data-dir``), nothing downloaded: a persistent context."""
    return playwright.chromium.launch_persistent_context(
        user_data_dir, executable_path=executable, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})


class HubSession:
    """One user logged in to the hub in a fresh page of ``context``; only loopback is reachable."""

    def __init__(self, context, hub_url: str, user: str, password: str):
        self.hub, self.user = hub_url, user
        self.base = f"{hub_url}/user/{user}"
        self.page = context.new_page()
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.accept()))
        self.page.goto(f"{hub_url}/hub/login")
        self.page.fill("input#username_input", user)
        self.page.fill("input#password_input", password)
        self.page.click("#login_submit")

    def open_lab(self) -> None:
        """Wait for the user's server (started by the hub at login) and JupyterLab."""
        self.page.wait_for_url(f"**/user/{self.user}/lab**", timeout=180_000)
        self.page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
        self.page.wait_for_selector(".lm-MenuBar-itemLabel:text-is('Nbgrader')", timeout=60_000)

    def open_assignments(self) -> None:
        """Nbgrader -> Assignment List: the Assignments tab."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        self.page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
        self.page.wait_for_selector("#released_assignments_list", timeout=60_000)
        self.refresh()

    def refresh(self) -> None:
        self.page.locator("#refresh_assignments_list").click()
        self.page.wait_for_selector("#released_assignments_list_loading", state="hidden", timeout=60_000)
        self.page.wait_for_timeout(500)

    def fetch(self, assignment: str) -> None:
        row = self.page.locator("#released_assignments_list .list_item", has_text=assignment)
        row.locator("button", has_text="Fetch").click()
        self.page.locator("#fetched_assignments_list .list_item", has_text=assignment).first.wait_for(timeout=60_000)

    def put_notebook(self, path: str, nb: dict) -> None:
        """Save a notebook into the user's server as JupyterLab does: the contents API, with the session's XSRF token."""
        status = self.page.evaluate(
            """async ([url, body]) => {
                const m = document.cookie.match(/(?:^|; )_xsrf=([^;]+)/);
                const r = await fetch(url, {method: 'PUT', credentials: 'same-origin', body,
                    headers: {'Content-Type': 'application/json', 'X-XSRFToken': m ? decodeURIComponent(m[1]) : ''}});
                return r.status;
            }""",
            [f"{self.base}/api/contents/{path}", json.dumps({"type": "notebook", "format": "json", "content": nb})])
        assert status in (200, 201), f"saving {path} as {self.user} answered HTTP {status}"

    def api_get(self, path: str):
        """GET a path of the user's server's REST API from the page (cookie and XSRF token, as JupyterLab does)."""
        return self.page.evaluate(
            """async (url) => {
                const m = document.cookie.match(/(?:^|; )_xsrf=([^;]+)/);
                const r = await fetch(url, {credentials: 'same-origin',
                    headers: {'X-XSRFToken': m ? decodeURIComponent(m[1]) : ''}});
                return {status: r.status, body: await r.text()};
            }""", f"{self.base}/api/{path}")

    def validate(self, assignment: str, timeout_s: float = 600) -> tuple[str, float]:
        """Click Validate in the Downloaded list; return the dialog's text and the seconds it took."""
        item = self.page.locator("#fetched_assignments_list > .list_item", has_text=assignment)
        notebooks = item.locator(".assignment-notebooks")
        if not notebooks.locator("button", has_text="Validate").first.is_visible():
            item.locator("a.assignment-notebooks-link").click()
        t0 = time.monotonic()
        notebooks.locator("button", has_text="Validate").first.click()
        dialog = self.page.locator(".jp-Dialog")
        dialog.wait_for(timeout=timeout_s * 1000)
        text = dialog.inner_text()
        seconds = time.monotonic() - t0
        dialog.locator("button").last.click()
        dialog.wait_for(state="detached", timeout=10_000)
        return text, seconds

    def submit(self, assignment: str) -> None:
        before = self.page.locator("#submitted_assignments_list .list_item").count()
        item = self.page.locator("#fetched_assignments_list > .list_item", has_text=assignment)
        item.locator("button", has_text="Submit").first.click()
        deadline = time.monotonic() + 60
        while self.page.locator("#submitted_assignments_list .list_item").count() <= before:
            assert time.monotonic() < deadline, f"{self.user}'s submission never showed in the Submitted list"
            self.page.wait_for_timeout(300)

    def fetch_feedback(self, assignment: str) -> None:
        self.refresh()
        item = self.page.locator("#submitted_assignments_list .list_item", has_text=assignment).last
        item.locator("button", has_text="Fetch Feedback").click()
        self.page.locator("#submitted_assignments_list", has_text="view feedback").wait_for(timeout=60_000)

    def close(self) -> None:
        self.page.close()


def open_assignments_as(context, hub_url: str, user: str, password: str) -> HubSession:
    """Log ``user`` in (alone: the profile's cookies cleared first), wait for JupyterLab, open the Assignments tab."""
    context.clear_cookies()
    session = HubSession(context, hub_url, user, password)
    session.open_lab()
    session.open_assignments()
    return session
