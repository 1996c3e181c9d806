"""Evidence per pass of a practice session (issue 24, item 5): the marked score of any pass, clips that name their
pass, tempo and loudness plots that show the passes, the piano roll's stops, the pass-against-pass comparison's
dynamics, and the app's choice of the pass on the score (through the Coach protocol, with a fake coach)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile
from test_grounding import check_grounded  # tests/ is on sys.path under pytest's default import mode
from test_lite_passes import SR, bar_time, hears, piece, session, splice  # noqa: F401 (piece: a fixture)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from llaqo.app import ChatApp, Session  # noqa: E402
from llaqo.app.handlers import shown_bars  # noqa: E402
from llaqo.lite import synth  # noqa: E402
from llaqo.lite.analysis import analyze  # noqa: E402
from llaqo.lite.answers.answers import answer_sentences  # noqa: E402
from llaqo.lite.answers.grounding import Citer, Place  # noqa: E402
from llaqo.lite.answers.passages import cited  # noqa: E402
from llaqo.lite.answers.session import time_through  # noqa: E402
from llaqo.lite.coach import LitePayload, _engrave  # noqa: E402
from llaqo.lite.evidence import notation, plots  # noqa: E402
from llaqo.protocol import AudioFacts, Clip, Evidence  # noqa: E402

RESTART = [(1, 5.5), (4, 9)]  # stopped halfway through bar 5, went back to bar 4
PAUSE_S = 2.0


@pytest.fixture(scope="module")
def restart(piece):  # noqa: F811 (the fixture imported above)
    """The restart, with a wrong note in bar 6 of the second pass."""
    return session(piece, RESTART, [PAUSE_S], "evidence", wrong_in=(1, 6))[0]


def engraved_bars(pages: list[str]) -> set[int]:
    import re

    return {int(b) for page in pages for b in re.findall(r'data-llaqo-bar="(\d+)"', page)}


def test_the_marked_score_shows_any_pass_and_the_latest_by_default(restart, tmp_path):
    first, second = (notation.engrave(restart, pass_number=k) for k in (1, 2))
    assert engraved_bars(first.pages) == set(range(1, 6)) and engraved_bars(second.pages) == set(range(4, 9))
    assert (len(first.marked["wrong"]), len(second.marked["wrong"])) == (0, 1)
    with pytest.raises(ValueError, match="pass 3"):
        notation.engrave(restart, pass_number=3)
    pages, by_pass = _engrave(LitePayload(restart, restart.to_json(), score_path=tmp_path / "score.mid"))
    assert list(by_pass) == ["pass 1: bars 1–5", "pass 2: bars 4–8"]
    assert pages is by_pass["pass 2: bars 4–8"] and engraved_bars(pages) == set(range(4, 9))  # the latest
    assert engraved_bars(by_pass["pass 1: bars 1–5"]) == set(range(1, 6))


def test_a_single_run_has_no_pass_choice(piece, tmp_path):  # noqa: F811
    written, score_path, _ = piece
    whole = written[np.argsort(written[:, 0], kind="stable")]
    soundfile.write(tmp_path / "one.wav", synth.render(whole, SR), SR)
    a = analyze(tmp_path / "one.wav", score_path, transcriber=hears(whole))
    pages, by_pass = _engrave(LitePayload(a, a.to_json(), score_path=score_path))
    assert pages and by_pass == {}
    assert plots.pass_spans(a) == [] and plots.stops(a) == []


def test_clips_name_their_pass(restart):
    def bar(n: int, nth: int) -> list[Place]:
        return [Place(bars=(n, n), nth=nth)]

    second = restart.score.passes[1]
    bar5 = next(b for b in second.report.bars if b.bar == 5)
    (clip,) = cited(restart, bar(5, 2))
    assert clip.label == "bar 5, the second time" and clip.bars == (5, 5)
    assert (clip.start_s, clip.end_s) == pytest.approx((bar5.start_s, bar5.end_s))
    (first_time,) = cited(restart, bar(4, 1))
    assert first_time.end_s <= restart.score.passes[0].end_s + 0.1  # before the pause
    (again,) = cited(restart, bar(4, 2))
    assert again.start_s >= second.start_s - 0.1
    assert [p.label for p in cited(restart, bar(6, 2))] == ["bar 6"]  # played once: the bar itself


def test_a_sentence_that_names_the_second_time_carries_it():
    c = Citer(
        {
            "score": {"passes": [{"first_bar": 1, "last_bar": 5}, {"first_bar": 4, "last_bar": 8}]},
            "e": {"bar": 5, "pass": 2},
        }
    )
    text = f"bar {c.bar('e.bar')}{time_through(c, 'e')}"
    said = c.say(text)
    assert text == "bar 5, the second time" and said.places == (Place(bars=(5, 5), nth=2),)


def test_the_plots_show_the_passes_and_the_stop(restart):
    (first_start, first_end, first), (second_start, _, second) = plots.pass_spans(restart)
    assert (first, second) == ("pass 1: bars 1–5", "pass 2: bars 4–8")
    tempo = plots.tempo_figure(restart).axes[0]
    lines = {line.get_label(): line.get_xdata() for line in tempo.get_lines() if line.get_label().startswith("pass")}
    assert set(lines) == {first, second}
    # No tempo line is drawn across the pause: each pass's beats lie within that pass.
    assert max(lines[first]) <= first_end + 0.1 and min(lines[second]) >= second_start - 0.6
    loudness = plots.dynamics_figure(restart).axes[0]
    coloured = {line.get_label(): line for line in loudness.get_lines()}
    assert {first, second} <= set(coloured) and coloured[first].get_color() != coloured[second].get_color()
    assert plots.stops(restart) == [(pytest.approx(first_end), "stop in bar 5")]
    roll = plots.piano_roll_figure(restart).axes[0]
    assert "stop in bar 5" in " ".join(t.get_text() for t in roll.texts)
    assert any(line.get_label() == "stop" for line in roll.get_lines())


def test_without_a_score_the_tempo_line_breaks_at_the_stop(piece, tmp_path):  # noqa: F811
    written, _, _ = piece
    played, shifts = splice(written, RESTART, [PAUSE_S])
    soundfile.write(tmp_path / "noscore.wav", synth.render(played, SR), SR)
    a = analyze(tmp_path / "noscore.wav", transcriber=hears(played))
    (_, end, first), (start, _, second) = plots.pass_spans(a)
    lines = {line.get_label(): line.get_xdata() for line in plots.tempo_figure(a).axes[0].get_lines()}
    assert max(lines[first]) <= end and min(lines[second]) >= start


def test_the_second_time_compared_in_dynamics(piece):  # noqa: F811
    written, score_path, tmp = piece
    played, shifts = splice(written, [(1, 9), (3, 7)], [1.0])
    played[played[:, 0] >= shifts[1] + bar_time(3) - 0.1, 3] *= 0.5  # the drill, a good deal softer
    soundfile.write(tmp / "soft-drill.wav", synth.render(played, SR), SR)
    a = analyze(tmp / "soft-drill.wav", score_path, transcriber=hears(played))
    run, drill = a.to_json()["score"]["passes"]
    assert drill["level_db"] < run["level_db"] - 3 and run["range_db"] >= 0 and drill["bars"][0]["bar"] == 3
    said = " ".join(answer_sentences(a, "Was the second time better?"))
    assert "dB softer" in said and "its dynamics spanned" in said, said
    check_grounded(a, "Was the second time better?")


def test_the_dynamics_compare_only_the_bars_both_passes_played(piece):  # noqa: F811
    written, score_path, tmp = piece
    played, shifts = splice(written, [(1, 9), (3, 7)], [1.0])
    # The run-through is soft outside bars 3-6 and the drill plays bars 3-6 as loud as the run-through did: the
    # whole passes differ by several dB, the bars both played do not.
    run = played[:, 0] < shifts[1] + bar_time(3) - 0.1
    outside = run & ((played[:, 0] < bar_time(3) - 0.1) | (played[:, 0] >= bar_time(7) - 0.1))
    played[outside, 3] *= 0.3
    soundfile.write(tmp / "soft-outside.wav", synth.render(played, SR), SR)
    a = analyze(tmp / "soft-outside.wav", score_path, transcriber=hears(played))
    first, drill = a.to_json()["score"]["passes"]
    assert drill["level_db"] > first["level_db"] + 3  # the whole passes: the drill reads louder
    shared = drill["shared_bars"]
    assert (shared["first_bar"], shared["last_bar"]) == (3, 6) and first["shared_bars"] is None
    assert abs(shared["level_db"] - shared["repeated_level_db"]) < 1.0
    said = " ".join(answer_sentences(a, "Was the second time better?"))
    assert "in bars 3–6, which both played" in said and "at the same level" in said, said
    check_grounded(a, "Was the second time better?")


class PassesCoach:
    """A coach (the Coach protocol) whose evidence is a session of two passes through a score of 6 bars."""

    name = "Passes"
    about = "A fake coach with a practice session's evidence."
    max_duration_s = 600.0

    def prepare(self, audio_path, *, score_path=None, start_s=0.0) -> Clip:
        return Clip(key="session", facts=AudioFacts(Path(audio_path).name, 12.0, SR, 1, (0.0, 12.0)))

    def answer(self, clip, question, history=(), settings=None):
        yield "An answer."

    def evidence(self, clip: Clip) -> Evidence:
        bars = [[{"bar": b, "start_s": t + 1.0 * (b - first), "end_s": t + 1.0 * (b - first + 1)} for b in bs]
                for first, t, bs in ((1, 1.0, range(1, 5)), (3, 7.0, range(3, 7)))]  # fmt: skip
        measured = {"score": {"bars": bars[1], "passes": [{"bars": bars[0]}, {"bars": bars[1]}]}}
        by_pass = {"pass 1": ["<svg>1</svg>"], "pass 2": ["<svg>2</svg>"]}
        return Evidence(clip.facts, measured, {}, by_pass["pass 2"], by_pass)

    def passages(self, clip, answer):
        return []


def test_the_app_offers_the_passes_and_plays_a_bar_from_the_one_shown(tmp_path):
    audio = tmp_path / "session.wav"
    soundfile.write(audio, 0.1 * np.sin(np.arange(12 * SR) * 2 * np.pi * 440 / SR).astype(np.float32), SR)
    coach = PassesCoach()
    app, s = ChatApp(coach, coach), Session(folder=tmp_path / "session")
    s.folder.mkdir()
    app.load(s, audio, None, 0.0)
    choice = app.pass_choice(s)
    assert choice["visible"] and choice["choices"] == ["pass 1", "pass 2"] and choice["value"] == "pass 2"
    assert shown_bars(s.evidence, None) == ("pass 2", s.evidence.measurements["score"]["passes"][1]["bars"])
    player, _, _ = app.play_bar(s, None, SimpleNamespace(value=4))
    assert player.label == "Bar 4, pass 2 (0:08–0:09)"
    html, _ = app.show_pass(s, "pass 1")
    assert "<svg>1</svg>" in html and s.shown_pass == "pass 1" and app.pass_choice(s)["value"] == "pass 1"
    player, _, _ = app.play_bar(s, None, SimpleNamespace(value=4))
    assert player.label == "Bar 4, pass 1 (0:04–0:05)"
    assert not isinstance(app.play_bar(s, None, SimpleNamespace(value=6))[0], gr.Audio)  # pass 1 has no bar 6
    assert app.show_pass(s, "pass 7")[1] is s and s.shown_pass == "pass 1"  # an unknown pass changes nothing
    app.load(s, audio, None, 0.0)
    assert s.shown_pass is None, "a new take shows its latest pass"


def test_one_run_offers_no_choice(tmp_path):
    class OneRun(PassesCoach):
        def evidence(self, clip):
            return Evidence(clip.facts, {"score": {"bars": []}}, {}, ["<svg/>"])

    coach = OneRun()
    app, s = ChatApp(coach, coach), Session(folder=tmp_path)
    soundfile.write(tmp_path / "one.wav", np.zeros(SR, dtype=np.float32), SR)
    app.load(s, tmp_path / "one.wav", None, 0.0)
    assert app.pass_choice(s) == {"__type__": "update", "choices": [], "value": None, "visible": False}
    assert app.pass_choice(None)["visible"] is False
