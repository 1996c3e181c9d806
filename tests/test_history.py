"""The practice history: saved takes answer "How have I improved?", the piece is recognised by its sound,
the history exports and deletes from the CLI, and concurrent writers (threads and processes) lose nothing."""

from __future__ import annotations

import json
import multiprocessing
import re
import threading
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import soundfile
from history_writer import SAVES, headline, random_print, write_many

from llaqo import cli
from llaqo.lite import synth
from llaqo.lite.coach import LiteCoach
from llaqo.lite.hearing import transcribe
from llaqo.lite.practice import history, progress
from llaqo.lite.practice.history import History, UnsurePiece

SR = transcribe.SAMPLE_RATE
JITTERS_MS = (40, 20, 5)  # three takes, each more even than the last
NOW = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
WRITERS = 4


def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "history.sqlite3")
    History(path)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=write_many, args=(path, w)) for w in range(WRITERS)]
    threads = [threading.Thread(target=write_many, args=(path, WRITERS + w)) for w in range(WRITERS)]
    for worker in processes + threads:
        worker.start()
    for worker in processes + threads:
        worker.join(timeout=120)
    assert all(p.exitcode == 0 for p in processes)
    store = History(path)
    assert [(p.name, p.n_takes) for p in store.pieces()] == [("Etude", 2 * WRITERS * SAVES)]


def test_an_unsure_match_asks_for_the_piece(tmp_path, monkeypatch):
    store = History(tmp_path / "h.sqlite3")
    store.save(headline(0), "a", random_print(0))
    monkeypatch.setattr(history, "SAME_PIECE_COST", 0.0)  # nothing is surely the same piece ...
    monkeypatch.setattr(history, "OTHER_PIECE_COST", 2.0)  # ... nor surely another
    with pytest.raises(UnsurePiece, match="take-0.wav"):
        store.save(headline(1), "b", random_print(1))
    store.save(headline(1), "b", random_print(1), piece_name="take-0.wav")
    assert [p.n_takes for p in store.pieces()] == [2]


@pytest.mark.slow
def test_three_improving_takes_report_the_trend_and_can_be_deleted(tmp_path, capsys):
    db = tmp_path / "history.sqlite3"
    store = History(db)
    notes = synth.melody_notes(seed=3)
    coach = LiteCoach(warm_up=False)
    for k, jitter in enumerate(JITTERS_MS):
        shifted = notes.copy()
        shifted[:, :2] += np.random.default_rng(k).normal(0, jitter / 1000, (len(notes), 1))
        path = tmp_path / f"take-{k}.wav"
        soundfile.write(path, synth.render(shifted, SR), SR)
        clip = coach.prepare(path)
        when = NOW - timedelta(days=7 * (len(JITTERS_MS) - 1 - k))
        progress.save_take(store, clip.payload.analysis, path, recorded_at=when)
    # Recognised as one piece by its sound; another tune is another piece.
    other = tmp_path / "other.wav"
    soundfile.write(other, synth.render(synth.melody_notes(seed=4), SR), SR)
    progress.save_take(store, coach.prepare(other).payload.analysis, other)
    pieces = {p.name: p.n_takes for p in store.pieces()}
    assert pieces == {"take-0.wav": 3, "other.wav": 1}

    takes = store.takes("take-0.wav")
    evenness = [t.headline.evenness_ms for t in takes]
    assert evenness[0] > evenness[1] > evenness[2], evenness  # the measurement sees the takes improve
    text = "".join(coach.answer(clip, "How have I improved since last week?", takes=takes))
    found = re.search(r"Evenness \(timing spread\) improved from (\d+) to (\d+) ms RMS", text)
    assert found, text
    assert (int(found[1]), int(found[2])) == (round(evenness[1]), round(evenness[2])), text  # a week back
    whole = "".join(coach.answer(clip, "How has my playing improved?", takes=takes))
    assert f"({' → '.join(str(round(e)) for e in evenness)})" in whole, whole
    assert progress.trend_figure(takes).axes

    assert cli.main(["history", "--db", str(db), "export", "--format", "json", "--piece", "take-0.wav"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [round(row["evenness_ms"], 3) for row in exported] == [round(e, 3) for e in evenness]
    assert "audio" not in exported[0] and len(exported[0]["content_hash"]) == 64
    assert cli.main(["history", "--db", str(db), "delete", "--all"]) == 0
    assert History(db).takes() == [] and History(db).pieces() == []


def test_a_piece_is_named_by_its_scores_title_and_one_take_draws_a_week(tmp_path):
    """Saved with a MusicXML score that has a title, the piece takes the title (not the file's name "score"); the
    trend of a single take spans days around it, not years."""
    import partitura

    from llaqo.lite import analysis
    from llaqo.lite.alignment import score

    notes = synth.scale_notes(bpm=100, n=8)
    synth.write_score(notes, tmp_path / "score.mid", 100)
    partitura.save_musicxml(partitura.load_score(str(tmp_path / "score.mid")).parts[0], str(tmp_path / "plain.xml"))
    titled = re.sub(
        r"(<score-partwise[^>]*>)",
        r"\1<work><work-title>Minuet in G</work-title></work>",
        (tmp_path / "plain.xml").read_text(),
        count=1,
    )
    (tmp_path / "score.musicxml").write_text(titled)
    assert score.load_score(tmp_path / "score.musicxml").title == "Minuet in G"
    audio = tmp_path / "take.wav"
    soundfile.write(audio, synth.render(notes, SR), SR)
    a = analysis.analyze(audio, tmp_path / "score.musicxml")
    store = History(tmp_path / "history.sqlite3")
    take = progress.save_take(store, a, audio, tmp_path / "score.musicxml")
    assert take.piece == "Minuet in G"
    low, high = progress.trend_figure([take]).axes[-1].get_xlim()
    assert high - low <= 7.5  # days (matplotlib's date unit)
