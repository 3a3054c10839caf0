"""End-to-end fixtures: the demo commune served by a real `xaso serve`, driven by Chromium.

Nothing here touches the in-process test world of tests/conftest.py: the server is a
subprocess with its own data directory and database (tests/processes.fresh_database_env).
"""

import contextlib
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests import processes
from tests.e2e.browsing import log_in, new_context
from tests.processes import XASO

CHROMIUM = "/usr/bin/chromium"
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
STARTUP_DEADLINE_SECONDS = 60

expect.set_options(timeout=10_000)


@dataclass
class DemoServer:
    """The demo commune served on `url`; `env` points the `xaso` command at its database."""

    url: str
    env: dict[str, str]
    log: Path

    def xaso(self, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
        """Run the `xaso` command against the server's database, as an operator would."""
        result = subprocess.run(
            [*XASO, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"xaso {' '.join(args)} failed:\n{result.stderr}"
        return result


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    with processes.fresh_database_env() as env:
        port = processes.free_port()
        server = DemoServer(
            f"http://127.0.0.1:{port}", env, Path(env["XASO_DATA_DIR"]) / "server.log"
        )
        server.xaso("demo", "--no-serve", timeout=300)
        with server.log.open("w") as log_file:
            process = subprocess.Popen(
                [*XASO, "serve", "--web-only", "--port", str(port)],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_healthy(server, process)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(server: DemoServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"xaso serve exited with {process.returncode}:\n{_tail(server)}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.HTTPError, OSError):
            pass
        time.sleep(0.1)  # polling a condition (the port opening), not waiting for work
    raise TimeoutError(f"/healthz not 200 within {STARTUP_DEADLINE_SECONDS} s:\n{_tail(server)}")


def _tail(server: DemoServer) -> str:
    return "\n".join(server.log.read_text(errors="replace").splitlines()[-40:])


# --- The browser -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(browser, demo_server) -> Iterator[Page]:
    """A fresh, anonymous page in its own browser context."""
    context = new_context(browser, demo_server.url)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def _signed_in_states() -> dict[str, dict]:
    """Each persona logs in through the form once; later pages reuse the session cookie.
    (Logging in again for every test would also run into the login rate limit.)"""
    return {}


@pytest.fixture
def page_as(browser, demo_server, _signed_in_states) -> Iterator:
    """page_as("lanhdao") -> a page in a new context (empty cache), logged in as that persona."""
    contexts = []

    def open_page(username: str) -> Page:
        if username not in _signed_in_states:
            with contextlib.closing(new_context(browser, demo_server.url)) as context:
                log_in(context.new_page(), username)
                _signed_in_states[username] = context.storage_state()
        context = new_context(browser, demo_server.url, _signed_in_states[username])
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
