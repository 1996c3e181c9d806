"""Transkun as the Lite transcriber: the real model (its weights ship in the wheel) on a synthesised clip."""

from __future__ import annotations

import numpy as np
import pytest

from llaqo.lite import synth
from llaqo.lite.hearing import transcribe
from llaqo.lite.hearing.transcribe import SAMPLE_RATE, TranscriberConfig, segment_starts


def test_segments_cover_the_recording_evenly_and_end_at_its_end():
    config = TranscriberConfig(segment_s=16.0, hop_s=12.0)
    size = 16 * SAMPLE_RATE
    for seconds in (3.0, 16.0, 17.5, 40.0, 181.0):
        n = int(seconds * SAMPLE_RATE)
        starts = segment_starts(n, config)
        assert starts[0] == 0
        assert np.all(starts % transcribe.MODEL_HOP == 0)
        assert np.all(np.diff(starts) <= 12 * SAMPLE_RATE + transcribe.MODEL_HOP / 2)
        # only a recording shorter than a segment is padded: the last segment ends within a frame of the end
        assert abs(starts[-1] + size - max(n, size)) <= transcribe.MODEL_HOP
    assert len(segment_starts(int(181 * SAMPLE_RATE), config)) == 15  # ceil((181 - 16) / 12) + 1


def test_a_recording_of_one_segment_plus_whole_hops_costs_no_extra_segment():
    """16 s segments 14 s apart: a 30 s take is two segments and a 58 s take four, whatever the frame rounding."""
    config = TranscriberConfig(segment_s=16.0, hop_s=14.0)
    for seconds, segments in ((30.0, 2), (44.0, 3), (58.0, 4), (30.5, 3)):
        assert len(segment_starts(int(seconds * SAMPLE_RATE), config)) == segments, seconds


@pytest.fixture(scope="module")
def two_segments():
    """An 18 s clip (two overlapping segments) of notes in the register the synthesiser renders audibly to
    Transkun (F2-D6), with notes right where the second segment starts and where the first one ends."""
    rng = np.random.default_rng(1)
    onsets = np.concatenate([np.arange(0.5, 17.0, 0.45), [1.99, 15.98]])
    notes = np.array(
        [[t, t + 0.35, 48 + int(rng.integers(0, 25)), int(rng.integers(60, 110))] for t in np.sort(onsets)]
    )
    calls = []
    result = transcribe.transcribe(
        synth.render(notes, SAMPLE_RATE, 18.0), progress=lambda done, total: calls.append((done, total))
    )
    return notes, result, calls


def test_transkun_finds_the_notes_once_across_segments(two_segments):
    notes, result, _ = two_segments
    found = result.notes
    assert found.shape[1] == 4 and np.all(np.diff(found[:, 0]) >= 0)
    hits = [np.flatnonzero((np.abs(found[:, 0] - on) <= 0.05) & (found[:, 2] == p)) for on, _, p, _ in notes]
    assert sum(len(h) > 0 for h in hits) >= 0.95 * len(notes)
    assert all(len(h) <= 1 for h in hits), "a note at a segment boundary was transcribed twice"
    assert len(found) <= 1.05 * len(notes)
    assert np.all((found[:, 3] >= 1) & (found[:, 3] <= 127))
    assert result.pedal.shape[1] == 2 and result.sostenuto.shape[1] == 2


def test_progress_is_reported_per_segment(two_segments):
    *_, calls = two_segments
    assert calls == [(1, 2), (2, 2)]


def test_the_fused_attention_computes_transkuns_attention():
    """Bound to the model's attention layers, fused_attention gives what Transkun's own forward gives on its
    5-D inputs (batch, pitch, length, features), for self-attention and for a separate key and value."""
    import types
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from transkun.LayersTransformer import MultiHeadAttentionKernel

    torch.manual_seed(0)
    layer = MultiHeadAttentionKernel(embed_dim=24, num_heads=4, kernel=None).eval()
    query, other = torch.randn(2, 5, 7, 24), torch.randn(2, 5, 9, 24)
    with torch.no_grad():
        expected = [layer(query), layer(query, other, other)]
        layer.forward = types.MethodType(transcribe.fused_attention, layer)
        got = [layer(query), layer(query, other, other)]
    for a, b in zip(expected, got, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    layers = [m for m in transcribe.load_model(transcribe.DEFAULT).modules() if isinstance(m, MultiHeadAttentionKernel)]
    assert layers and all(m.forward.__func__ is transcribe.fused_attention for m in layers)  # the loaded model's
