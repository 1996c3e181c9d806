"""Practice sessions against a score: stops, restarts and drilled passages are found as passes, each judged on
its own (llaqo.lite.alignment.passes, pass_report), on synthetic takes whose passes are known."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from test_grounding import check_grounded  # tests/ is on sys.path under pytest's default import mode

from llaqo.lite import synth
from llaqo.lite.alignment import align, passes, repeats
from llaqo.lite.alignment.score import load_score
from llaqo.lite.analysis import analyze
from llaqo.lite.answers.answers import answer_sentences

SR = 22050
BPM = 120.0
BAR_S = 2.0  # 4/4 at 120 BPM: bar k sounds from 2(k - 1) s (synth.melody_notes starts a beat in)


def bar_time(bar: float) -> float:
    return (bar - 1) * BAR_S


def splice(written: np.ndarray, spans: list[tuple[float, float]], pauses: list[float]) -> tuple[np.ndarray, list]:
    """Play bars [first, stop) of `written` one span after another, each after its pause (the first at its
    own time) -> ((N, 4) notes, each span's time shift). stop may fall inside a bar (3.5: halfway through bar 3)."""
    rows, shifts, clock = [], [], None
    for (first, stop), pause in zip(spans, [0.0, *pauses], strict=True):
        a, b = bar_time(first) - 0.01, bar_time(stop) - 0.01
        part = written[(written[:, 0] >= a) & (written[:, 0] < b)].copy()
        shift = 0.0 if clock is None else clock + pause - a
        part[:, 1] = np.minimum(part[:, 1], b)
        part[:, :2] += shift
        rows.append(part)
        shifts.append(shift)
        clock = b + shift
    return np.concatenate(rows), shifts


def hears(notes: np.ndarray):
    """A transcriber that hears exactly `notes` (the passes, not Transkun's hearing, are under test)."""
    from llaqo.lite.hearing.transcribe import Transcription

    notes = notes[np.argsort(notes[:, 0], kind="stable")]
    return lambda wave, progress=None: Transcription(notes, np.zeros((0, 2)), np.zeros((0, 2)))


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("piece")
    written = synth.melody_notes(seed=4, n_beats=31, bpm=BPM, start_s=0.5)  # 8 bars
    path = tmp / "score.mid"
    synth.write_score(written, path, BPM)
    return written, path, tmp


def session(piece, spans, pauses, name, wrong_in=None):
    written, score_path, tmp = piece
    played, shifts = splice(written, spans, pauses)
    if wrong_in is not None:  # a wrong note in one pass: its first melody note in that bar, a tone too high
        at = bar_time(wrong_in[1]) + shifts[wrong_in[0]]
        k = int(np.flatnonzero((played[:, 0] >= at - 0.01) & (played[:, 2] >= 60))[0])
        played[k, 2] += 2
    audio = tmp / f"{name}.wav"
    soundfile.write(audio, synth.render(played, SR), SR)
    return analyze(audio, score_path, transcriber=hears(played)), played


def bars_of(result: dict) -> list[tuple[int, int]]:
    return [(p["first_bar"], p["last_bar"]) for p in result["score"]["passes"]]


def test_a_single_run_is_one_pass_as_before(piece):
    written, score_path, tmp = piece
    notes = written[np.argsort(written[:, 0], kind="stable")]
    found = passes.find_passes(notes, load_score(score_path))
    assert len(found) == 1 and found[0].complete
    assert (found[0].first_bar, found[0].last_bar) == (1, 8)


def test_a_start_in_the_middle_is_aligned_to_the_bars_it_plays(tmp_path):
    """Bars 3-4 are written as bars 5-6 (a phrase stated twice) and the take starts at bar 5: aligned against the
    whole score, the take's opening can sit on bars 3-4 as well, and bars 5-6 are then reported missed (13-24 of
    them over seeds 0-3); the one pass found is aligned to bars 5-8 alone."""
    written = synth.melody_notes(seed=0, n_beats=31, bpm=BPM, start_s=0.5)
    at = written[:, 0] - 0.01
    phrase = written[(at >= bar_time(5)) & (at < bar_time(7))].copy()
    phrase[:, :2] -= bar_time(5) - bar_time(3)
    written = np.concatenate([written[(at < bar_time(3)) | (at >= bar_time(5))], phrase])
    written = written[np.argsort(written[:, 0], kind="stable")]
    synth.write_score(written, tmp_path / "twice.mid", BPM)
    played, _ = splice(written, [(5, 9)], [])
    (found,) = passes.find_passes(played[np.argsort(played[:, 0], kind="stable")], load_score(tmp_path / "twice.mid"))
    assert (found.first_bar, found.last_bar, found.complete) == (5, 8, False)
    assert (len(found.alignment.missed), len(found.alignment.extra), found.alignment.wrong) == (0, 0, [])


def test_a_restart_two_bars_back_is_two_passes_without_errors_or_ritardando(piece):
    a, played = session(piece, [(1, 5.5), (4, 9)], [2.0], "restart")
    result = a.to_json()
    assert bars_of(result) == [(1, 5), (4, 8)]
    first, second = result["score"]["passes"]
    assert second["start_s"] == pytest.approx(bar_time(5.5) + 2.0, abs=0.3)
    assert second["repeats_pass"] == 1 and not first["complete"]
    s = result["score"]
    assert (s["wrong"], s["missed"], s["extra"]) == ([], [], [])  # the unplayed half of bar 5 is not missed
    assert result["tempo"]["bpm"] == pytest.approx(BPM, rel=0.03)
    assert result["tempo"]["label"] != "ritardando"  # the pause is between the passes, not in the tempo
    said = " ".join(answer_sentences(a, ""))
    assert "stopped in bar 5 and went back to bar 4" in said
    assert "bar 4" in " ".join(answer_sentences(a, "Where did I stop?"))
    for question in ("", "Where did I stop?", "Was the second time better?"):
        check_grounded(a, question)


def test_a_restart_with_no_pause_is_found_by_the_music(piece):
    a, _ = session(piece, [(1, 5), (3, 9)], [0.0], "nopause")
    result = a.to_json()
    assert bars_of(result) == [(1, 4), (3, 8)]
    assert (result["score"]["missed"], result["score"]["extra"]) == ([], [])
    assert "you stopped in bar 4 and went back to bar 3" in " ".join(answer_sentences(a, ""))


def test_a_drilled_passage_after_a_run_through(piece):
    a, _ = session(piece, [(1, 9), (3, 7)], [1.0], "drill")
    result = a.to_json()
    assert bars_of(result) == [(1, 8), (3, 6)]
    assert result["score"]["passes"][1]["repeats_pass"] == 1
    assert (result["score"]["wrong"], result["score"]["missed"], result["score"]["extra"]) == ([], [], [])
    said = " ".join(answer_sentences(a, ""))
    assert "you played bars 3–6 again" in said
    second = " ".join(answer_sentences(a, "Was the second time better?"))
    assert "second pass (bars 3–6)" in second and "beat-to-beat variation" in second
    check_grounded(a, "Was the second time better?")


def test_two_restarts_and_a_wrong_note_in_one_pass_only(piece):
    spans = [(1, 3.5), (2, 6.25), (5, 9)]
    a, played = session(piece, spans, [0.8, 1.5], "two", wrong_in=(2, 6.25))
    result = a.to_json()
    assert bars_of(result) == [(1, 3), (2, 6), (5, 8)]
    wrong = result["score"]["wrong"]
    assert len(wrong) == 1 and wrong[0]["pass"] == 3 and wrong[0]["bar"] == 6
    assert [p["n_wrong"] for p in result["score"]["passes"]] == [0, 0, 1]
    assert (result["score"]["missed"], result["score"]["extra"]) == ([], [])
    said = " ".join(answer_sentences(a, ""))
    assert "stopped in bar 3 and went back to bar 2, then you stopped in bar 6 and went back to bar 5" in said
    assert "1 wrong and 0 missed notes against 0 and 0" in " ".join(answer_sentences(a, "was the last try better?"))
    check_grounded(a, "")
    notes_said = " ".join(answer_sentences(a, "Did I play any wrong notes?"))
    assert "bar 6, the second time" in notes_said
    check_grounded(a, "Did I play any wrong notes?")


def test_the_practice_plan_starts_where_the_player_stopped(piece):
    a, _ = session(piece, [(1, 5.5), (4, 9)], [1.0], "plan")
    plan = " ".join(answer_sentences(a, "How should I practise this?"))
    assert "You stopped in bar 5: practise from the bar before" in plan
    check_grounded(a, "How should I practise this?")


def test_without_a_score_a_restart_after_a_stop_repeats_the_earlier_span(piece):
    written, _, tmp = piece
    played, shifts = splice(written, [(1, 5.5), (4, 9)], [2.0])
    audio = tmp / "noscore.wav"
    soundfile.write(audio, synth.render(played, SR), SR)
    result = analyze(audio, transcriber=hears(played)).to_json()
    first, second = result["passes"]
    assert first["repeats_s"] is None
    assert second["start_s"] == pytest.approx(bar_time(4) + shifts[1], abs=0.05)
    assert second["repeats_s"][0] == pytest.approx(bar_time(4), abs=0.3)  # bar 4, the first time
    assert second["repeats_s"][1] == pytest.approx(bar_time(5.5), abs=0.3)  # ... to the stop


def test_without_a_score_new_music_after_a_stop_repeats_nothing(piece):
    written, _, tmp = piece
    played, _ = splice(written, [(1, 4), (5, 9)], [2.0])  # a stop, then on to bars not played before
    audio = tmp / "noscore-on.wav"
    soundfile.write(audio, synth.render(played, SR), SR)
    result = analyze(audio, transcriber=hears(played)).to_json()
    assert [p["repeats_s"] for p in result["passes"]] == [None, None]
    whole = written[np.argsort(written[:, 0], kind="stable")]
    soundfile.write(tmp / "noscore-clean.wav", synth.render(whole, SR), SR)
    clean = analyze(tmp / "noscore-clean.wav", transcriber=hears(whole)).to_json()
    assert [p["repeats_s"] for p in clean["passes"]] == [None]


def test_without_a_score_a_restart_with_no_pause_is_found_but_a_repeat_in_time_is_music(piece):
    written, _, tmp = piece
    # Went back from halfway through bar 5 with no stop: a hitch of 0.3 s, far shorter than a stop (repeats.STOP_S).
    played, shifts = splice(written, [(1, 5.5), (4, 9)], [0.3])
    soundfile.write(tmp / "noscore-nopause.wav", synth.render(played, SR), SR)
    first, second = analyze(tmp / "noscore-nopause.wav", transcriber=hears(played)).to_json()["passes"]
    assert first["repeats_s"] is None
    assert second["start_s"] == pytest.approx(bar_time(4) + shifts[1], abs=0.6)
    assert second["repeats_s"][0] == pytest.approx(bar_time(4), abs=0.6)
    assert second["repeats_s"][1] == pytest.approx(bar_time(5.5), abs=0.6)
    # Bars 3-4 twice, in time (as a written repeat would be): one pass, no restart invented.
    played, _ = splice(written, [(1, 5), (3, 9)], [0.0])
    soundfile.write(tmp / "noscore-intime.wav", synth.render(played, SR), SR)
    result = analyze(tmp / "noscore-intime.wav", transcriber=hears(played)).to_json()
    assert [p["repeats_s"] for p in result["passes"]] == [None]


def test_without_a_score_a_stop_with_the_pedal_held_is_found_but_a_fermata_is_not(piece):
    written, _, tmp = piece
    played, shifts = splice(written, [(1, 9), (3, 7)], [2.0])  # a run-through, then bars 3-6 again
    before = played[:, 0] < shifts[1] + bar_time(3) - 0.1
    played[before, 1] = np.maximum(played[before, 1], played[before, 1].max() + 2.0)  # ringing through the pause
    soundfile.write(tmp / "noscore-held.wav", synth.render(played, SR), SR)
    found = analyze(tmp / "noscore-held.wav", transcriber=hears(played)).to_json()["passes"]
    assert [p["repeats_s"] is not None for p in found] == [False, True]
    assert found[1]["start_s"] == pytest.approx(bar_time(3) + shifts[1], abs=0.3)
    # The same wait for the next note, held, then new music (a fermata): one pass.
    fermata = written[np.argsort(written[:, 0], kind="stable")].copy()
    later = fermata[:, 0] >= bar_time(5) - 0.01
    fermata[later, :2] += 2.5
    fermata[~later, 1] = np.maximum(fermata[~later, 1], bar_time(5) + 2.4)
    soundfile.write(tmp / "noscore-fermata.wav", synth.render(fermata, SR), SR)
    assert len(analyze(tmp / "noscore-fermata.wav", transcriber=hears(fermata)).to_json()["passes"]) == 1


def test_without_a_score_a_restart_after_a_short_pause_needs_less_exact_notes(piece):
    """A hitch of 0.6 s (no stop) and bars 4-5 played again, a sixth of the notes heard an octave off (a hall's
    echo): too inexact for a restart in time (repeats.TANDEM_COST), enough after a pause longer than every step of
    the music replayed (repeats.PAUSED_COST)."""
    written, _, _ = piece
    played, shifts = splice(written, [(1, 5.5), (4, 9)], [0.6])
    second = np.flatnonzero(played[:, 0] >= shifts[1] + bar_time(4) - 0.1)
    played[second[::6], 2] += 12
    first, again = repeats.heard_passes(played[np.argsort(played[:, 0], kind="stable")])
    assert first.repeats_s is None and again.start_s == pytest.approx(bar_time(4) + shifts[1], abs=0.1)
    assert again.repeats_s == pytest.approx((bar_time(4), bar_time(5.5)), abs=0.1)


def test_without_a_score_a_drill_after_a_ringing_one_second_stop_is_found(piece):
    """A run-through whose last notes ring through a pause of 1 s, then bars 3-6 again: no silence, but no new
    note for a second and four intervals, and what follows repeats earlier playing."""
    written, _, _ = piece
    played, shifts = splice(written, [(1, 9), (3, 7)], [1.0])
    before = played[:, 0] < shifts[1] + bar_time(3) - 0.1
    played[before, 1] = np.maximum(played[before, 1], played[before, 1].max() + 1.0)
    run, drill = repeats.heard_passes(played[np.argsort(played[:, 0], kind="stable")])
    assert run.repeats_s is None and drill.start_s == pytest.approx(bar_time(3) + shifts[1], abs=0.1)
    assert drill.repeats_s[0] == pytest.approx(bar_time(3), abs=0.3)


def test_a_long_step_inside_a_restart_is_not_another_restart():
    """Music of 30 onset groups whose groups 20-23 repeat 10-13, with a written long step into group 14; the
    player went back from group 20 to group 10 with a hitch. Further into the replay, the same lag repeats again
    (groups 14-23 against 24-33) and the written long step is a seam: that is the same restart going on."""
    pitches = np.r_[np.arange(40, 60), np.arange(50, 54), np.arange(70, 76)]  # groups 20-23 = 10-13
    step = np.full(30, 0.25)
    step[14] = 0.5  # the step into group 14
    played = np.r_[np.arange(20), np.arange(10, 30)]  # the music's groups as played
    steps = np.r_[step[1:20], 0.8, step[11:30]]  # the hitch into the replay
    start = np.r_[0.0, np.cumsum(steps)]
    features = align.group_features(np.arange(len(played)), pitches[played])
    assert repeats.restarts(features, start, 0, len(played)) == [(20, 10)]


def test_without_a_score_a_silence_in_slow_music_then_a_drill_is_a_stop(piece):
    """The piece at a third of its speed (onsets 0.75 s apart), stopped halfway through bar 8, then 1.65 s of silence
    and bars 3-6 again, further back than a restart without a pause reaches: a silence shorter than four intervals
    (repeats.STOP_IOIS) but over two (SILENT_IOIS), a stop since what follows repeats earlier playing."""
    written, _, _ = piece
    played, shifts = splice(written, [(1, 8.5), (3, 7)], [0.55])
    played[:, :2] *= 3
    run, drill = repeats.heard_passes(played[np.argsort(played[:, 0], kind="stable")])
    assert run.repeats_s is None and drill.start_s == pytest.approx(3 * (bar_time(3) + shifts[1]), abs=0.1)
    assert drill.repeats_s[0] == pytest.approx(3 * bar_time(3), abs=0.3)


def test_without_a_score_a_restart_fewer_groups_back_than_the_opening_repeats(piece):
    """A stop a few notes into bar 4 and a restart from the middle of bar 3: the seven onset groups replayed are fewer
    than the opening looked for in the earlier playing (repeats.OPENING_GROUPS), which goes on into music not
    played before; those groups replay the ones just before the stop."""
    written, _, _ = piece
    played, shifts = splice(written, [(1, 4.375), (3.5, 9)], [1.2])
    first, again = repeats.heard_passes(played[np.argsort(played[:, 0], kind="stable")])
    assert first.repeats_s is None and again.start_s == pytest.approx(bar_time(3.5) + shifts[1], abs=0.1)
    assert again.repeats_s == pytest.approx((bar_time(3.5), bar_time(4.375)), abs=0.1)
