"""A vLLM logits processor that gives LLaQo's answers the local engine's repetition penalty.

Loaded by the vLLM server, never by LLaQo itself (it imports vllm, which lives in its own venv):

    PYTHONPATH=/path/to/LLaQo vllm serve ckpts/vicuna-7b-v1.5 --enable-prompt-embeds \
        --logits-processors llaqo.vllm_plugin:GeneratedTokensRepetitionPenalty

Why not vLLM's own `repetition_penalty`: it penalises the prompt's token ids as well as the generated ones,
and a prompt given as embeddings has no ids. vLLM then reads whatever its batch slot holds at the prompt's
positions (zeros, or the tokens of an earlier request in that slot), so answers would depend on which
requests came before. The local engine (transformers `generate(inputs_embeds=...)`) penalises the generated
tokens only, the original's behaviour; this processor does exactly that, with the same arithmetic as
transformers' RepetitionPenaltyLogitsProcessor. LLaQo sends the penalty per request as
`vllm_xargs: {"llaqo_repetition_penalty": R}` and vLLM's own penalty as 1.0.
"""

from __future__ import annotations

from functools import partial

import torch
from vllm import SamplingParams
from vllm.exceptions import VLLMValidationError
from vllm.v1.sample.logits_processor import AdapterLogitsProcessor

PENALTY_ARG = "llaqo_repetition_penalty"


def penalise(penalty: float, output_ids: list[int], logits: torch.Tensor) -> torch.Tensor:
    """One request's (vocab,) logits, every token generated so far penalised once, as transformers does."""
    # With async scheduling vLLM may hold -1 placeholders for tokens still being sampled.
    ids = [i for i in set(output_ids) if i >= 0]
    if not ids:
        return logits
    index = torch.tensor(ids, device=logits.device)
    score = logits[index]
    logits[index] = torch.where(score < 0, score * penalty, score / penalty)
    return logits


class GeneratedTokensRepetitionPenalty(AdapterLogitsProcessor):
    """Applies `llaqo_repetition_penalty` (from a request's vllm_xargs) to the tokens it has generated."""

    @classmethod
    def validate_params(cls, params: SamplingParams) -> None:
        # LLaQo's server check sends an invalid value on purpose: a 400 naming the argument proves that this
        # processor is loaded (without it, vLLM ignores the argument and answers without the penalty).
        penalty = (params.extra_args or {}).get(PENALTY_ARG)
        if penalty is not None and not (isinstance(penalty, int | float) and penalty > 0):
            raise VLLMValidationError(f"{PENALTY_ARG} must be a number > 0, got {penalty!r}", parameter=PENALTY_ARG)

    def is_argmax_invariant(self) -> bool:
        return False

    def new_req_logits_processor(self, params: SamplingParams):
        penalty = (params.extra_args or {}).get(PENALTY_ARG)
        if penalty is None or float(penalty) == 1.0:
            return None
        return partial(penalise, float(penalty))
