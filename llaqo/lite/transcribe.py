"""Note transcription with basic-pitch's shipped ONNX model (no TensorFlow, CPU only).

We call the model ourselves on a waveform we already decoded (llaqo.audio.load_audio), so
there is one decoder in the project; the windowing and note decoding are basic-pitch's own.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050  # Hz, basic-pitch's input rate (basic_pitch.constants.AUDIO_SAMPLE_RATE)
FFT_HOP = 256  # samples between model frames: 22050 / 256 = 86.13 frames/s
N_OVERLAP_FRAMES = 30  # basic-pitch's default overlap between 2 s windows, in model frames
ONSET_THRESHOLD = 0.7  # onset activation needed to start a note; above the 0.5 default, which ghosts octaves in reverb
FRAME_THRESHOLD = 0.4  # frame activation needed to sustain a note; above the 0.3 default, so decays do not re-trigger
MIN_NOTE_FRAMES = 6  # 6 frames = 70 ms: keeps short staccato notes that the default 11 (128 ms) drops
GLIDE_BINS = 2  # contour bins are 1/3 semitone: a note whose pitch moves 2 bins glides by 2/3 of a semitone
GLIDE_SAMPLE = 200  # notes inspected for gliding pitch
EDGE_TRIM = 0.1  # share of each note's contour ignored at either end when looking for glides
BATCH_WINDOWS = 16  # 2 s windows per ONNX call: larger batches amortise the call overhead


@dataclass(frozen=True)
class Transcription:
    """Notes and the model's frame activations.

    notes: (N, 4) float64 rows [onset_s, offset_s, midi_pitch, velocity 1-127], sorted by onset
    frames: (T, 88) float32 note activations, T = model frames at FFT_HOP / SAMPLE_RATE s
    onsets: (T, 88) float32 onset activations
    """

    notes: np.ndarray
    frames: np.ndarray
    onsets: np.ndarray
    glide_share: float = 0.0
    """Share of notes whose pitch glides (see _glide_share): near 0 for a piano, high for speech or song."""

    @property
    def frame_rate(self) -> float:
        return SAMPLE_RATE / FFT_HOP


@lru_cache(maxsize=1)
def _import_basic_pitch() -> None:
    """Import basic-pitch once, quietly: it logs a warning for every optional backend (TF, CoreML,
    TFLite) it does not find, and resampy warns about pkg_resources; we only use ONNX."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import basic_pitch.inference  # noqa: F401
            import basic_pitch.note_creation  # noqa: F401
    finally:
        logging.disable(previous)


@lru_cache(maxsize=1)
def load_model():
    """basic-pitch's ONNX model from its wheel. Loaded once per process."""
    _import_basic_pitch()
    from basic_pitch import FilenameSuffix, build_icassp_2022_model_path
    from basic_pitch.inference import Model

    path = build_icassp_2022_model_path(FilenameSuffix.onnx)
    log.info("loading basic-pitch ONNX model from %s", path)
    return Model(path)


def model_activations(wave: np.ndarray) -> dict[str, np.ndarray]:
    """(samples,) float32 mono at SAMPLE_RATE -> {"note", "onset": (T, 88), "contour": (T, 264)}."""
    model = load_model()
    from basic_pitch.constants import AUDIO_N_SAMPLES
    from basic_pitch.inference import unwrap_output, window_audio_file

    overlap = N_OVERLAP_FRAMES * FFT_HOP
    padded = np.concatenate([np.zeros(overlap // 2, np.float32), wave.astype(np.float32)])
    windows = np.stack([w for w, _ in window_audio_file(padded, AUDIO_N_SAMPLES - overlap)])
    outputs: dict[str, list[np.ndarray]] = {"note": [], "onset": [], "contour": []}
    for i in range(0, len(windows), BATCH_WINDOWS):
        for key, value in model.predict(windows[i : i + BATCH_WINDOWS]).items():
            outputs[key].append(value)
    return {k: unwrap_output(np.concatenate(v), len(wave), N_OVERLAP_FRAMES) for k, v in outputs.items()}


def transcribe(wave: np.ndarray) -> Transcription:
    """(samples,) float32 mono at SAMPLE_RATE -> Transcription."""
    out = model_activations(wave)
    from basic_pitch import note_creation

    events = note_creation.output_to_notes_polyphonic(
        out["note"],
        out["onset"],
        onset_thresh=ONSET_THRESHOLD,
        frame_thresh=FRAME_THRESHOLD,
        min_note_len=MIN_NOTE_FRAMES,
        infer_onsets=False,  # inferred onsets re-trigger sustained notes in a reverberant room
        max_freq=None,
        min_freq=None,
        melodia_trick=True,
    )
    times = note_creation.model_frames_to_time(out["contour"].shape[0])
    rows = [(float(times[a]), float(times[b]), int(p), int(np.clip(round(v * 127), 1, 127))) for a, b, p, v in events]
    notes = np.array(sorted(rows), dtype=np.float64).reshape(-1, 4)
    return Transcription(
        notes=notes, frames=out["note"], onsets=out["onset"], glide_share=_glide_share(out["contour"], events)
    )


def _glide_share(contours: np.ndarray, events: list) -> float:
    """Share of notes whose pitch contour moves by 2/3 of a semitone or more away from its edges. A piano's pitch
    is fixed once struck; speech and singing glide. Measured on at most GLIDE_SAMPLE notes over the recording."""
    from basic_pitch import note_creation

    if not events:
        return 0.0
    sample = list(events)[:: max(1, len(events) // GLIDE_SAMPLE)]
    bends = [b for *_, b in note_creation.get_pitch_bends(contours, sample) if b]
    return float(np.mean([np.ptp(_middle(b)) >= GLIDE_BINS for b in bends])) if bends else 0.0


def _middle(bend: list) -> list:
    """The middle 80% of a note's pitch contour. At a note's edges the neighbouring notes' onsets and ringing
    bleed into the contour (fast legato, pedal), which reads as a glide on a perfectly steady piano tone."""
    n = len(bend)
    return bend[int(EDGE_TRIM * n) : max(int(EDGE_TRIM * n) + 1, int((1 - EDGE_TRIM) * n))]
