"""A recorder's automatic gain, estimated from the take (hearing.gain): a phone in a live room keeps only part of a
played change in loudness, and the dynamics label reads the trend through the estimated gain."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from llaqo.lite import synth
from llaqo.lite.analysis import analyze, hear
from llaqo.lite.hearing import gain
from llaqo.lite.hearing.transcribe import Transcription
from llaqo.lite.measures import cautions, dynamics

SR = 22050


def heard_as(notes: np.ndarray):
    """A transcriber that hears `notes`, as Transkun would."""
    return lambda wave, progress=None: Transcription(np.array(notes, dtype=float), np.zeros((0, 2)), np.zeros((0, 2)))


@pytest.fixture(scope="module")
def falling(tmp_path_factory):
    """Velocities 110 -> 60 every 0.3 s, played in a live room through a phone's automatic gain (synth.in_a_room)."""
    notes = synth.scale_notes(200.0, n=32)
    notes[:, 3] = np.linspace(110, 60, len(notes))
    path = tmp_path_factory.mktemp("gain") / "falling.wav"
    soundfile.write(path, synth.in_a_room(synth.render_struck(notes, SR), SR, 1.0), SR)
    return path, notes


def test_a_decrescendo_through_an_automatic_gain_reads_through_it(falling, monkeypatch):
    path, notes = falling
    result = analyze(path, transcriber=heard_as(notes))
    levels = result.dynamics.segments[:, 2]
    # What the gain left of the played fall: even the live room's smaller trend threshold misses it ...
    assert dynamics.dynamics_label(levels, live=True) == "flat"
    # ... and the levels with the estimated gain taken out hear it.
    assert result.dynamics.label == "decrescendo"
    assert result.dynamics.through_gain
    assert any("decrescendo dynamics were read with an estimate of that gain" in c for c in result.cautions)
    # Without the estimate (no gain change for a change in level) the label is the flat one again.
    monkeypatch.setattr(gain, "EXPONENT", 0.0)
    assert analyze(path, transcriber=heard_as(notes)).dynamics.label == "flat"


def test_the_gain_follows_the_level_and_is_bounded():
    """A level step of 12 dB turns the estimated gain down by EXPONENT x 12 dB once both smoothings have settled;
    in silence the gain stops RANGE_DB under the loud level instead of rising without bound."""
    t = np.arange(2 * SR) / SR
    tone = np.sin(2 * np.pi * 440 * t)
    step = np.where(t < 1.0, 10 ** (-12 / 20), 1.0) * tone
    g = gain.gain_db(step, SR)
    assert g[int(0.9 * SR)] - g[-1] == pytest.approx(gain.EXPONENT * 12, abs=0.5)
    quiet = np.where(t < 1.0, 1e-4, 1.0) * tone  # 80 dB down, then loud
    g = gain.gain_db(quiet, SR)
    assert g[int(0.9 * SR)] - g[-1] == pytest.approx(gain.EXPONENT * gain.RANGE_DB, abs=0.5)


def test_a_dry_take_and_an_even_one_keep_their_levels(tmp_path):
    """A dry take has no gain estimate (its label rests on its levels), and an even take through the gain has no
    trend to read."""
    even = synth.scale_notes(200.0, n=32)
    dry = tmp_path / "dry.wav"
    soundfile.write(dry, synth.render_struck(even, SR), SR)
    assert hear(dry, transcriber=heard_as(even)).ungained is None
    live = tmp_path / "live.wav"
    soundfile.write(live, synth.in_a_room(synth.render_struck(even, SR), SR, 1.0), SR)
    heard = hear(live, transcriber=heard_as(even))
    assert heard.ungained is not None
    bounds = np.arange(0.0, even[-1, 0] + 1.2, 1.2)
    assert dynamics.trend_through_gain(dynamics.gained_levels(heard.ungained, heard.notes[:, 0], bounds)) is None
    # The answer says what the gain may have hidden; a dry take has nothing to say about it.
    result = analyze(live, transcriber=heard_as(even))
    assert result.dynamics.label == "flat"
    # (its single struck notes decay between attacks as a gain opening does, so it may read through the gain)
    said = "were read with an estimate" if result.dynamics.through_gain else "may have been played larger than the"
    assert any(f"{said} flat dynamics" in c or f"flat dynamics {said}" in c for c in result.cautions)
    assert not any("automatic gain" in c for c in analyze(dry, transcriber=heard_as(even)).cautions)


def test_the_first_attack_of_a_live_take_is_left_out_of_its_recorded_levels():
    """In the silence before the music a recorder's gain is fully up, so the first chord comes in loud (~8 dB on the
    everyday set's phone copies). A live take's recorded levels leave it out; a dry take keeps it, as played."""
    onsets = np.arange(16) * 0.5
    levels = np.full(16, 40.0) + np.tile([0.0, 0.4, -0.3, 0.2], 4)
    levels[0] = 60.0
    bounds = np.arange(0.0, 8.5, 2.0)
    dry = dynamics.analyse_dynamics(np.zeros((1, 2)), levels, onsets, bounds, "bar")
    assert dry.label != "flat"  # a loud first chord, as played in a dry room
    ungained = np.full(16, 40.0)
    live = dynamics.analyse_dynamics(np.zeros((1, 2)), levels, onsets, bounds, "bar", ungained)
    assert live.label == "flat"
    assert live.segments[0, 2] == pytest.approx(40.1, abs=0.2)


