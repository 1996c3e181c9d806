"""Piano transcription with Transkun 2.0 (Yan & Duan, ISMIR 2024): notes and pedal events.

Transkun is a transformer over a mel spectrogram that scores every (onset, offset) interval of every key and
of the sustain and sostenuto pedals, decoded by a semi-Markov CRF. Its weights ship inside the `transkun`
wheel (transkun/pretrained/2.0.pt, MIT) and load with torch.load(weights_only=True). We call its model
ourselves on a waveform we already decoded (llaqo.audio.load_audio), so there is one decoder in the project.

The model hears fixed 16 s segments. Transkun's own transcribe() steps them by 8 s, so every frame is
computed twice, and pads the recording with 8 s of digital silence at both ends, so its last segment can be
mostly padding, which each segment's gain normalisation then scales up (with the dynamic int8 model we
tried, such a segment came out as a cluster of phantom notes). We lay segments evenly from the recording's
start to its end, at most `TranscriberConfig.hop_s` apart, so only a recording shorter than one segment is
padded, and stitch them as
Transkun does (each segment's decoding starts where the previous one's last complete interval ended; an
event cut by a segment boundary is merged). bench/RESULTS.md measures this against Transkun's transcribe().
"""

from __future__ import annotations

import json
import logging
import math
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import torch

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100  # Hz, Transkun's input rate (2.0.conf "fs")
MODEL_HOP = 1024  # samples between model frames (2.0.conf hopSize): 43 frames/s
SUSTAIN, SOSTENUTO = -64, -67  # Transkun's pitch codes for the pedals (their MIDI controller numbers, negated)

Progress = Callable[[int, int], None]
"""progress(done, total): called after each segment."""


@dataclass(frozen=True)
class TranscriberConfig:
    """How the recording is cut into the model's segments and how the model runs."""

    segment_s: float = 16.0
    """Segment length: the length Transkun was trained on (2.0.conf segmentSizeInSecond)."""
    hop_s: float = 14.0
    """Most step between segments; Transkun's default 8 s computes every frame twice. 14 s matched its onset F1
    on dev at 2.5x its speed (bench/RESULTS.md)."""
    device: str = "cuda" if torch.cuda.is_available() else "cpu"


DEFAULT = TranscriberConfig()


@dataclass(frozen=True)
class Transcription:
    """What the model heard.

    notes: (N, 4) float64 rows [onset_s, offset_s, midi_pitch 21-108, velocity 1-127], sorted by onset
    pedal: (P, 2) float64 rows [down_s, up_s] of the sustain pedal, sorted
    sostenuto: (Q, 2) float64 rows [down_s, up_s] of the sostenuto pedal, sorted
    """

    notes: np.ndarray
    pedal: np.ndarray
    sostenuto: np.ndarray


