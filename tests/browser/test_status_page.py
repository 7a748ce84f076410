"""The status page in a real browser: headless Chromium (Debian's `chromium`; `make test` installs it
where it can) loads /api/status from `sentry-ado serve --sandbox --demo`, after the demo's story,
and what a person sees is checked; screenshots are kept as test artifacts (TEST_ARTIFACTS, default
test-artifacts/)."""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or ROOT / "test-artifacts")
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")


def browser() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip("Chromium is not installed and could not be: `apt-get install chromium` (Debian), "
                    "which `make test` does when run as root")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def status_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--sandbox", "--demo", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=240)
            except queue.Empty:
                pytest.fail("serve --sandbox --demo printed no status URL in 240 s:\n" + "".join(seen[-40:]))
            seen.append(line)
            if line.startswith("status:"):
                break
        assert any("demo: every step happened" in s for s in seen), "".join(seen[-40:])
        yield line.split()[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [browser(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


class Text(HTMLParser):
    """The text a person reads (no style or title element), one string."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in ("style", "title", "head")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "title", "head")

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def test_a_person_sees_the_story_on_the_status_page(status_url: str, tmp_path: Path) -> None:
    shown = chromium(tmp_path, "--dump-dom", status_url)
    assert shown.returncode == 0, shown.stderr[-2000:]
    dom = shown.stdout
    reader = Text()
    reader.feed(dom)
    text = " ".join(reader.parts)
    assert "sentry-ado status healthy" in text  # the expired PAT's failure was replayed: nothing waits
    # BACKEND-1 (the alert's), FRONTEND-1 (the issue page's Create form) and FRONTEND-2 (the next release)
    assert re.search(r"Links by state links 3 linked 3", text), text[:600]
    assert "Last reconcile runs" in text and text.count("finished") >= 3  # two in the story, one by the timer
    assert "Latest sync failures (1 in the last 7 days)" in text  # but it is on record, with its reason
    assert "issue.assigned for Sentry issue BACKEND-1" in text and "401" in text
    assert re.search(r"sentry-events 0 0", text)  # replayed: nothing waits, nothing in poison
    assert "healthy" in text and "workitem.updated" in text  # the hook subscriptions
    assert "Shop" in text and "SENTRY_TOKEN set" in text and "sandbox-ado-pat" not in dom
    assert dom.count('class="bar repaired"') == 7 and dom.count('class="bar failures"') == 7
    today_failures = re.findall(r'class="bar failures"[^>]*height="([\d.]+)"', dom)[-1]
    assert float(today_failures) > 0  # today's failure is drawn


@pytest.mark.parametrize(("name", "size"), [("status-page-phone", (412, 2400)), ("status-page", (1000, 1500))])
def test_the_page_renders_on_a_phone_and_a_desktop(status_url: str, tmp_path: Path, name: str,
                                                   size: tuple[int, int]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    done = chromium(tmp_path, f"--window-size={size[0]},{size[1]}", f"--screenshot={shot}", status_url)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == size
    assert len(png) > 20_000  # a page with text and a chart, not a blank one
