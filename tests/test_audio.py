"""The audio front end: decoding every supported format, the original's preprocessing, and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
import torch

from llaqo import audio
from llaqo.synthetic import synth_piano


def encode_av(wave: np.ndarray, sample_rate: int, path: Path, codec: str) -> Path:
    """Write (samples,) float audio with PyAV, as a browser (webm/opus) or a phone (m4a/aac) would."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=sample_rate)
        stream.layout = "mono"
        frame_size = 960
        for start in range(0, len(wave), frame_size):
            chunk = wave[start : start + frame_size].astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def tone() -> np.ndarray:
    """Two seconds of a 440 Hz tone at 48 kHz, peak 0.5."""
    t = np.arange(96000) / 48000
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize(
    "suffix, writer",
    [
        (".wav", "sf"),
        (".flac", "sf"),
        (".mp3", "sf"),
        (".ogg", "sf"),
        (".opus", "sf-opus"),
        (".webm", "libopus"),
        (".m4a", "aac"),
    ],
)
def test_decodes_every_format(tmp_path, tone, suffix, writer):
    path = tmp_path / f"clip{suffix}"
    if writer == "sf":
        soundfile.write(str(path), tone, 48000)
    elif writer == "sf-opus":
        soundfile.write(str(path), tone, 48000, format="OGG", subtype="OPUS")
    else:
        encode_av(tone, 48000, path, writer)
    recording = audio.load_audio(path)
    assert recording.sample_rate == 48000
    assert recording.channels == 1
    # Lossy codecs add priming and padding samples; a few tens of ms either way is fine.
    assert abs(recording.duration_s - 2.0) < 0.1
    # RMS rather than peak: AAC's pre-echo overshoots at the onset. A 0.5 sine has RMS 0.354.
    assert 0.3 < recording.wave.pow(2).mean().sqrt().item() < 0.4


def test_resample_to_32k(tone):
    wave = audio.resample(torch.from_numpy(tone)[None], 48000)
    assert wave.shape == (1, 64000)
    spectrum = torch.fft.rfft(wave[0]).abs()
    assert abs(spectrum.argmax().item() * audio.SAMPLE_RATE / 64000 - 440) < 1


def test_normalize_removes_mean_and_scales_peak_to_half():
    wave = torch.tensor([[0.1, 0.3, -0.2, 0.6], [0.2, 0.0, 0.4, -0.1]])
    out = audio.normalize(wave)
    assert out.mean().abs() < 1e-7
    assert math.isclose(out.abs().max().item(), 0.5, rel_tol=1e-6)


def test_fbank_shape_and_window(clip):
    recording = audio.load_audio(clip)
    features = audio.log_mel_window(recording)
    assert features.shape == (audio.N_FRAMES, audio.N_MELS)
    frames = 1 + (round(recording.duration_s * audio.SAMPLE_RATE) - audio.WIN_LENGTH) // audio.HOP_LENGTH
    assert torch.all(features[frames:] == 0), "frames past the end are zero padding"
    assert torch.all(features[:frames].abs().sum(dim=1) > 0)


def test_pad_or_trim():
    x = torch.arange(12.0).reshape(6, 2)
    assert torch.equal(audio.pad_or_trim(x, 4), x[:4])
    padded = audio.pad_or_trim(x, 8)
    assert padded.shape == (8, 2) and torch.equal(padded[:6], x) and torch.all(padded[6:] == 0)


def test_segments_are_segment_major():
    batch = torch.stack([torch.full((audio.N_FRAMES, 2), float(b)) for b in range(2)])
    batch[:, audio.SEGMENT_FRAMES :] += 10 * torch.arange(1, 4).repeat_interleave(audio.SEGMENT_FRAMES)[:, None]
    segments = audio.split_segments(batch)
    assert segments.shape == (audio.N_SEGMENTS * 2, 1, audio.SEGMENT_FRAMES, 2)
    # Rows [B*i : B*(i+1)] are segment i; within a segment, rows follow the batch order.
    firsts = segments[:, 0, 0, 0].tolist()
    assert firsts == [0.0, 1.0, 10.0, 11.0, 20.0, 21.0, 30.0, 31.0]


def test_start_offset_selects_later_frames(tmp_path):
    path = synth_piano(tmp_path / "long.flac", seconds=50.0, sample_rate=32000)
    recording = audio.load_audio(path)
    whole = audio.fbank(audio.normalize(audio.resample(recording.wave, recording.sample_rate)))
    window = audio.log_mel_window(recording, start_s=5.0)
    assert torch.equal(window[: whole.shape[0] - 500], whole[500 : 500 + audio.N_FRAMES])
    assert torch.equal(audio.log_mel_window(recording)[:100], whole[:100])


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_wav(path: Path, wave: np.ndarray, sample_rate: int = 16000, subtype: str = "PCM_16") -> Path:
    soundfile.write(str(path), wave, sample_rate, subtype=subtype)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: write_bytes(p, b""), "empty"),
        (lambda p: write_bytes(p, b"RIFF\x00\x00not really a wave file" * 20), "not a readable audio file"),
        (lambda p: write_wav(p, np.zeros(16000, dtype=np.float32)), "silent"),
        (lambda p: write_wav(p, np.array([0.1, np.nan] * 8000), subtype="FLOAT"), "NaN or infinite"),
        (lambda p: write_wav(p, np.full(100, 0.1)), "too short"),
        (lambda p: write_wav(p, np.full(200, 0.1), sample_rate=200), "absurd sample rate"),
        (lambda p: write_wav(p, np.zeros(0, dtype=np.float32)), "no audio samples"),
    ],
    ids=["empty", "garbage", "silent", "nan", "too-short", "absurd-rate", "header-only"],
)
def test_bad_input_raises_audio_error(tmp_path, make, message):
    path = make(tmp_path / "bad.wav")
    with pytest.raises(audio.AudioError, match=message) as err:
        audio.load_audio(path)
    assert "bad.wav" in str(err.value)


def test_too_long_and_missing(tmp_path, tone):
    path = write_wav(tmp_path / "long.wav", tone, sample_rate=48000)
    with pytest.raises(audio.AudioError, match="too long"):
        audio.load_audio(path, max_duration_s=1.0)
    with pytest.raises(audio.AudioError, match="not found"):
        audio.load_audio(tmp_path / "nope.wav")


def test_start_past_the_end(clip):
    with pytest.raises(audio.AudioError, match="past the end"):
        audio.log_mel_window(audio.load_audio(clip), start_s=60.0)
    with pytest.raises(audio.AudioError, match="negative"):
        audio.log_mel_window(audio.load_audio(clip), start_s=-1.0)
