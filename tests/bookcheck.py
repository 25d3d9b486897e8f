"""Check built HTML pages in headless Chromium, with no network.

:func:`check_site` serves a directory of HTML on loopback, opens every page in
headless Chromium through the DevTools protocol (``websocket-client``) and
reports, per page:

- console errors, uncaught JavaScript exceptions and failed resource loads;
- requests to any host other than the loopback server (the book must work
  offline, so nothing may come from a CDN);
- images that did not load (``naturalWidth == 0``);
- internal links whose page is missing, or whose ``#fragment`` names no
  element of the target page;
- matplotlib figures shown as their text form (``<Figure size ... with N
  Axes>``) instead of as an image, and images of the text that are not a
  figure with a caption;
- mathematics left unrendered: a Sphinx ``.math`` element without a MathJax
  ``mjx-container``, a MathJax error, or raw ``\\(``, ``\\[`` or ``$$`` in the
  visible text;
- layout, at each of :data:`LAYOUT_WIDTHS` (a 1280-px desktop window and a
  400-px phone): a display equation wider than its column (readable only by
  scrolling sideways inside the equation; break it into aligned lines), a page
  wider than the window, and content cut off by an element that hides its
  overflow instead of scrolling it.

:func:`search_site` types queries into a page's search box (a form whose
action is Sphinx's ``search.html``), submits it, and returns the pages that
Sphinx's search lists for each query.

It is test support code, used by ``tests/book/test_bookcheck.py`` (tiny fixture
pages, each broken in one way) and ``tests/book/test_book.py`` (the real book).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import signal
import socketserver
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import websocket  # websocket-client

__all__ = [
    "LAYOUT_WIDTHS", "PageReport", "check_site", "chromium_for_tests", "find_chromium", "html_pages", "search_site",
]

# Window widths (CSS pixels) at which every page's layout is checked: a
# desktop window and a phone held upright.
LAYOUT_WIDTHS = (1280, 400)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--remote-debugging-port=0",
]

# Runs in the page after the load event: waits for MathJax and for the images,
# then returns what it found. Kept free of any project-specific assumption
# other than Sphinx's class "math" on math elements.
_PAGE_PROBE = r"""
(async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  const images = Array.from(document.images);
  for (const img of images) { img.loading = "eager"; }
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
  const brokenImages = images
    .filter((img) => !(img.complete && img.naturalWidth > 0))
    .map((img) => img.getAttribute("src"));
  const mathElements = Array.from(document.querySelectorAll(".math"));
  const unrenderedMath = mathElements
    .filter((el) => !el.querySelector("mjx-container"))
    .map((el) => el.textContent.trim().slice(0, 80));
  const mathErrors = Array.from(document.querySelectorAll("mjx-merror, .MathJax_Error"))
    .map((el) => (el.getAttribute("data-mjx-error") || el.textContent).slice(0, 80));
  const rawTex = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const skip = "PRE,CODE,SCRIPT,STYLE,TEXTAREA,MJX-CONTAINER";
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement && node.parentElement.closest(skip.toLowerCase())) { continue; }
    const text = node.nodeValue;
    if (text.includes("\\(") || text.includes("\\[") || text.includes("$$")) {
      rawTex.push(text.trim().slice(0, 80));
    }
  }
  const figuresAsText = Array.from(document.querySelectorAll("pre"))
    .map((el) => el.textContent)
    .filter((text) => /<Figure size [0-9.]+x[0-9.]+ with \d+ Axes>/.test(text))
    .map((text) => text.trim().slice(0, 80));
  // Images of the text (not of the theme's header or sidebars) must be
  // figures with a caption.
  const article = document.querySelector("article") || document.querySelector("main") || document.body;
  const uncaptioned = Array.from(article.querySelectorAll("img"))
    .filter((img) => {
      const figure = img.closest("figure");
      const caption = figure && figure.querySelector("figcaption");
      return !(caption && caption.textContent.trim());
    })
    .map((img) => (img.getAttribute("src") || "").split("/").pop().slice(0, 40));
  const links = Array.from(document.querySelectorAll("a[href]"))
    .map((a) => a.href)
    .filter((href) => href.startsWith(location.origin + "/"));
  return {
    brokenImages, unrenderedMath, mathErrors, rawTex, figuresAsText, uncaptioned, links,
    nMath: mathElements.length, nImages: images.length,
    hasMathJax: Boolean(mj && mj.startup),
  };
})()
"""


# Runs in the page once the window has a given width: measures, in CSS
# pixels, what does not fit. Sphinx display maths is a ``div.math`` holding a
# MathJax ``mjx-container`` (the theme lets that container scroll sideways, so
# an equation wider than its column is readable only by scrolling inside it).
_LAYOUT_PROBE = r"""
(() => {
  const slack = 1;
  const label = (el, k) => {
    const eqno = el.querySelector(".eqno");
    const text = eqno ? eqno.textContent.replace(/[#\s]+$/u, "").trim() : "";
    return text || (el.id ? "#" + el.id : "display equation " + (k + 1));
  };
  const wideEquations = [];
  Array.from(document.querySelectorAll("div.math")).forEach((el, k) => {
    const box = el.querySelector("mjx-container");
    const formula = box && box.querySelector("mjx-math");
    if (!formula || box.getClientRects().length === 0) { return; }
    const need = Math.ceil(formula.getBoundingClientRect().width);
    const have = Math.floor(box.clientWidth);
    if (need > have + slack) { wideEquations.push({label: label(el, k), need, have}); }
  });
  const root = document.scrollingElement || document.documentElement;
  const pageWidth = root.scrollWidth;
  const cutOff = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("mjx-container, .bd-sidebar-primary, .bd-sidebar-secondary, nav, script, style")) { continue; }
    if (el.clientWidth === 0 || el.getClientRects().length === 0) { continue; }
    const style = getComputedStyle(el);
    if (style.overflowX !== "hidden" && style.overflowX !== "clip") { continue; }
    if (style.visibility === "hidden" || style.display === "none") { continue; }
    if (el.scrollWidth <= el.clientWidth + slack) { continue; }
    // What overflows must be visible: MathJax's assistive MathML, for
    // instance, is wider than the formula but clipped to nothing on purpose.
    const box = el.getBoundingClientRect();
    let right = box.right;
    for (const inner of el.querySelectorAll("*")) {
      if (inner.closest("mjx-assistive-mml") || inner.getClientRects().length === 0) { continue; }
      right = Math.max(right, inner.getBoundingClientRect().right);
    }
    if (right > box.right + slack) {
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
        + (el.classList.length ? "." + Array.from(el.classList).slice(0, 2).join(".") : "");
      cutOff.push({name, need: Math.ceil(right - box.left), have: Math.floor(box.width),
                   text: (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 60)});
    }
  }
  // The layout viewport: on a phone, innerWidth grows with a too-wide page.
  return {wideEquations, pageWidth, windowWidth: document.documentElement.clientWidth, cutOff};
})()
"""


@dataclass
class PageReport:
    """What the browser found on one page.

    Attributes
    ----------
    page : str
        Path of the page relative to the served root.
    problems : list of str
        One message per problem; empty when the page is clean.
    n_math : int
        Number of ``.math`` elements on the page.
    n_images : int
        Number of ``<img>`` elements on the page.
    """

    page: str
    problems: list = field(default_factory=list)
    n_math: int = 0
    n_images: int = 0


def find_chromium() -> str | None:
    """Return the path of a Chromium executable on PATH, or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_for_tests() -> str:
    """Return Chromium's path for a test; skip locally, fail in CI, when it is absent.

    The tests that call it carry the ``browser`` marker, which does the same before they start
    (``debian_packages.py``, ``conftest.py``).
    """
    from debian_packages import need

    need("chromium")
    return find_chromium()


