"""The audio front end: file -> waveform -> log-mel fbank -> encoder segments.

Every step reproduces the original LLaQo processor (see ORIGINAL.md, "Audio front end"):
resample to 32 kHz with torchaudio's sinc resampler, remove the mean, peak-normalise to 0.5,
compute a 128-bin kaldi fbank with 10 ms hop, pad or cut to 4096 frames, and split into
four 1024-frame segments. All functions are pure; the constants are named once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio

SAMPLE_RATE = 32000  # Hz, the rate every recording is resampled to
N_MELS = 128
FRAME_SHIFT_MS = 10
FRAME_LENGTH_MS = 25  # kaldi default
HOP_LENGTH = SAMPLE_RATE * FRAME_SHIFT_MS // 1000  # 320 samples between frames
WIN_LENGTH = SAMPLE_RATE * FRAME_LENGTH_MS // 1000  # 800 samples in a frame
N_FRAMES = 4096  # 4096 frames * 10 ms = 40.96 s: all the model ever reads
SEGMENT_FRAMES = 1024  # one encoder input image of 1024 x 128
N_SEGMENTS = N_FRAMES // SEGMENT_FRAMES  # 4
SEGMENT_SECONDS = SEGMENT_FRAMES * FRAME_SHIFT_MS / 1000  # 10.24 s
WINDOW_SECONDS = N_FRAMES * FRAME_SHIFT_MS / 1000  # 40.96 s
WINDOW_SAMPLES = (N_FRAMES - 1) * HOP_LENGTH + WIN_LENGTH  # samples that produce 4096 frames

# Sanity bounds for "absurd" input. Anything outside them is a broken or hostile file,
# not a piano recording.
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 384000
MAX_CHANNELS = 32
SILENCE_PEAK = 1e-4  # -80 dBFS: quieter than any real recording's noise floor
DEFAULT_MAX_DURATION_S = 2 * 60 * 60.0


class AudioError(ValueError):
    """A recording that cannot be used. The message names the file and what is wrong with it.

    Raised for unreadable, empty, too short, too long, silent or non-finite audio, and for
    absurd sample rates or channel counts.
    """


@dataclass(frozen=True)
class Recording:
    """A decoded recording at its native rate.

    wave: (channels, samples) float32 in [-1, 1]
    """

    wave: torch.Tensor
    sample_rate: int
    path: str

    @property
    def channels(self) -> int:
        return self.wave.shape[0]

    @property
    def duration_s(self) -> float:
        return self.wave.shape[1] / self.sample_rate


def load_audio(path: str | Path, *, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> Recording:
    """Decode wav, flac, mp3, ogg/opus, webm or m4a and validate it.

    soundfile (libsndfile) reads wav/flac/mp3/ogg/opus; PyAV (bundled FFmpeg) reads the
    rest, such as the webm a browser microphone produces and m4a from phones.
    Raises AudioError naming the problem.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise AudioError(f"{name}: file not found")
    if path.stat().st_size == 0:
        raise AudioError(f"{name}: the file is empty (0 bytes)")
    try:
        wave, sample_rate = _decode_soundfile(path)
    except Exception:
        try:
            wave, sample_rate = _decode_av(path)
        except Exception as err:
            raise AudioError(
                f"{name}: not a readable audio file (supported: wav, flac, mp3, ogg/opus, webm, m4a)"
            ) from err
    return validate(Recording(torch.from_numpy(wave), sample_rate, str(path)), max_duration_s=max_duration_s)


def _decode_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    data, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), int(sample_rate)


def _decode_av(path: Path) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == "audio")
        # Resample to planar float so every codec's sample format comes out the same way.
        resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=stream.rate)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
        sample_rate = int(stream.rate)
    if not chunks:
        return np.zeros((1, 0), dtype=np.float32), sample_rate
    return np.concatenate(chunks, axis=1).astype(np.float32), sample_rate


