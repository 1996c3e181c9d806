"""Read a QA table into Samples: one generic loader for the 11 original tables and NeuroPiano."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Collection, Iterable
from pathlib import Path

from llaqo.training.data.sample import Sample
from llaqo.training.data.specs import DatasetSpec
from llaqo.training.data.splits import DEFAULT_SEED, SPLITS, assign_splits, normalize_split
from llaqo.training.data.tasks import infer_task

log = logging.getLogger(__name__)

METADATA_ENV = "LLAQO_METADATA"
"""Environment variable naming the metadata folder when no ``--metadata`` is given."""


def resolve_metadata_dir(path: str | Path | None) -> Path:
    """The metadata folder: ``path`` if given, else ``$LLAQO_METADATA``.

    Raises:
        FileNotFoundError: neither is set, or the folder does not exist. The message says how to fix it.
    """
    chosen = path if path is not None else os.environ.get(METADATA_ENV)
    if not chosen:
        raise FileNotFoundError(
            f"no metadata folder given: pass --metadata DIR or set {METADATA_ENV}; it holds the QA tables "
            f"(e.g. DIR/Burgmuller/audio_qa.csv) of the original LLaQo repository's metadatas/ folder"
        )
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"metadata folder {folder} does not exist; pass --metadata DIR or set {METADATA_ENV}")
    return folder


def read_rows(csv_path: Path) -> list[dict[str, str]]:
    """All rows of a CSV table as strings (empty cells are ""), in file order.

    Raises:
        FileNotFoundError: the table is missing.
    """
    if not csv_path.is_file():
        raise FileNotFoundError(f"QA table {csv_path} not found; is the metadata folder the right one?")
    with csv_path.open(newline="", encoding="utf-8") as handle:
        return [{key: value or "" for key, value in row.items()} for row in csv.DictReader(handle)]


def _require_columns(spec: DatasetSpec, rows: list[dict[str, str]]) -> None:
    if not rows:
        return
    wanted = {spec.audio_column, spec.question_column, spec.answer_column}
    if spec.split_column is not None:
        wanted.add(spec.split_column)
    missing = sorted(wanted - rows[0].keys())
    if missing:
        raise ValueError(f"{spec.name}: table {spec.csv} lacks columns {missing}; it has {sorted(rows[0])}")


def _row_splits(spec: DatasetSpec, rows: list[dict[str, str]], seed: int) -> list[str]:
    if spec.split_column is not None:
        return [normalize_split(row[spec.split_column], spec.name) for row in rows]
    by_recording = assign_splits((spec.relative_audio_path(row) for row in rows), seed=seed)
    return [by_recording[spec.relative_audio_path(row)] for row in rows]


def samples_from_rows(
    spec: DatasetSpec, rows: list[dict[str, str]], audio_root: Path, seed: int = DEFAULT_SEED
) -> list[Sample]:
    """Turn table rows into Samples, in row order (NeuroPiano rows yield two samples each).

    Args:
        spec: the table's description.
        rows: the table's rows, as ``read_rows`` returns them.
        audio_root: the user's audio root; audio is expected at ``audio_root / spec.name / relative path``.
        seed: seeds the split of a table without a split column.
    """
    _require_columns(spec, rows)
    samples: list[Sample] = []
    for row, split in zip(rows, _row_splits(spec, rows, seed), strict=True):
        question, answer = row[spec.question_column].strip(), row[spec.answer_column].strip()
        sample = Sample(
            audio_path=audio_root / spec.name / spec.relative_audio_path(row),
            question=question,
            answer=answer,
            dataset=spec.name,
            split=split,
            task=infer_task(question, answer),
        )
        samples.extend(spec.expand(sample, row) if spec.expand is not None else (sample,))
    return samples


def load_dataset(
    spec: DatasetSpec,
    metadata_dir: Path,
    audio_root: Path,
    splits: Collection[str] = SPLITS,
    seed: int = DEFAULT_SEED,
) -> list[Sample]:
    """The samples of one table that fall in ``splits``, in row order.

    Args:
        spec: which table.
        metadata_dir: the folder holding the tables (``resolve_metadata_dir``).
        audio_root: the folder holding one audio folder per dataset.
        splits: any of ``SPLITS``.
        seed: seeds the split of a table without a split column.

    Raises:
        FileNotFoundError: the table is missing.
        ValueError: a column is missing, a split is unknown, or an audio path cannot be mapped.
    """
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown splits {sorted(unknown)}; choose from {SPLITS}")
    samples = samples_from_rows(spec, read_rows(metadata_dir / spec.csv), audio_root, seed)
    chosen = [sample for sample in samples if sample.split in splits]
    log.info("%s: %d of %d samples in splits %s", spec.name, len(chosen), len(samples), sorted(splits))
    return chosen


def load_datasets(
    specs: Iterable[DatasetSpec],
    metadata_dir: Path,
    audio_root: Path,
    splits: Collection[str] = SPLITS,
    seed: int = DEFAULT_SEED,
) -> dict[str, list[Sample]]:
    """``load_dataset`` for several tables, keyed by name; optional tables that are absent are skipped."""
    loaded: dict[str, list[Sample]] = {}
    for spec in specs:
        if spec.optional and not (metadata_dir / spec.csv).is_file():
            log.info("%s: optional table %s not found; skipped", spec.name, spec.csv)
            continue
        loaded[spec.name] = load_dataset(spec, metadata_dir, audio_root, splits, seed)
    return loaded
