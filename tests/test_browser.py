"""A real browser on the real app: Debian's Chromium, driven by Playwright, against LLaQo-chat.py on the
Lite coach. Upload a recording, ask, watch the answer stream and the evidence appear, ask a follow-up.

Set LLAQO_SCREENSHOT=docs/screenshot.png to refresh the README's screenshot.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from llaqo.examples import write_examples

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, str(REPO / "LLaQo-chat.py"), "--backend", "lite", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"LLaQo-chat.py exited:\n{log.read_text()}")
            time.sleep(1)
    else:
        server.kill()
        pytest.fail(f"LLaQo-chat.py did not start within 180 s:\n{log.read_text()}")
    yield url
    server.terminate()
    server.wait(timeout=30)


def bot_texts(page) -> list[str]:
    return [m.inner_text() for m in page.locator("[data-testid=bot]").all()]


def ask(page, question: str) -> None:
    box = page.locator("textarea").first
    box.fill(question)
    box.press("Enter")


def test_upload_ask_stream_evidence_follow_up(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    recording = write_examples(tmp_path / "examples")[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        expect(page.get_by_text("Lite coach").first).to_be_visible(timeout=60_000)

        # Record every state the answer passes through, to see it stream rather than appear at once.
        page.evaluate(
            """() => {
                window.__states = [];
                new MutationObserver(() => {
                    const bots = document.querySelectorAll('[data-testid=bot]');
                    if (bots.length) window.__states.push(bots[bots.length - 1].innerText.length);
                }).observe(document.body, {subtree: true, childList: true, characterData: true});
            }"""
        )
        page.locator("input[type=file]").first.set_input_files(str(recording))
        expect(page.get_by_label("File thumbnail")).to_be_visible(timeout=30_000)
        ask(page, "Is the performed tempo stable?")
        expect(page.locator("[data-testid=bot]").first).to_contain_text("BPM", timeout=120_000)
        first = bot_texts(page)[0]
        assert recording.name in first and "heard" in first
        states = page.evaluate("window.__states")
        assert len(set(s for s in states if s > 0)) >= 2, f"the answer did not stream: {states}"

        # The evidence: headline numbers, and the three plots drawn as images.
        expect(page.get_by_text("Notes detected:")).to_be_visible(timeout=30_000)
        for label in ("Tempo curve", "Loudness", "Piano roll (notes)"):
            plot = page.locator(".block", has=page.get_by_text(label, exact=True)).last
            expect(plot.locator("img")).to_be_visible(timeout=30_000)

        # A follow-up on the same recording, without uploading again.
        ask(page, "Is the pedal change clean?")
        expect(page.locator("[data-testid=bot]")).to_have_count(2, timeout=120_000)
        expect(page.locator("[data-testid=bot]").nth(1)).to_contain_text("pedal", timeout=60_000)
        assert recording.name in bot_texts(page)[1]

        shot = Path(os.environ.get("LLAQO_SCREENSHOT", tmp_path / "screenshot.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000
        browser.close()


def test_a_scoped_question_is_answered_for_its_bars(app_url, tmp_path):
    """Upload a recording with its score, ask about bars 2 to 3: the answer names them and their tempo."""
    from playwright.sync_api import expect, sync_playwright

    from llaqo.examples import RECORDINGS
    from llaqo.lite import synth

    recording = write_examples(tmp_path / "examples")[0]
    score = tmp_path / "steady_scale.mid"
    synth.write_score(RECORDINGS[recording.name](), score, bpm=96)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        expect(page.get_by_text("Lite coach").first).to_be_visible(timeout=60_000)
        page.locator("input[type=file]").first.set_input_files([str(recording), str(score)])
        expect(page.get_by_label("File thumbnail")).to_have_count(2, timeout=30_000)
        ask(page, "How was my tempo in bars 2 to 3?")
        answer = page.locator("[data-testid=bot]").first
        expect(answer).to_contain_text("bars 2-3", timeout=120_000)
        expect(answer).to_contain_text("BPM", timeout=60_000)
        text = answer.inner_text()
        assert "I judged bars 2-3" in text and "whole take" not in text
        browser.close()
