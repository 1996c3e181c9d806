"""The unit of instruction tuning and evaluation: one recording, one question, one answer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One QA pair about one recording. No audio is decoded here; ``llaqo.audio`` does that at collate time."""

    audio_path: Path
    """Where the recording should be: the user's audio root joined with the dataset's relative path."""
    question: str
    """The model's input text, with the table's stray leading and trailing spaces removed."""
    answer: str
    """The target text."""
    dataset: str
    """The DatasetSpec name the sample comes from."""
    split: str
    """One of ``splits.SPLITS``: train, valid or test."""
    task: str
    """What the question asks, from ``tasks.infer_task``; it picks the metric in evaluation."""
    category: str | None = None
    """NeuroPiano's question category (coordination, articulation, ...); None for the other tables."""
