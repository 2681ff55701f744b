"""Browser suite: a real daphne server with its own database, driven by headless Chromium.

The server is started once per test session with fresh state (migrated and seeded with the
demo data) in a temporary directory. Every page a test visits goes through ``check_a11y``,
which runs axe-core, fails on serious or critical violations and saves a full-page
screenshot to ``test-results/screenshots/``.

Nothing here touches the test process's own database: the tests talk to the server over
HTTP only, so they need neither the ``db`` fixture nor the ``django_db`` marker.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
DEMO_PASSWORD = "lakeland-demo-2026"
BLOCKING_IMPACTS = {"serious", "critical"}
SERVER_START_TIMEOUT = 30.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

expect.set_options(timeout=10_000)


@dataclass(frozen=True)
class Server:
    base_url: str
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _server_env(var_dir: Path, base_url: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "WORKSPACE_ENV", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(
        WORKSPACE_VAR_DIR=str(var_dir),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=base_url,
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A daphne server on a free port with a freshly migrated and seeded SQLite database."""
    var_dir = tmp_path_factory.mktemp("e2e-var")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = _server_env(var_dir, base_url)
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo")

    log_path = var_dir / "server.log"
    daphne = ROOT / ".venv" / "bin" / "daphne"
    if not daphne.exists():
        daphne = Path(sys.executable).with_name("daphne")
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(port), "workspace.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _port_answers(port):
            if process.poll() is not None:
                pytest.fail(f"daphne exited with {process.returncode} before answering:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"daphne did not answer on port {port} within {SERVER_START_TIMEOUT:.0f}s:\n{log_path.read_text()}"
                )
            time.sleep(0.1)
        yield Server(base_url=base_url, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshots() -> None:
    """Start each run with an empty screenshot folder, so every file there is from this run."""
    if SCREENSHOTS.is_dir():
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Browser, server: Server) -> Iterator[Callable[..., BrowserContext]]:
    """Open fresh browser contexts (separate cookie jars); all are closed after the test."""
    contexts: list[BrowserContext] = []

    def open_context(**options) -> BrowserContext:  # type: ignore[no-untyped-def]
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=server.base_url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context().new_page()


def _format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation.get('helpUrl', '')}")
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}: {node.get('failureSummary', '').strip()}".replace("\n", " "))
    return "\n".join(lines)


@pytest.fixture
def check_a11y(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """Run axe-core on the page as it is now and save a full-page screenshot.

    Fails the test on any violation of serious or critical impact. Screenshots are named
    ``<test name>--<number>-<step>.png``, numbered in the order the test took them.
    """
    axe = Axe()
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    steps = itertools.count(1)

    def check(page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{test_name}--{next(steps):02d}-{name}.png"), full_page=True)
        violations = axe.run(page).response["violations"]
        blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
        if blocking:
            pytest.fail(
                f"axe found {len(blocking)} serious/critical accessibility violation(s) on {name} "
                f"({page.url}):\n{_format_violations(blocking)}"
            )

    return check


@pytest.fixture
def visit(check_a11y: Callable[[Page, str], None]) -> Callable[..., None]:
    """Go to ``path`` (relative to the server), check the status and accessibility."""

    def go(page: Page, path: str, name: str, status: int = 200) -> None:
        response = page.goto(path)
        assert response is not None
        assert response.status == status, f"GET {path} answered {response.status}, expected {status}"
        check_a11y(page, name)

    return go


@pytest.fixture
def sign_in(visit: Callable[..., None], check_a11y: Callable[[Page, str], None]) -> Callable[..., None]:
    """Sign in through the form (checking the sign-in page) and land on the dashboard."""

    def do_sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
        visit(page, "/accounts/login/", "sign-in")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
        check_a11y(page, "dashboard")

    return do_sign_in


def invitation_link(server: Server, email: str, timeout: float = 5.0) -> str:
    """The sign-up link from the last invitation email to ``email`` in the server log."""
    deadline = time.monotonic() + timeout
    while True:
        # The console email backend prints each message: headers, a blank line, the body.
        messages = re.split(r"^-{70,}$", server.log(), flags=re.MULTILINE)
        for message in reversed(messages):
            if re.search(rf"^To: {re.escape(email)}$", message, flags=re.MULTILINE):
                match = re.search(r"https?://\S+(/join/[^/\s]+/)", message)
                if match:
                    return match.group(1)
        if time.monotonic() > deadline:
            pytest.fail(f"No invitation email to {email} in the server log:\n{server.log()[-4000:]}")
        time.sleep(0.1)


@pytest.fixture
def read_invitation_link(server: Server) -> Callable[[str], str]:
    return lambda email: invitation_link(server, email)