def html_pages(root) -> list[str]:
    """Return the ``.html`` files under ``root`` (posix paths, sorted).

    Sphinx's copies of static assets and sources (``_static``, ``_sources``,
    ``_images``, ``_downloads``) are not pages and are left out.
    """
    root = Path(root)
    skip = {"_static", "_sources", "_images", "_downloads"}
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.html")
        if not skip.intersection(p.relative_to(root).parts[:-1])
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        pass


@contextlib.contextmanager
def _serve(root: Path):
    """Serve ``root`` on 127.0.0.1 at a free port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _Cdp:
    """A minimal DevTools-protocol client over one page's websocket."""

    def __init__(self, ws_url: str, timeout: float):
        self._ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self._next_id = 0
        self.events: list[dict] = []

    def close(self):
        self._ws.close()

    def call(self, method: str, timeout: float, **params):
        """Send a command and return its result; events received meanwhile are kept."""
        self._next_id += 1
        msg_id = self._next_id
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, method)
            if message.get("id") == msg_id:
                if "error" in message:
                    raise RuntimeError(f"DevTools command {method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def drain(self, seconds: float):
        """Keep the events that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._ws.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                message = json.loads(self._ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if "method" in message:
                self.events.append(message)

    def _receive(self, deadline: float, waiting_for: str) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"Timed out waiting for DevTools {waiting_for}.")
        self._ws.settimeout(remaining)
        try:
            return json.loads(self._ws.recv())
        except websocket.WebSocketTimeoutException as exc:
            raise TimeoutError(f"Timed out waiting for DevTools {waiting_for}.") from exc


@contextlib.contextmanager
def _chromium(executable: str, timeout: float):
    """Start headless Chromium with a fresh profile; yield its DevTools HTTP base URL."""
    with tempfile.TemporaryDirectory(prefix="bookcheck-chromium-", ignore_cleanup_errors=True) as profile:
        # Its own process group, so that the browser's helper processes can be
        # ended together with it (by this group's id only).
        proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not (port_file.is_file() and port_file.read_text().strip()):
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"Chromium exited with code {proc.returncode} at startup: {err}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Chromium did not open its DevTools port within {timeout} s.")
                time.sleep(0.05)
            port = int(port_file.read_text().split()[0])
            yield f"http://127.0.0.1:{port}"
        finally:
            _end_process_group(proc)


def _end_process_group(proc: subprocess.Popen) -> None:
    """End the process group that ``proc`` leads (SIGTERM, then SIGKILL)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    # Helpers of the group may outlive the leader by a moment.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    if proc.stderr is not None:
        proc.stderr.close()


def _page_target(devtools: str, timeout: float) -> str:
    """Return the websocket URL of a page target (creating one if needed)."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{devtools}/json/list", timeout=timeout) as resp:
            targets = json.load(resp)
        pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        if time.monotonic() > deadline:
            request = urllib.request.Request(f"{devtools}/json/new?about:blank", method="PUT")
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return json.load(resp)["webSocketDebuggerUrl"]
        time.sleep(0.1)


class _Ids(HTMLParser):
    """Collect the ``id`` and ``name`` attributes of an HTML document."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


class _LinkChecker:
    """Check same-origin links: the target exists, and so does its fragment."""

    def __init__(self, timeout: float):
        self._timeout = timeout
        self._status: dict[str, tuple[bool, set[str] | None]] = {}

    def _fetch(self, url: str) -> tuple[bool, set[str] | None]:
        if url not in self._status:
            try:
                with urllib.request.urlopen(url, timeout=self._timeout) as resp:
                    body = resp.read()
                    is_html = resp.headers.get_content_type() == "text/html"
                ids = None
                if is_html:
                    parser = _Ids()
                    parser.feed(body.decode("utf-8", errors="replace"))
                    ids = parser.ids
                self._status[url] = (True, ids)
            except urllib.error.HTTPError:
                self._status[url] = (False, None)
        return self._status[url]

    def problems(self, href: str) -> list[str]:
        url, _, fragment = href.partition("#")
        ok, ids = self._fetch(url)
        if not ok:
            return [f"broken internal link: {href}"]
        fragment = urllib.parse.unquote(fragment)
        if fragment and ids is not None and fragment not in ids:
            return [f"broken internal link (no element with id {fragment!r}): {href}"]
        return []


class _Refresh(HTMLParser):
    """Find the target of a ``<meta http-equiv="refresh">`` redirect."""

    def __init__(self):
        super().__init__()
        self.target: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            _, _, url = (attrs.get("content") or "").partition("url=")
            self.target = url.strip() or None


def _refresh_target(path: Path) -> str | None:
    """Return the redirect target of an HTML file, or ``None`` if it is a page."""
    parser = _Refresh()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.target


def _event_problems(events: list[dict], origin: str) -> list[str]:
    """Translate DevTools events into problem messages."""
    problems = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            problems.append(f"console {params['type']}: {text[:300]}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            problems.append(f"uncaught exception: {text[:300]}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            problems.append(f"console error ({entry.get('source')}): {entry.get('text', '')[:200]} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            scheme = urllib.parse.urlsplit(url).scheme
            if scheme in ("http", "https", "ws", "wss") and not url.startswith(origin + "/"):
                problems.append(f"request outside the book (needs network): {url}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"failed to load a resource: {params.get('errorText')} (request {params.get('requestId')})")
    return problems


@contextlib.contextmanager
def _site_tab(root: Path, chromium, timeout: float, domains=("Page", "Runtime")):
    """Serve ``root`` on loopback and open one Chromium tab with ``domains`` enabled; yield ``(origin, cdp)``."""
    executable = chromium or find_chromium()
    if executable is None:
        raise FileNotFoundError("No Chromium executable on PATH (tried chromium, chromium-browser, google-chrome).")
    with _serve(root) as origin, _chromium(executable, timeout) as devtools:
        cdp = _Cdp(_page_target(devtools, timeout), timeout)
        try:
            for domain in domains:
                cdp.call(f"{domain}.enable", timeout)
            yield origin, cdp
        finally:
            cdp.close()


def check_site(root, pages=None, *, chromium=None, timeout=60.0, widths=LAYOUT_WIDTHS) -> list[PageReport]:
    """Open pages of a static site in headless Chromium and report problems.

    Parameters
    ----------
    root : str or Path
        Directory served as the site root (e.g. ``_build/html``).
    pages : list of str, default=None
        Pages to open, relative to ``root``; ``None`` opens every page
        (:func:`html_pages`).
    chromium : str, default=None
        Chromium executable; ``None`` uses :func:`find_chromium`.
    timeout : float, default=60.0
        Seconds allowed for Chromium to start and for each page to load.
    widths : sequence of int, default=LAYOUT_WIDTHS
        Window widths in CSS pixels at which the layout of each page is
        checked (``()`` skips the layout checks).

    Returns
    -------
    reports : list of PageReport
        One per page, in the order of ``pages``.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"The 'root' argument must be a directory of HTML. Got {str(root)!r} instead.")
    pages = html_pages(root) if pages is None else list(pages)
    reports = []
    links = _LinkChecker(timeout)
    with _site_tab(root, chromium, timeout, ("Page", "Runtime", "Log", "Network")) as (origin, cdp):
        for page in pages:
            target = _refresh_target(root / page)
            if target is None:
                reports.append(_check_page(cdp, origin, page, links, timeout, widths))
            else:
                # A redirect page (e.g. the book's top-level index.html):
                # only its target must exist.
                href = urllib.parse.urljoin(f"{origin}/{urllib.parse.quote(page)}", target)
                reports.append(PageReport(page, links.problems(href)))
    return reports


def _navigate(cdp: _Cdp, url: str, timeout: float) -> str | None:
    """Load ``url`` in the tab; return an error text, or ``None`` once it has loaded.

    Events recorded before the navigation are discarded, so the events kept
    afterwards belong to this page only. Completion is checked in the page
    itself (its URL and ``document.readyState``), not by a load event that
    might belong to the previous page.
    """
    cdp.events.clear()
    result = cdp.call("Page.navigate", timeout, url=url)
    if result.get("errorText"):
        return result["errorText"]
    deadline = time.monotonic() + timeout
    while True:
        state = cdp.call(
            "Runtime.evaluate", timeout, expression="document.readyState + ' ' + location.href", returnByValue=True
        )["result"].get("value", "")
        if state == f"complete {url}":
            return None
        if url != "about:blank" and state.startswith("complete ") and state != "complete about:blank":
            return f"the page redirected to {state.split(' ', 1)[1]}"
        if time.monotonic() > deadline:
            raise TimeoutError(f"Page {url} did not finish loading within {timeout} s (state {state!r}).")
        time.sleep(0.05)


def _layout_problems(cdp: _Cdp, widths, timeout: float) -> list[str]:
    """Resize the window to each width and report what does not fit."""
    problems = []
    try:
        for width in widths:
            cdp.call(
                "Emulation.setDeviceMetricsOverride", timeout,
                width=int(width), height=900, deviceScaleFactor=1, mobile=width < 600,
            )
            probe = cdp.call("Runtime.evaluate", timeout, expression=_LAYOUT_PROBE, returnByValue=True)
            if "exceptionDetails" in probe:
                problems.append(f"layout probe failed at {width} px: {probe['exceptionDetails'].get('text')}")
                continue
            found = probe["result"]["value"]
            problems.extend(
                f"display equation wider than its column at {width} px: {eq['label']} needs {eq['need']} px, "
                f"the column has {eq['have']} px (break it into aligned lines)"
                for eq in found["wideEquations"]
            )
            if found["pageWidth"] > found["windowWidth"] + 1:
                problems.append(f"page wider than the window at {width} px: {found['pageWidth']} px")
            problems.extend(
                f"content cut off at {width} px: {el['name']} shows {el['have']} of {el['need']} px ({el['text']!r})"
                for el in found["cutOff"]
            )
    finally:
        cdp.call("Emulation.clearDeviceMetricsOverride", timeout)
    return problems


def _check_page(cdp: _Cdp, origin: str, page: str, links: _LinkChecker, timeout: float, widths=()) -> PageReport:
    report = PageReport(page)
    # A blank page between two checked pages, so no event of one leaks into the next.
    _navigate(cdp, "about:blank", timeout)
    cdp.drain(0.1)
    url = f"{origin}/{urllib.parse.quote(page)}"
    error = _navigate(cdp, url, timeout)
    if error:
        report.problems.append(f"navigation failed: {error}")
        return report
    probe = cdp.call(
        "Runtime.evaluate", timeout, expression=_PAGE_PROBE, awaitPromise=True, returnByValue=True
    )
    if "exceptionDetails" in probe:
        report.problems.append(f"page probe failed: {probe['exceptionDetails'].get('text')}")
        return report
    found = probe["result"]["value"]
    cdp.drain(0.3)  # late console messages
    report.n_math, report.n_images = found["nMath"], found["nImages"]
    report.problems.extend(_event_problems(cdp.events, origin))
    report.problems.extend(f"broken image: {src}" for src in found["brokenImages"])
    if found["nMath"] and not found["hasMathJax"]:
        report.problems.append(f"{found['nMath']} math elements but MathJax did not load")
    report.problems.extend(f"unrendered math: {text}" for text in found["unrenderedMath"])
    report.problems.extend(f"MathJax error: {text}" for text in found["mathErrors"])
    report.problems.extend(f"raw TeX in text: {text}" for text in found["rawTex"])
    report.problems.extend(f"figure shown as text, not as an image: {text}" for text in found["figuresAsText"])
    report.problems.extend(f"image without a caption (make it a figure): {src}" for src in found["uncaptioned"])
    for href in sorted(set(found["links"])):
        report.problems.extend(links.problems(href))
    report.problems.extend(_layout_problems(cdp, widths, timeout))
    return report


# Runs in a page: fills the first search box (a form whose action is Sphinx's
# search.html, with an input named q) and submits it. Returns false when the
# page has no such form.
_SEARCH_SUBMIT = r"""
((query) => {
  const form = Array.from(document.querySelectorAll("form"))
    .find((f) => /search\.html$/.test(f.getAttribute("action") || "") && f.querySelector("input[name=q]"));
  if (!form) { return false; }
  form.querySelector("input[name=q]").value = query;
  form.submit();
  return true;
})
"""

# Runs in Sphinx's search page: null while the search runs, else the result
# links (Sphinx writes its summary once every result is shown).
_SEARCH_RESULTS = r"""
(() => {
  const summary = document.querySelector("#search-results .search-summary");
  const text = summary ? summary.textContent : "";
  if (!/finished|did not match/i.test(text)) { return null; }
  return Array.from(document.querySelectorAll("#search-results ul.search li"))
    .map((li) => { const a = li.querySelector("a"); return a ? a.href : ""; });
})()
"""


def search_site(root, queries, *, start_page, chromium=None, timeout=60.0) -> dict:
    """Search a Sphinx site with its search box, as a reader does.

    Parameters
    ----------
    root : str or Path
        Directory served as the site root (e.g. ``_build/html``).
    queries : sequence of str
        What to type into the search box, one search each.
    start_page : str
        Page (relative to ``root``) whose search box is used.
    chromium : str, default=None
        Chromium executable; ``None`` uses :func:`find_chromium`.
    timeout : float, default=60.0
        Seconds allowed for Chromium to start, for each page to load and for
        each search to finish.

    Returns
    -------
    results : dict
        For each query, the result pages, relative to ``root`` (without
        their query string or fragment), in the order the search lists them.
    """
    root = Path(root)
    results = {}
    with _site_tab(root, chromium, timeout) as (origin, cdp):
        for query in queries:
            url = f"{origin}/{urllib.parse.quote(start_page)}"
            error = _navigate(cdp, url, timeout)
            if error:
                raise RuntimeError(f"could not open {start_page}: {error}")
            submitted = cdp.call("Runtime.evaluate", timeout, expression=f"{_SEARCH_SUBMIT}({json.dumps(query)})",
                                 returnByValue=True)["result"].get("value")
            if not submitted:
                raise AssertionError(f"{start_page} has no search box (a form to search.html with an input q)")
            # The form's submission navigates to search.html; until it has, the
            # old page (or none) answers, so wait for the search page first.
            deadline = time.monotonic() + timeout
            found = None
            while found is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the search for {query!r} did not finish within {timeout} s")
                time.sleep(0.1)
                try:
                    where = cdp.call("Runtime.evaluate", timeout, returnByValue=True,
                                     expression="location.pathname + ' ' + document.readyState")
                    if not where["result"].get("value", "").endswith("search.html complete"):
                        continue
                    found = cdp.call("Runtime.evaluate", timeout, expression=_SEARCH_RESULTS,
                                     returnByValue=True)["result"].get("value")
                except RuntimeError:  # the page navigated while it was asked
                    continue
            pages = []
            for href in found:
                path = urllib.parse.urlsplit(href).path
                pages.append(urllib.parse.unquote(path[len(urllib.parse.urlsplit(origin).path) + 1:]))
            results[query] = pages
    return results


def landing_addresses(root, addresses, *, chromium=None, timeout=60.0) -> dict:
    """Open addresses of a static site in Chromium and say where each one ends, redirects followed.

    Parameters
    ----------
    root : str or Path
        Directory served as the site root (e.g. ``_build/html``).
    addresses : sequence of str
        Pages relative to ``root``, each with an optional ``#fragment``.
    chromium : str, default=None
        Chromium executable; ``None`` uses :func:`find_chromium`.
    timeout : float, default=60.0
        Seconds allowed for Chromium to start and for each page to settle.

    Returns
    -------
    landed : dict
        For each address, the page the browser shows once it has stopped
        moving (a loaded page whose address has not changed for half a
        second), relative to ``root``, with its fragment.
    """
    root = Path(root)
    landed = {}
    with _site_tab(root, chromium, timeout) as (origin, cdp):
        for address in addresses:
            cdp.call("Page.navigate", timeout, url=f"{origin}/{address}")
            deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
            while True:
                time.sleep(0.1)
                try:
                    state = cdp.call("Runtime.evaluate", timeout, returnByValue=True,
                                     expression="document.readyState + ' ' + location.href")["result"].get("value", "")
                except RuntimeError:  # the page navigated while it was asked
                    state = None
                if state != last:
                    last, since = state, time.monotonic()
                elif state and state.startswith("complete ") and time.monotonic() - since > 0.5:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{address} did not settle within {timeout} s (last state {last!r})")
            landed[address] = last.split(" ", 1)[1][len(origin) + 1:]
    return landed


if __name__ == "__main__":  # pragma: no cover - manual use: python tests/bookcheck.py _build/html
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join("_build", "html")
    bad = 0
    for rep in check_site(target):
        status = "ok" if not rep.problems else "FAIL"
        print(f"{status:4} {rep.page}  (math {rep.n_math}, images {rep.n_images})")
        for problem in rep.problems:
            print(f"     - {problem}")
        bad += bool(rep.problems)
    sys.exit(1 if bad else 0)
