"""Decoding settings -> transformers `generate` arguments, with the original's semantics.

The original called `generate(inputs_embeds=..., max_length=256, num_beams=5, repetition_penalty=1.5, ...)`
under transformers 4.44, where `max_length` counted the prompt positions too: it produced
`256 - P` new tokens at most for a prompt of P positions. Today's `generate` counts new tokens
only, so the budget is translated here.
"""

from __future__ import annotations

import warnings

import torch
from transformers import LlamaForCausalLM

from llaqo.model.llaqo import LLMInputs
from llaqo.protocol import Settings

ORIGINAL_MAX_LENGTH = 256  # prompt positions + new tokens
FAITHFUL = {"num_beams": 5, "repetition_penalty": 1.5, "length_penalty": 1.0}


class PromptTooLong(ValueError):
    """The question leaves no room for an answer within the original's 256 positions."""


def new_token_budget(settings: Settings, prompt_length: int) -> int:
    """max_new_tokens, or else the original's 256 positions minus the prompt."""
    if settings.max_new_tokens is not None:
        return settings.max_new_tokens
    budget = ORIGINAL_MAX_LENGTH - prompt_length
    if budget < 1:
        raise PromptTooLong(
            f"the question takes {prompt_length} of the original's {ORIGINAL_MAX_LENGTH} positions; "
            "shorten it or set max_new_tokens"
        )
    return budget


def generate_kwargs(settings: Settings, prompt_length: int) -> dict:
    """Keyword arguments for `LlamaForCausalLM.generate` (besides the inputs)."""
    kwargs = {
        "max_new_tokens": new_token_budget(settings, prompt_length),
        "repetition_penalty": settings.repetition_penalty,
        "num_beams": 1,
        "do_sample": False,
        "num_return_sequences": 1,
    }
    if settings.mode == "faithful":
        kwargs.update(FAITHFUL)
    elif settings.mode == "beam":
        kwargs.update(num_beams=settings.num_beams, length_penalty=1.0)
    elif settings.mode == "sample":
        kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p)
    return kwargs


def generate(llm: LlamaForCausalLM, inputs: LLMInputs, settings: Settings, **extra) -> torch.Tensor:
    """Run generation to completion. Returns (B, new tokens) ids, as the original's `llm_model.generate`.

    extra: more `generate` arguments (a streamer, stopping criteria), or overrides, such as the
    max_new_tokens of a left-padded batch whose rows have budgets of their own."""
    with warnings.catch_warnings():
        # The penalty applies to generated tokens only, because the prompt is embeddings: exactly
        # what the original did, so the warning transformers raises about it is noise here.
        warnings.filterwarnings("ignore", message=".*repetition_penalty.*inputs_embeds.*")
        kwargs = {**generate_kwargs(settings, inputs.prompt_length), **extra}
        return llm.generate(inputs_embeds=inputs.inputs_embeds, attention_mask=inputs.attention_mask, **kwargs)
