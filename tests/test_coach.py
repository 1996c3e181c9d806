"""The LLaQo coach engine: streaming, follow-ups on a cached clip, cancellation, devices."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import torch

from llaqo import audio, decoding
from llaqo.coach import CoachConfig, LLaQoCoach
from llaqo.protocol import Settings, Turn
from llaqo.synthetic import synth_piano

QUESTION = "How was my pedalling?"


@pytest.fixture(scope="module")
def coach(release) -> LLaQoCoach:
    return LLaQoCoach(CoachConfig(paths=release, cache_size=2))


@contextmanager
def count_calls(module: torch.nn.Module) -> Iterator[list[int]]:
    """Count the module's forward calls inside the block."""
    calls = [0]
    handle = module.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        yield calls
    finally:
        handle.remove()


def reference_text(coach: LLaQoCoach, clip, question: str, settings: Settings) -> str:
    """The same answer computed without the engine: inputs -> decoding.generate -> decode."""
    with torch.inference_mode():
        ids = decoding.generate(coach.model.llm, coach.inputs(clip, question), settings)
    return coach.tokenizer.decode(ids[0].tolist())


def test_streaming_yields_pieces_before_completion(coach, clip):
    prepared = coach.prepare(clip)
    settings = Settings(max_new_tokens=40)
    stream = coach.stream(prepared, QUESTION, settings=settings)
    pieces = []
    for piece in stream:
        if not piece:  # a heartbeat while the model works
            continue
        if not pieces:
            assert stream.stats.tokens == 0, "the first piece arrives before generation has finished"
        pieces.append(piece)
    assert len(pieces) >= 3
    assert "".join(pieces) == stream.stats.text == reference_text(coach, prepared, QUESTION, settings)
    assert stream.stats.tokens == 40
    assert stream.stats.time_to_first_token_s > 0 and stream.stats.tokens_per_s > 0


def test_follow_ups_never_rerun_the_encoder(coach, tmp_path):
    path = synth_piano(tmp_path / "new.wav", seconds=3.0, seed=7)
    with count_calls(coach.model.audio_encoder) as encoder:
        first = coach.prepare(path)
        for question in (QUESTION, "And the dynamics?", "What should I practise?"):
            again = coach.prepare(path)
            assert again is first
            assert "".join(coach.answer(again, question, settings=Settings(max_new_tokens=5)))
    assert encoder[0] == 1, "the encoder ran once, for the first prepare only"


def test_faithful_mode_yields_once_and_matches_beam_search(coach, clip):
    prepared = coach.prepare(clip)
    settings = Settings(mode="faithful", max_new_tokens=12)
    pieces = [p for p in coach.answer(prepared, QUESTION, settings=settings) if p]  # without "" heartbeats
    assert len(pieces) == 1
    assert pieces[0] == reference_text(coach, prepared, QUESTION, settings)


def test_sampling_streams_and_differs_from_greedy(coach, clip):
    prepared = coach.prepare(clip)
    torch.manual_seed(0)
    sampled = "".join(
        coach.answer(prepared, QUESTION, settings=Settings(mode="sample", temperature=5.0, max_new_tokens=30))
    )
    greedy = "".join(coach.answer(prepared, QUESTION, settings=Settings(max_new_tokens=30)))
    assert sampled and sampled != greedy


def test_closing_the_stream_stops_generation(coach, clip):
    prepared = coach.prepare(clip)
    before = threading.active_count()
    with count_calls(coach.model.llm) as steps:
        answer = coach.answer(prepared, QUESTION, settings=Settings(max_new_tokens=3000, repetition_penalty=1.0))
        next(answer)
        answer.close()
    assert steps[0] < 200, f"generation went on for {steps[0]} steps after the consumer left"
    assert threading.active_count() <= before, "the generation thread has ended"


def test_cache_is_bounded(coach, tmp_path):
    clips = [synth_piano(tmp_path / f"{i}.wav", seconds=2.0, seed=i) for i in range(3)]
    calls = coach.encoder_calls
    for path in clips:
        coach.prepare(path)
    assert coach.encoder_calls == calls + 3
    coach.prepare(clips[2])
    assert coach.encoder_calls == calls + 3, "the most recent clip is still cached"
    coach.prepare(clips[0])
    assert coach.encoder_calls == calls + 4, "the oldest clip was evicted (cache_size=2)"


def test_heard_window_and_start_offset(coach, tmp_path):
    long = synth_piano(tmp_path / "long.wav", seconds=30.0, sample_rate=16000)
    assert coach.prepare(long).facts.heard_s == (0.0, audio.SEGMENT_SECONDS)
    assert coach.prepare(long, start_s=25.0).facts.heard_s == (25.0, 30.0)
    assert coach.prepare(long, start_s=25.0).payload is not coach.prepare(long).payload


def test_history_is_off_by_default(coach):
    history = [Turn("How was my tempo?", "Steady.")]
    assert coach.prompt(QUESTION, history, Settings()) == QUESTION
    with_history = coach.prompt(QUESTION, history, Settings(use_history=True))
    assert with_history.startswith("Q: How was my tempo?\nA: Steady.") and with_history.endswith(QUESTION)


def test_prompt_too_long_for_the_original_budget(coach, clip):
    prepared = coach.prepare(clip)
    with pytest.raises(decoding.PromptTooLong, match="256"):
        list(coach.answer(prepared, "please " * 300, settings=Settings()))


@pytest.mark.parametrize("overrides", [{"dtype": "bf16"}, {"device_map": "auto"}], ids=["cpu-bf16", "device-map"])
def test_cpu_variants(release, clip, overrides):
    coach = LLaQoCoach(replace(CoachConfig(paths=release), **overrides))
    if "dtype" in overrides:
        assert coach.model.llm.dtype == torch.bfloat16
        assert coach.model.ln_audio.weight.dtype == torch.float32, "the bridge stays fp32"
    text = "".join(coach.answer(coach.prepare(clip), QUESTION, settings=Settings(max_new_tokens=6)))
    assert text


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("quantization", ["8bit", "4bit"])
def test_quantized_llm_on_cuda(release, clip, quantization):
    pytest.importorskip("bitsandbytes")
    coach = LLaQoCoach(CoachConfig(paths=release, device="cuda", quantization=quantization))
    text = "".join(coach.answer(coach.prepare(clip), QUESTION, settings=Settings(max_new_tokens=6)))
    assert text


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_decodes_with_the_compiled_static_cache(release, clip):
    """CUDA's default: the static cache, its step compiled by transformers and warmed up at load for one answer."""
    coach = LLaQoCoach(CoachConfig(paths=release, device="cuda"))
    scheduler = coach.scheduler
    assert scheduler.static and scheduler.compiles and scheduler.warm_up_s > 0
    assert "compiled" in coach.about
    text = "".join(coach.answer(coach.prepare(clip), QUESTION, settings=Settings(max_new_tokens=6)))
    assert text and scheduler.cache_shapes == [(1, 256), (1, 256)]
