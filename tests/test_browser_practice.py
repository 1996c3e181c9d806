"""The practice tools in a real browser (Debian's Chromium via Playwright, the Lite coach): compare a take with
a reference, follow progress in the history and delete it, and analyse a class of takes.

The recordings are synthesized with a known truth: the take plays bars 5-6 40% slower than the reference.
Set LLAQO_SCREENSHOTS=docs to refresh the README's screenshots (compare.png, history.png, classview.png).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile
from test_browser import CHROMIUM, FLAGS, REPO, serve

from llaqo.lite import synth
from llaqo.lite.hearing import transcribe

SR = transcribe.SAMPLE_RATE
SLOW_BARS = [(8.0, 12.0, 1.4)]  # at 120 BPM in 4/4, bars 5-6 span 8-12 s: the take plays them 40% longer
TRUE_SLOWEST = {5, 6}
JITTERS_MS = (40, 20, 5)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]


def warped(notes: np.ndarray, spans) -> np.ndarray:
    out = notes.copy()
    out[:, 0], out[:, 1] = synth.stretch_times(notes[:, 0], spans), synth.stretch_times(notes[:, 1], spans)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("practice")
    notes = synth.melody_notes(seed=1)
    out = {"reference": folder / "teacher.wav", "take": folder / "my-take.wav", "score": folder / "etude.mid"}
    soundfile.write(out["reference"], synth.render(notes, SR), SR)
    soundfile.write(out["take"], synth.render(warped(notes, SLOW_BARS), SR), SR)
    synth.write_score(notes, out["score"], bpm=120)
    for k, jitter in enumerate(JITTERS_MS):
        shifted = notes.copy()
        shifted[:, :2] += np.random.default_rng(k).normal(0, jitter / 1000, (len(notes), 1))
        out[f"week-{k}"] = folder / f"week-{k}.wav"
        soundfile.write(out[f"week-{k}"], synth.render(shifted, SR), SR)
    return out


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, files):
    """The app with its practice history in a fresh database holding two earlier takes (two and one weeks ago)."""
    db = tmp_path_factory.mktemp("history") / "history.sqlite3"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "LLAQO_HISTORY": str(db), "PYTHONPATH": str(REPO)}
    now = datetime.now(timezone.utc)
    for k in range(2):
        when = (now - timedelta(days=7 * (2 - k))).isoformat(timespec="seconds")
        save = ["history", "save", str(files[f"week-{k}"]), "--piece", "Etude", "--date", when]
        subprocess.run([sys.executable, "-m", "llaqo", *save], env=env, check=True, capture_output=True, timeout=300)
    log = tmp_path_factory.mktemp("app") / "app.log"
    with serve(env, log) as url:
        yield url


@pytest.fixture
def page(app_url):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        expect(page.get_by_text("Lite coach").first).to_be_visible(timeout=60_000)
        yield page
        browser.close()


def send(page, question: str, *paths: Path, expect_text: str) -> str:
    """Attach files (if any) to the chat, ask, and wait until the last answer holds expect_text -> its text."""
    from playwright.sync_api import expect

    if paths:
        page.locator("input[type=file]").first.set_input_files([str(p) for p in paths])
        expect(page.get_by_label("File thumbnail")).to_have_count(len(paths), timeout=30_000)
    box = page.locator("textarea").first
    # The answer is the next message saying expect_text: a note (saved to the history) may come before it, and
    # the clips of the passages it cites come after it.
    matching = page.locator("[data-testid=bot]").filter(has_text=expect_text)
    seen = matching.count()
    box.fill(question)
    box.press("Enter")
    expect(matching).to_have_count(seen + 1, timeout=180_000)
    time.sleep(1)  # let the last streamed sentence land
    return matching.nth(seen).inner_text()


SHOT_WIDTH = 900  # pixels: README screenshots are scaled down to this width to stay small


def shot(page, locator, name: str) -> None:
    folder = os.environ.get("LLAQO_SCREENSHOTS")
    if folder:
        from PIL import Image

        image = Image.open(io.BytesIO(locator.screenshot()))
        if image.width > SHOT_WIDTH:
            image = image.resize((SHOT_WIDTH, round(image.height * SHOT_WIDTH / image.width)), Image.LANCZOS)
        image.convert("P", palette=Image.ADAPTIVE, colors=128).save(Path(folder) / name, optimize=True)


def colour_share(png: bytes, hue: str) -> float:
    """Share of the image's pixels that are clearly blue ("blue": the take) or mid grey ("grey": the
    reference), with the tolerance that the plot's scaling and anti-aliasing need."""
    from PIL import Image

    r, g, b = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int).T
    if hue == "blue":
        return float(((b - r > 50) & (b - g > 20)).mean())
    return float(((np.ptp([r, g, b], axis=0) < 12) & (r > 100) & (r < 180)).mean())


