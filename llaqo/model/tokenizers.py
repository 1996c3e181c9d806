"""The two tokenizers a question goes through: BERT's for the Q-Former, Vicuna's for the LLM.

The LLM side reproduces the slow sentencepiece `LlamaTokenizer` (legacy=False) that the original used,
with its special tokens remapped (BOS, EOS and UNK all `</s>`, plus `[PAD]` and `<AUDIO>`). It is
implemented here on sentencepiece directly because transformers 5 only ships the converted fast
tokenizer, which differs from the slow one on leading spaces, newlines and unknown characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import BertTokenizer

SPIECE_UNDERLINE = "\u2581"
DEC_TOKEN = "[DEC]"
LLM_PAD_TOKEN = "[PAD]"
LLM_AUDIO_TOKEN = "<AUDIO>"


class PromptTokenizer:
    """Vicuna's slow LlamaTokenizer after the original's set-up, on sentencepiece.

    encode(text) -> [2, ...]: the id-2 `</s>` BOS, then the pieces. Text equal to an added token
    (`<unk>`, `<s>`, `</s>`, `[PAD]`, `<AUDIO>`) becomes that token's id, as the slow tokenizer did.
    """

    def __init__(self, model_file: str | Path):
        from sentencepiece import sentencepiece_model_pb2

        proto = sentencepiece_model_pb2.ModelProto()
        proto.ParseFromString(Path(model_file).read_bytes())
        # legacy=False: the tokenizer adds the prefix space itself, so sentencepiece must not.
        proto.normalizer_spec.add_dummy_prefix = False
        self.sp = spm.SentencePieceProcessor()
        self.sp.LoadFromSerializedProto(proto.SerializeToString())
        self.sp_vocab_size = self.sp.get_piece_size()
        self.pad_id = self.sp_vocab_size
        self.audio_id = self.sp_vocab_size + 1
        self.eos_id = self.sp.eos_id()
        self.bos_id = self.eos_id  # the original remapped BOS (and UNK) to `</s>`
        self.added = {
            self.sp.id_to_piece(self.sp.unk_id()): self.sp.unk_id(),
            self.sp.id_to_piece(self.sp.bos_id()): self.sp.bos_id(),
            self.sp.id_to_piece(self.eos_id): self.eos_id,
            LLM_PAD_TOKEN: self.pad_id,
            LLM_AUDIO_TOKEN: self.audio_id,
        }
        self.special_ids = {self.eos_id, self.pad_id, self.audio_id}
        self.eos_piece = self.sp.id_to_piece(self.eos_id)
        by_length = sorted(self.added, key=len, reverse=True)
        self._split = re.compile("(" + "|".join(re.escape(t) for t in by_length) + ")")

    @classmethod
    def from_dir(cls, llm_dir: str | Path) -> PromptTokenizer:
        return cls(Path(llm_dir) / "tokenizer.model")

    def __len__(self) -> int:
        return self.sp_vocab_size + 2

    def _pieces(self, text: str) -> list[str]:
        if not text.startswith((SPIECE_UNDERLINE, " ")):
            return self.sp.encode(text, out_type=str)
        # The slow tokenizer's trick to keep a leading space: encode behind the (remapped) unk
        # token's text and drop that text's pieces again.
        skip = len(self.sp.encode(self.eos_piece, out_type=str))
        pieces = self.sp.encode(self.eos_piece + text, out_type=str)
        return pieces[skip:] if len(pieces) >= skip else pieces

    def encode(self, text: str) -> list[int]:
        """A question -> LLM ids, starting with the id-2 BOS."""
        ids = [self.bos_id]
        if not text:
            return ids
        text = SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, " ")
        chunks = [c for c in self._split.split(text) if c]
        if len(chunks) > 1 and chunks[0] == SPIECE_UNDERLINE and self.added.get(chunks[1]) in self.special_ids:
            chunks = chunks[1:]
        for chunk in chunks:
            if chunk in self.added:
                ids.append(self.added[chunk])
            else:
                ids.extend(self.sp.piece_to_id(p) for p in self._pieces(chunk))
        return ids

    def decode(self, ids: list[int]) -> str:
        """Generated ids -> text, special tokens skipped, as the original's batch_decode."""
        texts, pieces = [], []
        for i in ids:
            if i in self.special_ids:
                continue
            if self.sp.is_control(i) or self.sp.is_unknown(i):
                # `<unk>` and `<s>` are added tokens but no longer special: they decode literally.
                if pieces:
                    texts.append(self._decode_pieces(pieces))
                    pieces = []
                texts.append(self.sp.id_to_piece(i))
            else:
                pieces.append(self.sp.id_to_piece(i))
        if pieces:
            texts.append(self._decode_pieces(pieces))
        # transformers 4.44 joined with spaces whatever tokenizer_config.json said.
        return " ".join(t for t in texts if t)

    def _decode_pieces(self, pieces: list[str]) -> str:
        if pieces[0].startswith(SPIECE_UNDERLINE):
            pieces = [pieces[0][1:], *pieces[1:]]
        return self.sp.decode_pieces(pieces)


def load_qformer_tokenizer(bert_dir: str | Path, max_length: int = 128) -> BertTokenizer:
    """The BERT WordPiece tokenizer with `[DEC]` appended, left truncation, as the original."""
    tokenizer = BertTokenizer.from_pretrained(str(bert_dir), truncation_side="left", model_max_length=max_length)
    tokenizer.add_special_tokens({"bos_token": DEC_TOKEN})
    return tokenizer


@dataclass
class QuestionIds:
    """A batch of questions, tokenized for both models.

    qformer_ids, qformer_mask: (B, L_bert), padded to the longest. prompt_ids: (B, L_llm), B = 1 or equal lengths.
    """

    qformer_ids: torch.Tensor
    qformer_mask: torch.Tensor
    prompt_ids: torch.Tensor


class QuestionTokenizer:
    """Both tokenizers behind one call: question text -> QuestionIds; generated ids -> text."""

    def __init__(self, qformer: BertTokenizer, prompt: PromptTokenizer, max_text_len: int = 128):
        self.qformer = qformer
        self.prompt = prompt
        self.max_text_len = max_text_len

    def bert(self, questions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Questions -> the Q-Former's (B, L) ids and mask: padded to the longest, left-truncated."""
        bert = self.qformer(
            questions, padding="longest", truncation=True, max_length=self.max_text_len, return_tensors="pt"
        )
        return bert.input_ids, bert.attention_mask

    def __call__(self, question: str) -> QuestionIds:
        return QuestionIds(*self.bert([question]), torch.tensor([self.prompt.encode(question)]))

    def decode(self, ids: list[int]) -> str:
        """The original's post-processing: id 0 read as `</s>`, special tokens skipped, stripped."""
        return self.prompt.decode([self.prompt.eos_id if i == 0 else i for i in ids]).strip()
