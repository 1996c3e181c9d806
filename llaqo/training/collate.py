"""Samples -> model-ready batches: decode the audio, tokenize question (and answer), right-pad.

Training batches carry the answer and its loss labels; evaluation batches carry the question only.
Labels are in prompt-token space (B, L); ``splice_labels`` aligns them to the LLM's spliced positions
once the number of audio tokens is known (it depends on the bridge, see ``LLaQo.project``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from llaqo.audio import load_audio, log_mel_window
from llaqo.model.tokenizers import QuestionTokenizer
from llaqo.training.data.sample import Sample
from llaqo.training.data.tasks import infer_task

IGNORE_INDEX = -100  # cross_entropy's ignore_index: positions that carry no loss
CSV_COLUMNS = ("audio", "question", "answer")
CSV_DATASET = "csv"


@dataclass
class Batch:
    """One batch for the model.

    fbank: (B, 4096, 128). qformer_ids, qformer_mask: (B, L_bert), padded to the longest.
    prompt_ids, prompt_mask: (B, L) right-padded LLM ids: BOS + question (+ answer + EOS when training).
    labels: (B, L) the prompt ids on answer and EOS positions, IGNORE_INDEX elsewhere; None for evaluation.
    """

    fbank: torch.Tensor
    qformer_ids: torch.Tensor
    qformer_mask: torch.Tensor
    prompt_ids: torch.Tensor
    prompt_mask: torch.Tensor
    labels: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        moved = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return Batch(**{k: v.to(device) if v is not None else None for k, v in moved.items()})


def read_csv(path: str | Path, split: str = "test") -> list[Sample]:
    """A CSV with columns audio, question, answer (optional: category) -> Samples in file order.

    Relative audio paths are taken relative to the CSV's folder. The task is inferred from the question.
    Raises ValueError naming the missing columns.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    missing = sorted(set(CSV_COLUMNS) - set(rows[0] if rows else CSV_COLUMNS))
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; a QA CSV needs {', '.join(CSV_COLUMNS)}")
    samples = []
    for row in rows:
        question, answer = row["question"].strip(), row["answer"].strip()
        samples.append(
            Sample(
                audio_path=path.parent / row["audio"].strip(),
                question=question,
                answer=answer,
                dataset=CSV_DATASET,
                split=split,
                task=infer_task(question, answer),
                category=(row.get("category") or "").strip() or None,
            )
        )
    return samples


def pad_right(sequences: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Id lists -> (B, L) ids padded with pad_id on the right, and the (B, L) mask of real tokens."""
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        mask[row, : len(sequence)] = 1
    return ids, mask


def splice_labels(labels: torch.Tensor, audio_tokens: int) -> torch.Tensor:
    """(B, L) token labels -> (B, L + 1 + audio_tokens), aligned to ``LLaQo.llm_inputs``' layout:
    BOS, then the indicator and the audio tokens (never targets), then the rest of the prompt."""
    gap = labels.new_full((labels.shape[0], 1 + audio_tokens), IGNORE_INDEX)
    return torch.cat([labels[:, :1], gap, labels[:, 1:]], dim=1)


class Collator:
    """A DataLoader ``collate_fn``: list[Sample] -> Batch. Picklable, so it runs in worker processes.

    With ``train=True`` the prompt is BOS + question + answer + EOS (the answer cut to ``max_answer_tokens``
    including EOS) and labels cover answer and EOS only, as the original's loss did.
    """

    def __init__(
        self, tokenizer: QuestionTokenizer, *, train: bool, start_s: float = 0.0, max_answer_tokens: int = 256
    ):
        self.tokenizer = tokenizer
        self.train = train
        self.start_s = start_s
        self.max_answer_tokens = max_answer_tokens

    def fbank(self, sample: Sample) -> torch.Tensor:
        """(4096, 128): the 40.96 s window of the sample's recording. Raises AudioError naming the file."""
        return log_mel_window(load_audio(sample.audio_path), self.start_s)

    def answer_ids(self, answer: str) -> list[int]:
        """The answer's ids without BOS, cut to leave room for EOS, then EOS."""
        prompt = self.tokenizer.prompt
        return prompt.encode(answer)[1 : self.max_answer_tokens] + [prompt.eos_id]

    def __call__(self, samples: Sequence[Sample]) -> Batch:
        prompt = self.tokenizer.prompt
        qformer_ids, qformer_mask = self.tokenizer.bert([sample.question for sample in samples])
        sequences, targets = [], []
        for sample in samples:
            ids = prompt.encode(sample.question)
            target = [IGNORE_INDEX] * len(ids)
            if self.train:
                answer = self.answer_ids(sample.answer)
                ids, target = ids + answer, target + answer
            sequences.append(ids)
            targets.append(target)
        prompt_ids, prompt_mask = pad_right(sequences, prompt.pad_id)
        labels = None
        if self.train:
            labels, _ = pad_right(targets, IGNORE_INDEX)
        fbank = torch.stack([self.fbank(sample) for sample in samples])
        return Batch(fbank, qformer_ids, qformer_mask, prompt_ids, prompt_mask, labels)
