"""A real browser on the real app: Debian's Chromium, driven by Playwright, against LLaQo-chat.py on the
Lite coach. Upload a recording, ask, watch the answer stream and the evidence appear, ask a follow-up.

Set LLAQO_SCREENSHOT=docs/screenshot.png (and LLAQO_EVIDENCE_SCREENSHOT=docs/evidence.png) to refresh the
README's screenshots.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llaqo.examples import write_examples
from llaqo.synthetic import synth_piano

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


@contextlib.contextmanager
def serve(env: dict, log: Path) -> Iterator[str]:
    """`LLaQo-chat.py --backend lite` on a free port with env, its output in log -> its URL, once it answers;
    stopped on exit."""
    port = free_port()
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
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass
class Server:
    url: str
    tmp: Path
    """The server's temporary folder: its session folders and Gradio's cache."""
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("app") / "app.log"
    tmp = tmp_path_factory.mktemp("server-tmp")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(tmp)}
    with serve(env, log) as url:
        yield Server(url, tmp, log)


@pytest.fixture(scope="module")
def app_url(server):
    return server.url


def bot_texts(page) -> list[str]:
    return [m.inner_text() for m in page.locator("[data-testid=bot]").all()]


def answer_after(page, before: int) -> str:
    """Wait for an answer after the chat's first `before` bot messages (its text and its clips are messages of their
    own) and for the chat to stop changing (unchanged for a second) -> the answer's messages' text."""
    from playwright.sync_api import expect

    expect(page.locator("[data-testid=bot]")).not_to_have_count(before, timeout=120_000)
    text = None
    for _ in range(120):
        page.wait_for_timeout(1000)
        now = "\n".join(bot_texts(page)[before:])
        if now == text:
            return now
        text = now
    pytest.fail(f"the answer still streaming after 120 s: {text!r}")


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


def test_wrong_notes_are_heard_and_seen(app_url, tmp_path):
    """A take of a MusicXML score with two wrong notes and a missed one: the answer comes with a clip per cited
    bar (as long as the bar at the written tempo plus the context), the engraved score marks the wrong notes
    by class and colour, a click on a bar plays it, and the export holds the clips and the score."""
    import numpy as np
    import soundfile
    from playwright.sync_api import expect, sync_playwright

    from llaqo.lite import synth
    from llaqo.lite.evidence import clips, notation

    bpm, bar_s = 100.0, 4 * 60 / 100.0
    written = synth.scale_notes(bpm, n=16, start_s=0.6, legato=1.0)
    synth.write_musicxml(written[:, 2].astype(int).tolist(), tmp_path / "score.musicxml", bpm)
    played = synth.scale_notes(bpm, n=16, start_s=0.6)
    played[5, 2] += 1  # bar 2: Bb3 for A3
    played[10, 2] -= 1  # bar 3: E4 for F4
    played = np.delete(played, 13, axis=0)  # bar 4: B4 missed
    soundfile.write(tmp_path / "take.wav", synth.render(played, 22050), 22050)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        clip_urls = []
        page.on("response", lambda r: clip_urls.append(r.url) if "take-bar-" in r.url and r.ok else None)
        page.goto(app_url)
        expect(page.get_by_text("Lite coach").first).to_be_visible(timeout=60_000)
        page.locator("input[type=file]").first.set_input_files(
            [str(tmp_path / "take.wav"), str(tmp_path / "score.musicxml")]
        )
        expect(page.get_by_label("File thumbnail")).to_have_count(2, timeout=30_000)
        ask(page, "Did I play any wrong notes?")
        expect(page.locator("[data-testid=bot]").first).to_contain_text("where A3 is written", timeout=120_000)

        # One clip per cited bar, each bar 2.4 s at 100 BPM plus the context either side (within the take).
        players = page.locator("[data-testid^='waveform-Listen: bar']")
        expect(players).to_have_count(3, timeout=30_000)
        labels = [players.nth(i).get_attribute("aria-label") for i in range(3)]
        assert labels == ["Listen: bar 2", "Listen: bar 3", "Listen: bar 4"]
        page.wait_for_timeout(2000)  # the players fetch their audio
        urls = sorted(set(clip_urls), key=lambda url: url.rsplit("/", 1)[-1])
        assert len(urls) == 3, urls
        take_s = soundfile.info(tmp_path / "take.wav").duration
        for bar, url in zip((2, 3, 4), urls, strict=True):
            assert f"take-bar-{bar}-" in url
            start, end = 0.6 + (bar - 1) * bar_s, 0.6 + bar * bar_s  # bar 1 starts with the first note
            (tmp_path / "clip.wav").write_bytes(page.request.get(url).body())
            expected = min(end + clips.CONTEXT_S, take_s) - (start - clips.CONTEXT_S)  # the take ends in bar 4
            assert soundfile.info(tmp_path / "clip.wav").duration == pytest.approx(expected, abs=0.06)

        # The engraved score: the two wrong notes marked by class and colour, with the played pitches above.
        wrong = page.locator(".llaqo-score g.llaqo-wrong")
        expect(wrong).to_have_count(2, timeout=30_000)
        assert {wrong.nth(i).get_attribute("fill") for i in range(2)} == {notation.COLOURS["wrong"]}
        assert page.locator(".llaqo-score text.llaqo-played").all_text_contents() == ["Bb3", "E4"]
        expect(page.locator(".llaqo-score g.llaqo-missed")).to_have_count(1)

        # A click on bar 3 plays bar 3 in the evidence panel and offers the question about it, answered for bar 3.
        page.locator(".llaqo-score [data-llaqo-bar='3']").first.click()
        expect(page.get_by_text("Bar 3 (0:05", exact=False)).to_be_visible(timeout=30_000)
        box = page.locator("textarea").first
        expect(box).to_have_value("How was bar 3?", timeout=30_000)
        before = page.locator("[data-testid=bot]").count()
        box.press("Enter")
        # The first answer names bar 3 too: wait for the second one, whole, before the export reads the session.
        assert "bar 3" in answer_after(page, before)

        shot = os.environ.get("LLAQO_EVIDENCE_SCREENSHOT")  # docs/evidence.png: the answer, its clips, the score
        if shot:
            page.screenshot(path=shot, clip={"x": 80, "y": 100, "width": 1240, "height": 560})

        # The export: the report, the three clips and the marked score.
        page.get_by_role("button", name="Export report").click()
        files = page.locator(".file-preview")
        expect(files).to_contain_text("take-score-1", timeout=30_000)
        listed = files.inner_text()
        assert listed.count("take-bar-") == 3 and listed.count(".wav") == 3
        links = page.evaluate("() => Array.from(document.querySelectorAll('.file-preview a')).map(a => a.href)")
        [markdown] = [link for link in links if link.endswith("llaqo-session.md")]
        text = page.request.get(markdown).text()
        # bars 2, 3 and 4 cited by the first answer, bar 3 by the answer about it (its clip file is the same)
        assert "data:image/svg+xml;base64," in text and text.count("Listen to bar") == 4
        browser.close()


def copies(folder: Path, data: bytes) -> list[Path]:
    """Files under folder holding exactly these bytes. The server deletes a session's folder while this looks
    (that is what the test waits for): os.walk skips a folder gone mid-walk, and a file gone is no copy."""
    found = []
    for parent, _, names in os.walk(folder):
        for name in names:
            path = Path(parent) / name
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_size == len(data) and path.read_bytes() == data:
                    found.append(path)
    return found


def test_closing_the_page_deletes_the_recording_and_nothing_is_logged(server, tmp_path):
    """The privacy promise: the session's folder is gone within seconds of closing the page, no copy of the
    recording stays on the server, and neither its name nor its content reaches the log."""
    from playwright.sync_api import expect, sync_playwright

    # Its name holds no digits: the server's random port (45309 in a CI run here) is in the log.
    recording = synth_piano(tmp_path / "private-take-kestrel.wav", seconds=8.0, seed=5309)
    data = recording.read_bytes()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page()
        page.goto(server.url)
        expect(page.get_by_text("deleted from the server as soon as you close it")).to_be_visible(timeout=60_000)
        page.locator("input[type=file]").first.set_input_files(str(recording))
        expect(page.get_by_label("File thumbnail")).to_be_visible(timeout=30_000)
        ask(page, "How was the tempo?")
        expect(page.locator("[data-testid=bot]").first).to_contain_text("BPM", timeout=120_000)
        kept = copies(server.tmp, data)
        assert [p.name for p in kept] == [recording.name] and "llaqo-session-" in str(kept[0]), kept
        page.close()
        closed = time.time()
        while time.time() < closed + 20 and copies(server.tmp, data):
            time.sleep(0.5)
        logging.getLogger(__name__).info("recording deleted %.1f s after the page closed", time.time() - closed)
        browser.close()
    remaining = copies(server.tmp, data)
    assert not remaining, f"still on the server 20 s after the page closed: {remaining}"
    assert not any(p.name.startswith("private-take") for p in server.tmp.rglob("*"))
    log = server.log.read_text()
    assert "private-take" not in log and "kestrel" not in log


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


def test_stop_during_the_analysis_then_send_again_answers(server, tmp_path):
    """Stop while a recording is analysed, then send the message again: the answer comes (no error, no stale
    upload), and the stopped analysis left no session folder behind once the page is closed."""
    from playwright.sync_api import expect, sync_playwright

    recording = synth_piano(tmp_path / "long-take.wav", seconds=90.0, seed=3)  # long enough to be stopped
    before = set(server.tmp.glob("llaqo-session-*"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(server.url)
        expect(page.get_by_text("Lite coach").first).to_be_visible(timeout=60_000)
        for name in ("Stop", "Regenerate", "Clear", "Export report"):  # above the fold at 1366x768
            box = page.get_by_role("button", name=name, exact=True).last.bounding_box()  # the chat has a Clear icon too
            assert box is not None and box["y"] + box["height"] <= 768, f"{name} is below the fold: {box}"
        page.locator("input[type=file]").first.set_input_files(str(recording))
        expect(page.get_by_label("File thumbnail")).to_be_visible(timeout=30_000)
        ask(page, "How steady was my tempo?")
        analysing = page.locator("[data-testid=bot]").get_by_text("Analysing the recording")
        expect(analysing).to_be_visible(timeout=30_000)
        assert page.locator(".progress-level-inner").count() <= 1, "the progress is drawn on the chat alone"
        working = page.locator("[data-testid=status-tracker]:not(.hide)")  # the chat's shimmer while it works
        expect(working).to_have_count(1)
        page.get_by_role("button", name="Stop").click()
        # Stopped, as a user sees: the chat no longer shimmers, and shows no "Error" (Gradio's own cancel left it
        # so, about one Stop in four under load: Sessions.until_stopped). Only then has the answer ended (at its
        # next update on the server); until then the page drops a new submission of the same message, as it drops
        # a second Enter while an answer is under way.
        expect(working).to_have_count(0, timeout=30_000)
        expect(page.locator(".progress-level-inner")).to_have_count(0)
        expect(analysing).to_be_visible()  # where it was
        box = page.locator("textarea").first
        expect(box).to_have_value("How steady was my tempo?")  # the stopped message is still there to send
        expect(page.get_by_label("File thumbnail")).to_be_visible()
        box.press("Enter")
        expect(page.locator("[data-testid=bot]").last).to_contain_text("BPM", timeout=300_000)  # 90 s of audio
        assert not any("Error" in t or "Problem" in t for t in bot_texts(page))
        expect(page.get_by_text("Error", exact=True)).to_have_count(0)
        browser.close()
    deadline = time.time() + 30
    while set(server.tmp.glob("llaqo-session-*")) - before and time.time() < deadline:
        time.sleep(0.5)
    assert not set(server.tmp.glob("llaqo-session-*")) - before, "a session folder outlived its closed page"