def opening(first_db: float) -> np.ndarray:
    """A (T, 2) loudness curve: silence, then a take from 1 s at -20 dBFS (+-2) whose first 0.2 s sound at first_db."""
    t = np.arange(0.0, 12.0, dynamics.CURVE_HOP_S)
    db = np.where(t < 1.0, -80.0, -20.0 + 2 * np.sign(np.sin(7 * t)))
    db[(t >= 1.0) & (t < 1.2)] = first_db
    return np.stack([t, db], axis=1)


def test_a_take_that_opens_over_its_loud_level_and_falls_back_opens_through_a_gain():
    """In the silence before the music a recorder's gain is fully up: the first attack comes in over the take's loud
    level and falls back as the gain turns down. A take that opens at its own level does not show it."""
    assert gain.opens_through_a_gain(opening(-8.0), 1.0)
    assert not gain.opens_through_a_gain(opening(-20.0), 1.0)
    assert not gain.opens_through_a_gain(opening(-8.0)[:5], 1.0)  # too short to tell


def test_steps_and_contrasts_are_read_through_an_evident_gain():
    """A terrace the gain compressed to 40% reads flat in its recorded levels; where the take opens through a gain
    the gain-corrected levels' terrace is the label, else the recorded flat stays. A flat take's one odd bar in
    the rough corrected levels does not make it terraced (GAINED_FLAT_DB on the soft-to-loud range)."""
    onsets = np.arange(32) * 0.5 + 1.0
    bounds = np.arange(0.0, 8.5, 1.0) * 2.0 + 1.0
    terrace = np.repeat([40.0, 40.0, 49.0, 49.0, 40.0, 40.0, 49.0, 49.0], 4)
    recorded = 40.0 + 0.4 * (terrace - 40.0)
    assert dynamics.dynamics_label(dynamics.segment_levels(recorded, onsets, bounds)[:, 2], live=True) == "flat"
    through = dynamics.analyse_dynamics(opening(-8.0), recorded, onsets, bounds, "bar", terrace)
    assert through.label == "terraced" and through.through_gain
    # The caution then says the label was read through the gain, not that steps may have been larger.
    assert "terraced dynamics were read with an estimate of that gain" in cautions.gain_caution(through)
    as_recorded = dynamics.analyse_dynamics(opening(-20.0), recorded, onsets, bounds, "bar", terrace)
    assert as_recorded.label == "flat" and not as_recorded.through_gain
    assert "may have been played larger" in cautions.gain_caution(as_recorded)
    odd_bar = np.repeat([40.0, 40.0, 40.0, 52.0, 40.0, 40.0, 40.0, 40.0], 4)
    assert dynamics.dynamics_label(dynamics.segment_levels(odd_bar, onsets, bounds)[:, 2]) != "flat"
    assert dynamics.label_through_gain(dynamics.gained_levels(odd_bar, onsets, bounds)) == "flat"


def test_a_phone_in_a_dry_room_is_heard_through_its_gain(tmp_path):
    """A phone's automatic gain is there however short the room: a take whose sound falls fast (a dry room, not
    live) but whose floor lies near the music (the room's noise turned up by the gain) gets the gain estimate, as
    two of the everyday set's old held-out phone copies (decay 0.16-0.18 s) needed. A dry rendering, its floor far
    below the music, keeps none."""
    notes = synth.scale_notes(120.0, n=32)
    notes[:, 2] = 48 + np.tile([0, 4, 7, 4], 8)
    notes[:, :2] += 0.8 * (np.arange(32) // 8)[:, None]  # a rest after every eight notes: the sound falls fast
    notes[:, 3] = np.linspace(110, 60, len(notes))
    phone = tmp_path / "phone.wav"
    soundfile.write(phone, synth.in_a_room(synth.render_struck(notes, SR), SR, 0.03), SR)
    heard = hear(phone, transcriber=heard_as(notes))
    assert not heard.live and heard.ungained is not None
    assert heard.room.near_floor
    dry = tmp_path / "dry.wav"
    soundfile.write(dry, synth.render_struck(notes, SR), SR)
    heard = hear(dry, transcriber=heard_as(notes))
    assert not heard.room.near_floor and heard.ungained is None


def test_a_terrace_through_an_evident_gain_is_not_wide_contrast_until_its_range_is():
    """The estimate reads a velocity unit steeper than the dry levels do (and a TimGM6mb terrace's 28 units up to
    14 dB): a terrace spanning 12.7 dB through the gain is terraced, not wide-contrast as by the dry WIDE_RANGE_DB;
    a contrast of soft and loud bars spanning 15 dB stays wide-contrast."""
    onsets = np.arange(32) * 0.5 + 1.0
    bounds = np.arange(0.0, 8.5, 1.0) * 2.0 + 1.0
    terrace = np.repeat([40.0, 41.0, 40.0, 52.5, 53.0, 52.0, 41.0, 40.0], 4)
    gained = dynamics.gained_levels(terrace, onsets, bounds)
    assert dynamics.dynamics_label(gained) == "wide-contrast"  # the dry rules
    through = dynamics.analyse_dynamics(opening(-8.0), np.full(32, 40.0), onsets, bounds, "bar", terrace)
    assert through.label == "terraced" and through.through_gain
    contrast = np.repeat([40.0, 55.0, 42.0, 54.0, 40.0, 56.0, 41.0, 55.0], 4)
    through = dynamics.analyse_dynamics(opening(-8.0), np.full(32, 40.0), onsets, bounds, "bar", contrast)
    assert through.label == "wide-contrast" and through.through_gain
