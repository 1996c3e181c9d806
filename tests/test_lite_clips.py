"""Clips of cited passages: cut from a synthesized recording and compared sample by sample with the source;
the places an answer names resolved to the spans where they were played."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from llaqo.lite.evidence import clips
from llaqo.protocol import Passage


def test_cut_keeps_the_span_unshifted_and_only_fades_the_ends():
    sr = 8000
    rng = np.random.default_rng(0)
    wave = rng.uniform(-0.5, 0.5, size=(2, 5 * sr)).astype(np.float32)
    out = clips.cut(wave, sr, 1.25, 2.5, fade_s=0.01)
    assert out.shape == (2, int(1.25 * sr))
    fade = int(0.01 * sr)
    np.testing.assert_array_equal(out[:, fade:-fade], wave[:, int(1.25 * sr) + fade : int(2.5 * sr) - fade])
    ratio = out[:, :fade] / wave[:, int(1.25 * sr) : int(1.25 * sr) + fade]
    assert np.all((ratio > 0) & (ratio < 1)) and np.all(np.diff(ratio, axis=1) > 0)  # a ramp, not a shift


def test_span_adds_context_and_stays_inside_the_recording():
    assert clips.span(2.0, 3.0, 10.0, context_s=0.5) == (1.5, 3.5)
    assert clips.span(0.2, 9.9, 10.0, context_s=0.5) == (0.0, 10.0)


def test_written_clip_holds_the_source_samples(tmp_path):
    """A chirp (every instant has its own frequency) written as 16-bit WAV; the clip of 1.0-2.0 s with 0.25 s of
        context must equal the source from 0.75 s on, sample for sample (a one-sample shift of this chirp differs by
    up to 0.1, three thousand times the 16-bit tolerance)."""
    sr = 22050
    t = np.arange(4 * sr) / sr
    source = (0.5 * np.sin(2 * np.pi * (200 * t + 300 * t**2))).astype(np.float32)
    path = tmp_path / "take.wav"
    soundfile.write(path, source, sr, subtype="PCM_16")
    [written] = clips.write_clips(path, [Passage(1.0, 2.0, "bar 3", (3, 3))], tmp_path / "clips", context_s=0.25)
    samples, rate = soundfile.read(written, dtype="float32")
    assert rate == sr
    assert len(samples) == round(2.25 * sr) - round(0.75 * sr)
    decoded, _ = soundfile.read(path, dtype="float32")
    fade = round(clips.FADE_S * sr)
    start = round(0.75 * sr)
    np.testing.assert_allclose(samples[fade:-fade], decoded[start + fade : start + len(samples) - fade], atol=1 / 2**15)
    # the same passage again reuses the file
    assert clips.write_clips(path, [Passage(1.0, 2.0, "bar 3", (3, 3))], tmp_path / "clips", 0.25) == [written]


@pytest.mark.parametrize("rate", [44100])
def test_stereo_clip_keeps_channels(tmp_path, rate):
    wave = np.stack([np.linspace(-0.5, 0.5, 3 * rate), np.linspace(0.5, -0.5, 3 * rate)], axis=1).astype(np.float32)
    soundfile.write(tmp_path / "s.wav", wave, rate, subtype="PCM_16")
    [written] = clips.write_clips(tmp_path / "s.wav", [Passage(1.0, 1.5, "0:01")], tmp_path, context_s=0.0)
    samples, _ = soundfile.read(written, dtype="float32")
    assert samples.shape == (round(0.5 * rate), 2)
    assert samples[len(samples) // 2, 0] == pytest.approx(wave[rate + len(samples) // 2, 0], abs=1e-4)
