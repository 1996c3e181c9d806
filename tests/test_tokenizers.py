"""The LLM prompt tokenizer reproduces the original's slow LlamaTokenizer exactly.

tests/data/slow_llama_tokenizer.json was recorded with transformers 4.44.2's slow LlamaTokenizer, set up
as the original set it up, on the parity fixture's sentencepiece model: awkward strings (leading and
repeated spaces, newlines, special-token text, unknown characters) and random id sequences.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from llaqo.model.tokenizers import PromptTokenizer, load_qformer_tokenizer

HERE = Path(__file__).resolve().parent
REFERENCE = json.loads((HERE / "data" / "slow_llama_tokenizer.json").read_text())
FIXTURE_LLM = HERE.parents[1] / "shared" / "parity" / "visible" / "llm"


@pytest.fixture(scope="module")
def tokenizer() -> PromptTokenizer:
    model = FIXTURE_LLM / "tokenizer.model"
    if not model.is_file():
        pytest.skip(f"{model} not found: the reference needs the parity fixture's sentencepiece model")
    if hashlib.sha256(model.read_bytes()).hexdigest() != REFERENCE["tokenizer_model_sha256"]:
        pytest.skip(f"{model} is not the sentencepiece model the reference was recorded with")
    return PromptTokenizer.from_dir(FIXTURE_LLM)


def test_encode_matches_slow_tokenizer(tokenizer):
    for text, ids in REFERENCE["encode"]:
        assert tokenizer.encode(text) == ids, repr(text)


def test_decode_matches_slow_tokenizer(tokenizer):
    for ids, text in REFERENCE["batch_decode_skip_special"]:
        assert tokenizer.decode(ids) == text, ids


def test_added_tokens(release):
    tokenizer = PromptTokenizer.from_dir(release.llm)
    assert tokenizer.encode("")[0] == 2
    assert tokenizer.encode("[PAD] <AUDIO>")[1] == tokenizer.pad_id
    assert len(tokenizer) == tokenizer.sp_vocab_size + 2


def test_qformer_tokenizer_appends_dec_and_truncates_left(release):
    bert = load_qformer_tokenizer(release.qformer_tokenizer, max_length=8)
    assert bert.convert_tokens_to_ids("[DEC]") == bert.vocab_size
    ids = bert(["a b c d e f g h i j"], truncation=True, max_length=8).input_ids[0]
    assert bert.convert_ids_to_tokens(ids) == ["[CLS]", "e", "f", "g", "h", "i", "j", "[SEP]"]
