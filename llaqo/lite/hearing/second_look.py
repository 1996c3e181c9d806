"""A second look by the transcriber at a few moments: how sure is Transkun that a key was struck there?

Transkun (hearing.transcribe) scores every (onset, offset) frame interval of every key and keeps the best-scoring
set of intervals (Viterbi over a semi-Markov CRF). A key whose best interval lost narrowly to "no note" leaves no
trace in the notes, and a note it kept narrowly looks like any other. The same CRF's forward-backward pass gives
each interval's posterior probability; summed over the intervals that begin within ONSET_REACH_S of a time, it is
the probability that the key was struck then: near 1 for a clear note, near 0 for a silent key, in between for
what the transcriber nearly heard.

The model only hears its full segment length: on a shorter input (4, 6, 8 or 10 s) it dropped every bass note of a
chord it transcribes from the 16 s segment, while 4 s of audio followed by 12 s of silence gave the segment's notes.
So the asked moments are cut out as snippets (CONTEXT_S either side), laid one after another with a little
silence between them into 16 s inputs, and each input costs one transcription segment: a take pays for
ceil(snippets / SNIPPETS_PER_INPUT) segments, not a second transcription. The mel spectrogram stops at 8 kHz, so the
analysis wave (22050 Hz) carries all the model hears; it is resampled to the model's rate.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from llaqo.lite.hearing import transcribe

CONTEXT_S = 1.5  # a snippet holds this much audio either side of an asked time
GAP_S = 0.5  # silence between snippets, so one's cut end is not heard as the next one's attack
ONSET_REACH_S = 0.05  # an onset within this of the asked time counts (two model frames: 46 ms)
SNIPPETS_PER_INPUT = 4  # (16 s) // (2 * CONTEXT_S + GAP_S) = 4 snippets per model input


def onset_probabilities(
    wave: np.ndarray,
    sample_rate: int,
    asks: list[tuple[int, float]],
    config: transcribe.TranscriberConfig = transcribe.DEFAULT,
) -> np.ndarray:
    """(samples,) mono float32 at sample_rate and asks [(MIDI pitch 21-108, time s)] -> (len(asks),) P(a note of
    that pitch begins within ONSET_REACH_S of that time), by Transkun's CRF posterior on a snippet around it.
    Asks whose snippets overlap share one."""
    if not asks:
        return np.zeros(0)
    centres = snippet_centres([t for _, t in asks])
    frame_s = transcribe.MODEL_HOP / transcribe.SAMPLE_RATE
    owner = [int(np.argmin([abs(t - c) for c in centres])) for _, t in asks]
    wanted = [sorted({int(p) for (p, _), j in zip(asks, owner, strict=True) if j == k}) for k in range(len(centres))]
    posteriors = []  # per snippet: {pitch: (frames,) onset posterior, frame 0 at the snippet's start}
    for k in range(0, len(centres), SNIPPETS_PER_INPUT):
        chunk = slice(k, k + SNIPPETS_PER_INPUT)
        posteriors += _run(wave, sample_rate, centres[chunk], wanted[chunk], config)
    out = np.zeros(len(asks))
    for n, ((pitch, t), j) in enumerate(zip(asks, owner, strict=True)):
        start = centres[j] - CONTEXT_S
        lo = max(int(math.floor((t - ONSET_REACH_S - start) / frame_s)), 0)
        hi = int(math.ceil((t + ONSET_REACH_S - start) / frame_s))
        out[n] = float(np.clip(posteriors[j][int(pitch)][lo : hi + 1].sum(), 0.0, 1.0))
    return out


def snippet_centres(times: list[float]) -> list[float]:
    """Asked times (s) -> the sorted centres of the snippets that hold them: one per run of times within
    CONTEXT_S / 2 of the run's first (each then lies within the snippet's middle half)."""
    centres: list[float] = []
    for t in sorted(times):
        if not centres or t - centres[-1] > CONTEXT_S / 2:
            centres.append(t)
    return centres


@torch.inference_mode()
def _run(
    wave: np.ndarray,
    sample_rate: int,
    centres: list[float],
    pitches: list[list[int]],
    config: transcribe.TranscriberConfig,
) -> list[dict[int, np.ndarray]]:
    """One model input holding a snippet around each of `centres` (s) -> per snippet {pitch: (frames,) onset
    posterior} for its `pitches`. The CRF's forward-backward pass runs on each snippet's frames alone (the silence
    around it holds no note) and its asked keys only: over the whole input and all keys it cost as much as the model."""
    import torchaudio
    from transkun.CRF.NeuralSemiCRFInterval import forward_backward
    from transkun.Util import makeFrame

    model = transcribe.load_model(config)
    rate, hop = transcribe.SAMPLE_RATE, transcribe.MODEL_HOP
    size, snippet, gap = (round(s * rate) for s in (config.segment_s, 2 * CONTEXT_S, GAP_S))
    source = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    x = torch.zeros(size)
    starts = []  # each snippet's first sample in x, on the model's frame grid
    for c in centres:
        lo = max(int((c - CONTEXT_S) * sample_rate), 0)
        piece = torchaudio.functional.resample(source[lo : lo + int(2 * CONTEXT_S * sample_rate)], sample_rate, rate)
        # a snippet clipped at the recording's start keeps its asked time CONTEXT_S from the snippet's start
        at = (len(starts) * (snippet + gap) // hop) * hop
        shift = round((CONTEXT_S - c) * rate) if c < CONTEXT_S else 0
        piece = piece[: snippet - shift]
        x[at + shift : at + shift + len(piece)] = piece
        starts.append(at)
    frames = makeFrame(x[None].to(config.device), model.hopSize, model.windowSize)
    crf, _ = model.processFramesBatch(frames.unsqueeze(0))
    out = []
    for at, asked in zip(starts, pitches, strict=True):
        a, b = at // hop, min((at + snippet + gap) // hop, crf.score.shape[0])
        keys = [model.targetMIDIPitch.index(p) for p in asked]
        # marginal: (end frame, begin frame, key) posterior of each interval; an onset's is the sum over its ends
        _, marginal, _ = forward_backward(crf.score[a:b, a:b, keys].float(), crf.noiseScore[a : b - 1, keys].float())
        onsets = marginal.sum(dim=0).T.cpu().numpy()
        out.append(dict(zip(asked, onsets, strict=True)))
    return out
