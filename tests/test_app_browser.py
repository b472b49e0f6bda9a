"""``channel-sim app`` as a person uses it: the command serves, Debian's Chromium opens the page.

Steps two nights, checks the date and the map, and that the page asked no host but this
machine for anything; then the same for a replay of a run folder, with Back and the day
slider. Saves pictures of the pages in the tests' folders, and the README's
(``docs/images/app.png``, ``docs/images/app-replay.png``) when ``CHANNEL_SIM_PICTURES=docs/images``
is set, so that a test run leaves the tracked pictures as they were.
Skipped without the ``app`` extra, Playwright or Chromium.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from tests.conftest import ROOT, free_port

EXE = Path(sys.executable).parent / "channel-sim"
#: Where the README's picture is written when asked: ``CHANNEL_SIM_PICTURES=docs/images make test``.
PICTURES = os.environ.get("CHANNEL_SIM_PICTURES")


@contextlib.contextmanager
def serving(*args):
    """``channel-sim app ARGS --port P`` running; stopped (SIGINT, as Ctrl-C) afterwards."""
    port = free_port()
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
           # A front-end file missing from solara-assets would then fail here, not be fetched from a CDN.
           "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/npm/"}
    proc = subprocess.Popen([str(EXE), "app", *map(str, args), "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"channel-sim app exited {proc.returncode}: {proc.stderr.read()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("channel-sim app did not listen within 90 s")
        yield proc, f"http://127.0.0.1:{port}/"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def server():
    """``channel-sim app scenarios/baseline.yaml`` running."""
    with serving("scenarios/baseline.yaml") as served:
        yield served


def chromium():
    """Debian's Chromium through Playwright, or the test skipped."""
    pytest.importorskip("solara", reason="the app extra is not installed (pip install -e '.[app]')")
    pytest.importorskip("playwright.sync_api", reason="the test extra installs Playwright")
    from tests.browser import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs Debian's chromium when it can)")
    return CHROMIUM


def picture(page, folder: Path, name: str) -> None:
    """The whole page, tall enough for the map and the charts: in ``folder``, and in PICTURES when it is set."""
    page.set_viewport_size({"width": 1500, "height": 1900})
    page.wait_for_timeout(500)
    page.screenshot(path=str(folder / name))
    if PICTURES:
        Path(PICTURES).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(PICTURES) / name))


def asked_only_this_machine(requests: list[str]) -> None:
    """Every request the page made went to this machine (data: and blob: URLs ask no host)."""
    hosts = {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts


def drawn(png: bytes) -> None:
    """The picture is a map, drawn: sea, land and marks, not a blank image or an icon."""
    from io import BytesIO

    from matplotlib.image import imread

    pixels = imread(BytesIO(png), format="png")[..., :3]
    assert pixels.shape[0] > 600 and pixels.shape[1] > 900
    assert float(np.std(pixels)) > 0.1
    assert len(np.unique((pixels * 255).astype(int).reshape(-1, 3), axis=0)) > 30


def test_the_page_in_a_browser_steps_and_asks_no_other_host(server, tmp_path):
    CHROMIUM = chromium()
    from playwright.sync_api import sync_playwright

    proc, url = server
    requests, failed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(url)
            date = page.get_by_text(re.compile(r"^Date: "))
            date.wait_for(timeout=60_000)
            assert date.inner_text().startswith("Date: 2025-01-01 (before the first noon")
            for day in (1, 2):
                page.get_by_role("button", name="Step").click()
                page.get_by_text(re.compile(rf"^Date: 2025-01-0{day} \(day {day} of 365\)")).wait_for(
                    timeout=30_000)
            maps = page.locator("img")
            maps.nth(1).wait_for(timeout=30_000)
            page.wait_for_timeout(1500)  # the new images are in
            shot = maps.nth(0).screenshot()
            # For the README's picture, a busy summer night: 100 days a Step (Render Interval), then 93.
            interval = page.get_by_role("slider").nth(1)
            interval.focus()
            interval.press("End")
            page.get_by_role("button", name="Step").click()
            page.get_by_text(re.compile(r"^Date: 2025-04-12 \(day 102 of 365\)")).wait_for(timeout=60_000)
            interval.focus()
            interval.press("Home")
            for _ in range(46):
                interval.press("ArrowRight")
            page.wait_for_timeout(300)
            page.get_by_role("button", name="Step").click()
            page.get_by_text(re.compile(r"^Date: 2025-07-14 \(day 195 of 365\)")).wait_for(timeout=60_000)
            page.wait_for_timeout(2500)
            picture(page, tmp_path, "app.png")
        finally:
            browser.close()
    drawn(shot)
    asked_only_this_machine(requests)
    assert not [u for u in failed if "/_solara/cdn/" in u], failed
    assert proc.poll() is None  # still serving


def test_a_replay_in_a_browser_steps_back_and_forth(tmp_path):
    """``channel-sim app RUN_FOLDER``: Step twice, the date and the map follow; Back; the day slider; no other host."""
    CHROMIUM = chromium()
    from playwright.sync_api import sync_playwright

    run = subprocess.run([str(EXE), "run", "scenarios/baseline.yaml", "--seed", "2", "--days", "200", "--out",
                          str(tmp_path / "run"), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    requests = []
    with serving(tmp_path / "run") as (proc, url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            page.get_by_text(re.compile(r"^Date: 2025-01-01 \(day 1 of 200\)")).wait_for(timeout=60_000)
            maps = page.locator("img")
            maps.nth(0).wait_for(timeout=30_000)
            page.wait_for_function("() => [...document.images].length > 0 && "
                                   "[...document.images].every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
            page.wait_for_timeout(1500)  # as for the live page: the images are in and painted
            first = maps.nth(0).screenshot()
            for day in (2, 3):
                page.get_by_role("button", name="Step").click()
                page.get_by_text(re.compile(rf"^Date: 2025-01-0{day} \(day {day} of 200\)")).wait_for(timeout=30_000)
            page.get_by_role("button", name="Back").click()
            page.get_by_text(re.compile(r"^Date: 2025-01-02 \(day 2 of 200\)")).wait_for(timeout=30_000)
            slider = page.get_by_role("slider").first
            slider.focus()
            slider.press("End")
            page.get_by_text(re.compile(r"^Date: 2025-07-19 \(day 200 of 200\)")).wait_for(timeout=30_000)
            for _ in range(70):  # back to a busy spring night: day 130
                slider.press("ArrowLeft")
            page.get_by_text(re.compile(r"^Date: 2025-05-10 \(day 130 of 200\)")).wait_for(timeout=30_000)
            page.wait_for_timeout(2000)
            later = maps.nth(0).screenshot()
            picture(page, tmp_path, "app-replay.png")
        finally:
            browser.close()
    drawn(first)
    drawn(later)
    assert first != later
    asked_only_this_machine(requests)
