"""The browser tests' world: the demo practice in the test database, a real `cmgraph serve`
with the UI on, and one headless Chromium (Debian's, driven by Playwright) for the module.

Chromium cannot be downloaded here (no `playwright install`): the tests use /usr/bin/chromium
(`CMGRAPH_CHROMIUM` to point elsewhere), which .ci/run installs when missing. Without it they
skip, except under CI, where that is a failure."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from cmgraph import demo
from cmgraph.db.engine import Database
from cmgraph.services import tenants
from tests.ui.served_practice import Practice

CHROMIUM = os.environ.get("CMGRAPH_CHROMIUM", "/usr/bin/chromium")
# CI keeps this folder (build/ is ignored by git); each test leaves its screenshot there.
SCREENSHOTS = Path(os.environ.get("CMGRAPH_UI_SCREENSHOTS", "build/ui-screenshots"))
STARTUP_SECONDS = 60.0
ROOT = Path(__file__).resolve().parents[2]


def _browser_missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def chromium_path() -> str:
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run under CI: {missing}")
        pytest.skip(missing)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return cast("int", probe.getsockname()[1])


@pytest.fixture(scope="module")
async def demo_practice(db: Database) -> tuple[str, str]:
    """The demo practice in the suite's database, under a slug of its own."""
    slug = f"ui-{uuid.uuid4().hex[:8]}"
    await demo.load_demo(db, slug=slug)
    return slug, await tenants.create_token(db, slug, "coordinator")


@pytest.fixture(scope="module")
def practice(
    chromium_path: str,
    demo_practice: tuple[str, str],
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Practice]:
    slug, token = demo_practice
    port = _free_port()
    log = tmp_path_factory.mktemp("ui-serve") / "serve.log"
    env = {
        **os.environ,
        "CMGRAPH_DATABASE_URL": database_url,
        "CMGRAPH_UI": "true",
        "CMGRAPH_DEV": "1",
        "CMGRAPH_PLUGINS_DIR": str(ROOT / "plugins"),  # the demo's payors name them
    }
    command = [sys.executable, "-m", "cmgraph.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-dispatch"]  # the screens need no webhooks
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise AssertionError(f"cmgraph serve exited:\n{log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).is_success:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"cmgraph serve not ready:\n{log.read_text()}")
            time.sleep(0.2)
        yield Practice(url, token, slug)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def browser(chromium_path: str, practice: Practice) -> Iterator[Any]:
    # After the practice: Playwright's sync API keeps an event loop running while it is
    # open, and the practice's async fixtures need theirs first.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path)
        yield launched
        launched.close()


@pytest.fixture(scope="module", autouse=True)
def _screenshot_folder() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


class Offline:
    """Requests that tried to leave the machine (a CDN), and what the page complained of."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.console: list[str] = []


@pytest.fixture
def page(browser: Any, practice: Practice, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab with no way out: anything not served by cmgraph is aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    offline = Offline()

    def refuse(route: Any) -> None:
        offline.outside.append(route.request.url)
        route.abort()

    tab.route(lambda url: not url.startswith(practice.url), refuse)

    def console(message: Any) -> None:
        if message.type in {"error", "warning"}:
            offline.console.append(message.text)

    tab.on("console", console)
    tab.on("pageerror", lambda e: offline.console.append(str(e)))
    tab.offline = offline
    yield tab
    with contextlib.suppress(Exception):
        tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def shot(page: Any) -> Any:
    """Saves a screenshot of what a person sees at this step, under SCREENSHOTS."""

    def take(name: str, full_page: bool = False) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return take
