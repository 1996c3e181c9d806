"""The faithful mode is pinned to the original's generation constants, stated here as numbers (ORIGINAL.md,
"Generation defaults"), and its default 256-position budget runs to the end on a tiny random model."""

from __future__ import annotations

import pytest

from llaqo import decoding
from llaqo.coach import CoachConfig, LLaQoCoach
from llaqo.protocol import Settings

QUESTION = "How was my pedalling?"


@pytest.mark.parametrize("prompt_length", [4, 100, 255])
def test_faithful_mode_uses_the_originals_constants(prompt_length):
    # Whatever the other settings say, faithful is the original: 5 beams, penalty 1.5, 256 positions in all.
    settings = Settings(mode="faithful", num_beams=2, repetition_penalty=1.0, temperature=0.3)
    kwargs = decoding.generate_kwargs(settings, prompt_length)
    assert kwargs["num_beams"] == 5
    assert kwargs["repetition_penalty"] == 1.5
    assert kwargs["length_penalty"] == 1.0
    assert kwargs["do_sample"] is False
    assert kwargs["num_return_sequences"] == 1
    assert kwargs["max_new_tokens"] == 256 - prompt_length


def test_the_default_budget_fills_256_positions(release, clip):
    """A faithful answer with the default budget: generate gets 5 beams, penalty 1.5 and 256 - P new tokens,
    and (the end token disabled, as random weights would stop anywhere) produces all of them."""
    coach = LLaQoCoach(CoachConfig(paths=release))
    llm = coach.model.llm
    llm.generation_config.eos_token_id = None
    passed = []
    original = llm.generate

    def spy(*args, **kwargs):
        passed.append(kwargs)
        return original(*args, **kwargs)

    llm.generate = spy
    prepared = coach.prepare(clip)
    # The prompt: the </s> BOS, the audio indicator, one audio token (the original's splice), the question.
    positions = len(coach.tokenizer.prompt.encode(QUESTION)) + 2
    stream = coach.stream(prepared, QUESTION, settings=Settings(mode="faithful"))
    text = "".join(stream)
    assert text == stream.stats.text
    assert len(passed) == 1
    assert passed[0]["num_beams"] == 5 and passed[0]["repetition_penalty"] == 1.5
    assert passed[0]["inputs_embeds"].shape[1] == positions
    assert positions + passed[0]["max_new_tokens"] == 256
    assert positions + stream.stats.tokens == 256, "the answer ran to the end of the original's 256 positions"