def test_compare_with_reference_names_the_slowed_bars(page, files):
    from playwright.sync_api import expect

    send(page, "How steady was my tempo?", files["reference"], files["score"], expect_text="BPM")
    page.locator("#mark-reference").click()
    expect(page.get_by_text("Reference: teacher.wav")).to_be_visible(timeout=30_000)
    question = "Where was I slower than the reference?"
    answer = send(page, question, files["take"], files["score"], expect_text="Compared with the reference")
    slower = re.findall(r"slower than the reference in bars? (\d+)(?:-(\d+))?: (\d+) BPM against (\d+)", answer)
    assert slower, answer
    first, last = int(slower[0][0]), int(slower[0][1] or slower[0][0])
    assert TRUE_SLOWEST <= set(range(first, last + 1)) <= TRUE_SLOWEST | {4, 7}, answer

    plot = page.locator("#compare-plot img")
    expect(plot).to_be_visible(timeout=60_000)
    png = plot.screenshot()
    assert colour_share(png, "blue") > 0.002, "the take's curve (blue) is not drawn"
    assert colour_share(png, "grey") > 0.002, "the reference's curve (grey) is not drawn"
    shot(page, page.locator(".gradio-container .main").first, "compare.png")


def test_progress_from_history_then_delete(page, files):
    from playwright.sync_api import expect

    page.locator("#history-panel").get_by_text("Practice history").click()
    page.locator("#save-history input").check()
    answer = send(page, "How have I improved since last week?", files["week-2"], expect_text="improved from")
    found = re.search(r"Evenness \(timing spread\) improved from (\d+) to (\d+) ms RMS", answer)
    assert found and int(found[1]) > int(found[2]), answer
    expect(page.get_by_text("Saved to your practice history as take 3 of Etude")).to_be_visible()
    page.get_by_role("button", name="Show history").click()
    expect(page.locator("#history-table")).to_contain_text("week-2.wav", timeout=30_000)
    expect(page.locator("#trend-plot img")).to_be_visible(timeout=30_000)
    shot(page, page.locator("#history-panel"), "history.png")
    page.set_viewport_size({"width": 1366, "height": 768})  # a teacher's laptop: every column in sight
    page.wait_for_timeout(500)
    hidden = page.locator("#history-table").evaluate(
        """panel => [panel, ...panel.querySelectorAll("*")]
            .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== "visible")
            .length"""
    )
    assert hidden == 0, "the history table is cut off at 1366 px: part of it scrolls out of sight"
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Deleted 3 take(s) of Etude")).to_be_visible(timeout=30_000)


def test_class_view_table_and_open_a_row(page, files):
    from playwright.sync_api import expect

    page.locator("#class-panel").get_by_text("Class view").first.click()
    takes = [files["reference"], files["take"], files["week-0"]]
    page.locator("#class-files input[type=file]").set_input_files([str(p) for p in takes])
    page.locator("#class-score input[type=file]").set_input_files(str(files["score"]))
    page.get_by_role("button", name="Analyse the takes").click()
    table = page.locator("#class-table")
    for path in takes:
        expect(table).to_contain_text(path.name, timeout=180_000)
    expect(page.get_by_text("Class view CSV")).to_be_visible(timeout=30_000)
    shot(page, page.locator("#class-panel"), "classview.png")
    table.get_by_text("my-take.wav").click()
    expect(page.get_by_text("Opened my-take.wav from the class view")).to_be_visible(timeout=120_000)
