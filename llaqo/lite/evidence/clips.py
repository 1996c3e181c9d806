"""Cut the passages an answer cites out of the user's own recording, with a little context, as WAV files.

Pure audio functions (span, cut) and one writer (write_clips) that decodes the recording once per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llaqo.protocol import Passage

CONTEXT_S = 0.75  # played before and after the cited passage, so its first note is not cut into
FADE_S = 0.01  # linear fade at both ends: a cut mid-note would otherwise click


def span(start_s: float, end_s: float, duration_s: float, context_s: float = CONTEXT_S) -> tuple[float, float]:
    """A cited passage widened by context_s on both sides, clamped to the recording -> (start_s, end_s)."""
    return max(0.0, start_s - context_s), min(duration_s, end_s + context_s)


def cut(wave: np.ndarray, sample_rate: int, start_s: float, end_s: float, fade_s: float = FADE_S) -> np.ndarray:
    """(channels, samples) -> (channels, round(end_s * sr) - round(start_s * sr)) float32, the samples of
    [start_s, end_s) with a linear fade-in and fade-out of fade_s each (the samples in between are untouched)."""
    i0 = max(0, round(start_s * sample_rate))
    i1 = min(wave.shape[-1], round(end_s * sample_rate))
    out = np.array(wave[..., i0:i1], dtype=np.float32)
    n = min(round(fade_s * sample_rate), out.shape[-1] // 2)
    if n:
        ramp = (np.arange(n, dtype=np.float32) + 1) / (n + 1)
        out[..., :n] *= ramp
        out[..., out.shape[-1] - n :] *= ramp[::-1]
    return out


def clip_name(stem: str, passage: Passage) -> str:
    """A file name for a passage's clip, unique per recording stem and span: "take-bars-9-12-0017.4-0025.0.wav"."""
    label = "".join(c if c.isalnum() else "-" for c in passage.label).strip("-")
    return f"{stem}-{label}-{passage.start_s:06.1f}-{passage.end_s:06.1f}.wav"


def write_clips(
    audio_path: str | Path,
    passages: Sequence[Passage],
    folder: str | Path,
    context_s: float = CONTEXT_S,
    stem: str | None = None,
) -> list[Path]:
    """Write one 16-bit WAV per passage (at the recording's own rate and channels) into folder -> their paths.
    stem names the clips (default: the recording's file name without its extension); two recordings that
    share a folder need distinct stems.

    A clip already written (same recording, same span) is reused. Raises AudioError for an unreadable recording.
    """
    import soundfile

    from llaqo.audio import load_audio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / clip_name(stem or Path(audio_path).stem, p) for p in passages]
    todo = [(p, path) for p, path in zip(passages, paths, strict=True) if not path.is_file()]
    if todo:
        recording = load_audio(audio_path, max_duration_s=float("inf"))
        wave = recording.wave.numpy()
        for passage, path in todo:
            start, end = span(passage.start_s, passage.end_s, recording.duration_s, context_s)
            samples = cut(wave, recording.sample_rate, start, end)
            soundfile.write(path, samples.T, recording.sample_rate, subtype="PCM_16")
    return paths