def validate(recording: Recording, *, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> Recording:
    """Reject recordings the model cannot meaningfully hear. Returns the recording unchanged."""
    name = Path(recording.path).name
    wave, sr = recording.wave, recording.sample_rate
    if not MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE:
        raise AudioError(f"{name}: absurd sample rate {sr} Hz (expected {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)")
    if wave.ndim != 2 or not 1 <= wave.shape[0] <= MAX_CHANNELS:
        raise AudioError(f"{name}: absurd channel layout {tuple(wave.shape)} (expected 1-{MAX_CHANNELS} channels)")
    if wave.shape[1] == 0:
        raise AudioError(f"{name}: the recording contains no audio samples")
    if not torch.isfinite(wave).all():
        raise AudioError(f"{name}: the audio contains NaN or infinite samples")
    if recording.duration_s * 1000 < FRAME_LENGTH_MS:
        raise AudioError(f"{name}: too short ({recording.duration_s * 1000:.0f} ms); record at least a few seconds")
    if recording.duration_s > max_duration_s:
        raise AudioError(
            f"{name}: too long ({recording.duration_s / 60:.1f} min; the limit is {max_duration_s / 60:.0f} min)"
        )
    if wave.abs().max() < SILENCE_PEAK:
        raise AudioError(f"{name}: the recording is silent (peak below -80 dBFS)")
    return recording


def resample(wave: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """(channels, samples) at sample_rate -> (channels, samples') at SAMPLE_RATE, torchaudio's default sinc."""
    if sample_rate == SAMPLE_RATE:
        return wave
    return torchaudio.functional.resample(wave, sample_rate, SAMPLE_RATE)


def normalize(wave: torch.Tensor) -> torch.Tensor:
    """(channels, samples) -> same shape: mean removed over all channels together, peak scaled to 0.5."""
    wave = wave - wave.mean()
    return wave / (wave.abs().max() + 1e-8) * 0.5


def fbank(wave: torch.Tensor) -> torch.Tensor:
    """(channels, samples) at 32 kHz -> (frames, 128) kaldi log-mel filterbank of channel 0."""
    return torchaudio.compliance.kaldi.fbank(
        wave,
        htk_compat=True,
        sample_frequency=SAMPLE_RATE,
        use_energy=False,
        window_type="hanning",
        num_mel_bins=N_MELS,
        dither=0.0,
        frame_shift=FRAME_SHIFT_MS,
    )


def pad_or_trim(features: torch.Tensor, length: int = N_FRAMES) -> torch.Tensor:
    """(frames, mels) -> (length, mels): zeros appended at the end, or frames cut off the end."""
    n = features.shape[0]
    if n >= length:
        return features[:length]
    return torch.nn.functional.pad(features, (0, 0, 0, length - n))


def split_segments(features: torch.Tensor) -> torch.Tensor:
    """(B, N_FRAMES, mels) -> (N_SEGMENTS * B, 1, SEGMENT_FRAMES, mels), segment-major.

    Rows [B*i : B*(i+1)] hold segment i, the batching the original encoder used.
    """
    return torch.cat(torch.split(features, SEGMENT_FRAMES, dim=1), dim=0).unsqueeze(1)


def start_sample(start_s: float) -> int:
    """A start offset in seconds, snapped to the 10 ms frame grid, as a sample index at 32 kHz."""
    if start_s < 0:
        raise AudioError(f"the start offset must not be negative (got {start_s} s)")
    return round(start_s * 1000 / FRAME_SHIFT_MS) * HOP_LENGTH


def log_mel_window(recording: Recording, start_s: float = 0.0) -> torch.Tensor:
    """A recording -> (N_FRAMES, N_MELS) fbank of the 40.96 s window starting at start_s.

    Normalisation uses the whole recording, as the original did; the window is cut from
    the normalised waveform, which yields exactly the frames the original would compute
    for the same span (every kaldi frame depends only on its own 800 samples).
    """
    return log_mel_windows(recording, [start_s])[0]


def log_mel_windows(recording: Recording, starts_s: list[float], frames: int = N_FRAMES) -> torch.Tensor:
    """A recording -> (len(starts_s), frames, N_MELS): the first `frames` frames of each start's window.

    The waveform is resampled and normalised once; each window's fbank is computed exactly as
    `log_mel_window` computes it, so a window's frames do not depend on which others are asked for.
    """
    wave = normalize(resample(recording.wave, recording.sample_rate))
    windows = []
    for start_s in starts_s:
        first = start_sample(start_s)
        if first + WIN_LENGTH > wave.shape[1]:
            raise AudioError(
                f"{Path(recording.path).name}: start offset {start_s:.2f} s is past the end of the "
                f"recording ({recording.duration_s:.2f} s)"
            )
        windows.append(pad_or_trim(fbank(wave[:, first : first + WINDOW_SAMPLES]))[:frames])
    return torch.stack(windows)
