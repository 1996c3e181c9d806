"""The microphone overlay closes without recording anything (issue 29's defect 7): its close button, and
Escape, turn the microphone off and give the message box back. Chromium with a fake microphone."""

from __future__ import annotations

import os

import pytest
from test_browser import CHROMIUM, FLAGS, serve  # tests/ is on sys.path under pytest's default import mode

from llaqo.app.microphone import CLOSE_LABEL

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]
FAKE_MICROPHONE = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def test_the_microphone_overlay_closes_without_recording(tmp_path):
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(tmp_path)}
    with serve(env, tmp_path / "app.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS + FAKE_MICROPHONE)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url)
        microphone, overlay = page.locator("[data-testid=microphone-button]"), page.locator(".recording-overlay")
        for how in ("button", "Escape"):
            microphone.click(timeout=120_000)
            overlay.wait_for(state="visible", timeout=10_000)
            if how == "button":
                page.get_by_role("button", name=CLOSE_LABEL).click(timeout=10_000)
            else:
                page.keyboard.press("Escape")
            overlay.wait_for(state="detached", timeout=10_000)
            page.locator("textarea").first.fill("How was it?")  # the message box is back
        browser.close()
