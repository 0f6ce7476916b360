"""Helpers for the browser tests (no tests here): headless Chromium, real servers, free ports.

Chromium is Debian's package (``/usr/bin/chromium``, installed by ``.ci/run``), driven by
Playwright for Python through ``executable_path``: ``playwright install`` is never run.
Every page is recorded: console errors, failed requests, and each request's origin, so a test
can assert that nothing left the page's own origin.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from server_helpers import BIN, free_port, running

__all__ = ["BIN", "free_port", "running"]  # re-exported for the browser tests

CHROMIUM = Path(os.environ.get("TSUNAGARI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 850}


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (Playwright ``Browser``); fails clearly when it is not installed."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.fail("playwright is not installed: .venv/bin/pip install playwright")
    if not CHROMIUM.exists():  # pragma: no cover - .ci/run installs it
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What a page did: console errors, uncaught exceptions, requests and failed responses."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)

    def origins(self) -> set[str]:
        return {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.requests}


#: Reports every Content-Security-Policy violation to the console, where PageLog sees it.
CSP_REPORTER = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


#: The browser's language (its Accept-Language): a resident's Japanese browser unless a test
#: asks for another; headless Chromium alone would say en-US and get the English pages.
LOCALE = "ja-JP"


def open_page(
    browser: object, viewport: dict[str, int], locale: str = LOCALE
) -> tuple[object, PageLog]:
    """A new page in its own context, recording everything into a :class:`PageLog`.

    Content-Security-Policy violations land in ``errors`` and, separately, in ``csp``.
    """
    context = browser.new_context(viewport=viewport, locale=locale)  # type: ignore[attr-defined]
    context.add_init_script(CSP_REPORTER)
    page = context.new_page()
    log = PageLog()

    def console(message: object) -> None:
        if message.type != "error":  # type: ignore[attr-defined]
            return
        text = str(message.text)  # type: ignore[attr-defined]
        log.errors.append(text)
        if text.startswith("CSP violation") or "Content Security Policy" in text:
            log.csp.append(text)

    page.on("console", console)
    page.on("pageerror", lambda e: log.errors.append(f"uncaught: {e}"))
    page.on("request", lambda r: log.requests.append(r.url))
    page.on(
        "response",
        lambda r: log.failures.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.on("requestfailed", lambda r: log.failures.append(f"failed {r.url}"))
    return page, log


A11Y_DIR = Path(__file__).resolve().parent / "a11y"
#: The axe-core rule tags of JIS X 8341-3:2016 level AA (= WCAG 2.0 AA) and WCAG 2.1 AA.
AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_script() -> Path:
    """axe-core at the version pinned in ``tests/a11y/package-lock.json`` (``npm ci`` once)."""
    script = A11Y_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=A11Y_DIR,
            check=True,
            capture_output=True,
        )
    return script


def open_checked_page(
    browser: object, viewport: dict[str, int], locale: str = LOCALE
) -> tuple[object, PageLog]:
    """Like :func:`open_page`, in a context that lets the test inject axe-core despite the CSP.

    Only the accessibility checks use it: the CSP itself is tested with :func:`open_page`.
    """
    context = browser.new_context(viewport=viewport, bypass_csp=True, locale=locale)  # type: ignore[attr-defined]
    page = context.new_page()
    log = PageLog()
    page.on("pageerror", lambda e: log.errors.append(f"uncaught: {e}"))
    page.on(
        "console",
        lambda m: log.errors.append(str(m.text)) if m.type == "error" else None,
    )
    return page, log


def axe_violations(page: object) -> list[str]:
    """Run axe-core on the page as it is now; one line per violation and node (empty = AA).

    An opening popup fades in (Leaflet's opacity transition): colours measured halfway are
    not the page's, so the check waits until every popup is fully shown.
    """
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('.leaflet-popup')]"
        ".every(p => getComputedStyle(p).opacity === '1')",
        timeout=10_000,
    )
    page.add_script_tag(path=str(axe_script()))  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AA_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {n['target']} — {n['failureSummary'][:200]}"
        for v in result["violations"]
        for n in v["nodes"]
    ]


def small_targets(page: object, selector: str, minimum: int = 44) -> list[str]:
    """Visible elements matching ``selector`` smaller than ``minimum`` px on either side."""
    return page.evaluate(  # type: ignore[attr-defined]
        """([sel, min]) => [...document.querySelectorAll(sel)]
            .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
            .map(e => [e, e.getBoundingClientRect()])
            .filter(([e, r]) => r.width > 0 && (r.width < min || r.height < min))
            .map(([e, r]) => `${e.tagName} ${(e.id || e.className || '').toString().slice(0, 30)}`
                 + ` "${(e.textContent || '').trim().slice(0, 20)}" ${r.width.toFixed(0)}x${r.height.toFixed(0)}`)""",
        [selector, minimum],
    )


def page_width(page: object) -> int:
    """The document's scroll width in CSS px (wider than the viewport = a sideways scroll)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth"))  # type: ignore[attr-defined]


def screenshot(page: object, name: str) -> Path:
    """Save a full-viewport PNG under ``test-artifacts/`` (git-ignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path


def assert_visible_beside_the_panel(page: object, point: dict[str, float]) -> None:
    """The map shows ``point`` inside the map and outside the panel that covers part of it."""
    pixel = page.evaluate(  # type: ignore[attr-defined]
        "p => Tsunagari.map.latLngToContainerPoint(p)", point
    )
    size = page.evaluate("Tsunagari.map.getSize()")  # type: ignore[attr-defined]
    assert 0 <= pixel["x"] <= size["x"] and 0 <= pixel["y"] <= size["y"], pixel
    panel = page.evaluate(  # type: ignore[attr-defined]
        """() => {
            const p = document.getElementById('tg-panel').getBoundingClientRect();
            const m = Tsunagari.map.getContainer().getBoundingClientRect();
            return {left: p.left - m.left, right: p.right - m.left,
                    top: p.top - m.top, bottom: p.bottom - m.top};
        }"""
    )
    inside_x = panel["left"] <= pixel["x"] <= panel["right"]
    inside_y = panel["top"] <= pixel["y"] <= panel["bottom"]
    assert not (inside_x and inside_y), (pixel, panel)