@lru_cache(maxsize=4)
def load_model(config: TranscriberConfig = DEFAULT) -> torch.nn.Module:
    """Transkun 2.0 from its wheel, in eval mode on config.device. Loaded once per process and config."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its modules warn about deprecated torch APIs on import
        from transkun.LayersTransformer import MultiHeadAttentionKernel
        from transkun.ModelTransformer import TransKun

    root = resources.files("transkun") / "pretrained"
    model_conf = TransKun.Config()
    model_conf.__dict__.update(json.loads((root / "2.0.conf").read_text())["Model"]["config"])
    model = TransKun(conf=model_conf)
    with resources.as_file(root / "2.0.pt") as path:
        log.info("loading Transkun 2.0 from %s", path)
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["state_dict"], strict=False)  # strict=False as in Transkun's own CLI
    model.eval()
    model.backbone.useGradientCheckpoint = False  # a training device; at inference it only adds calls
    for module in model.modules():
        if isinstance(module, MultiHeadAttentionKernel) and module.kernel is None:  # exact attention
            module.forward = types.MethodType(fused_attention, module)
    return model.to(config.device)


def fused_attention(self, query: torch.Tensor, key: torch.Tensor | None = None, value: torch.Tensor | None = None):
    """Transkun's multi-head attention (LayersTransformer.MultiHeadAttentionKernel.forward, exact softmax
    attention in the 2.0 model), computed over 4-D views; bound to each of the model's attention layers.

    Transkun attends along time for every pitch and along pitch for every frame, on 5-D tensors (batch, pitch or
    frame, head, length, head_dim). For those PyTorch's CPU backend falls back to its unfused "math" attention;
    flattened to 4-D it runs the fused flash kernel. Same model, same weights: on 84 rendered takes the same
    notes and pedal presses to 4e-5 s, in 0.83x the time on 2 CPU cores (bench/RESULTS.md; not measured on CUDA).
    """
    key = query if key is None else key
    value = key if value is None else value
    heads = (self.num_heads, self.head_dim)
    q, k, v = (
        (x @ w).unflatten(-1, heads).transpose(-2, -3)  # (..., head, length, head_dim)
        for x, w in ((query, self.q_proj_weight), (key, self.k_proj_weight), (value, self.v_proj_weight))
    )
    lead = q.shape[:-3]
    fetched = torch.nn.functional.scaled_dot_product_attention(*(t.flatten(0, -4) for t in (q, k, v)))
    return self.out_proj(fetched.unflatten(0, lead).transpose(-2, -3).flatten(-2, -1))


def segment_starts(n_samples: int, config: TranscriberConfig = DEFAULT) -> np.ndarray:
    """(K,) int first sample of each model segment over a recording of n_samples at SAMPLE_RATE: evenly
    spread from 0 to the last full segment, at most config.hop_s apart (to the nearest frame), on the model's
    frame grid."""
    last = math.ceil(max(n_samples - round(config.segment_s * SAMPLE_RATE), 0) / MODEL_HOP)  # in frames
    # Rounded, not floored: hop_s is rarely a whole number of frames, and a floored step made a recording of
    # exactly segment_s + k * hop_s (a 30 s take at 16 s + 14 s) pay for one more segment than k + 1.
    step = round(config.hop_s * SAMPLE_RATE / MODEL_HOP)
    k = math.ceil(last / step) + 1
    return np.unique(np.round(np.linspace(0, last, k)).astype(int)) * MODEL_HOP


@torch.inference_mode()
def transcribe(
    wave: np.ndarray, config: TranscriberConfig = DEFAULT, progress: Progress | None = None
) -> Transcription:
    """(samples,) float32 mono at SAMPLE_RATE -> Transcription.

    Follows Transkun's TransKun.transcribe (ModelTransformer.py) with our segment plan (see the module
    docstring) and progress reporting per segment.
    """
    from transkun.Data import resolveOverlapping
    from transkun.Util import makeFrame

    model = load_model(config)
    x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None].to(config.device)
    size = round(config.segment_s * SAMPLE_RATE)
    starts = segment_starts(x.shape[-1], config)
    start_pos = [0] * len(model.targetMIDIPitch)
    by_pitch: dict[int, list] = {}
    for k, i in enumerate(starts):
        piece = x[:, i : i + size]
        piece = torch.nn.functional.pad(piece, (0, size - piece.shape[-1]))
        frames = makeFrame(piece, model.hopSize, model.windowSize)
        events, last = model.transcribeFrames(
            frames.unsqueeze(0),
            forcedStartPos=start_pos,
            velocityCriteron="hamming",
            onsetBound=None,
            lastFrameIdx=round(size / model.hopSize),
        )
        if k + 1 < len(starts):  # the next segment decodes from where this one's last closed interval ended
            shift = (starts[k + 1] - i) // model.hopSize
            start_pos = [max(p - shift, 0) for p in last]
        begin = i / SAMPLE_RATE
        for e in events[0]:
            e.start = max(e.start + begin, 0.0)
            e.end = max(e.end + begin, e.start)
            track = by_pitch.setdefault(e.pitch, [])
            if track and e.start < track[-1].end:  # an event cut by the previous segment's end
                if e.hasOnset:
                    track[-1] = e
                else:
                    track[-1].hasOffset = e.hasOffset
                    track[-1].end = max(e.end, track[-1].end)
            elif e.hasOnset:
                track.append(e)
        if progress is not None:
            progress(k + 1, len(starts))
    for track in by_pitch.values():
        if track:
            track[-1].hasOffset = True  # the recording's end closes what is still sounding
    events = resolveOverlapping([e for track in by_pitch.values() for e in track if e.hasOffset])
    rows = sorted((e.start, e.end, e.pitch, e.velocity) for e in events)
    notes = np.array([r for r in rows if r[2] > 0], dtype=np.float64).reshape(-1, 4)
    notes[:, 3] = np.clip(notes[:, 3], 1, 127)
    return Transcription(
        notes=notes,
        pedal=np.array([r[:2] for r in rows if r[2] == SUSTAIN], dtype=np.float64).reshape(-1, 2),
        sostenuto=np.array([r[:2] for r in rows if r[2] == SOSTENUTO], dtype=np.float64).reshape(-1, 2),
    )
