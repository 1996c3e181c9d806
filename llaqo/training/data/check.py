"""Which tables and recordings a user has: rows per dataset and how many find their audio under the root."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from llaqo.training.data.catalog import ALL_DATASETS
from llaqo.training.data.specs import DatasetSpec
from llaqo.training.data.tables import read_rows, samples_from_rows


@dataclass(frozen=True)
class DatasetCheck:
    """What one dataset has. ``rows`` counts samples: one per table row, two per NeuroPiano row."""

    name: str
    table: Path
    table_found: bool
    optional: bool
    rows: int = 0
    rows_with_audio: int = 0
    recordings: int = 0
    recordings_found: int = 0
    missing_examples: tuple[Path, ...] = ()
    """A few absent recordings, to show the user where the audio was expected."""

    @property
    def complete(self) -> bool:
        """Every row's audio is present (an absent optional table counts as complete)."""
        if not self.table_found:
            return self.optional
        return self.rows_with_audio == self.rows


@dataclass(frozen=True)
class CheckReport:
    """The per-dataset findings of ``check``."""

    root: Path
    metadata_dir: Path
    datasets: tuple[DatasetCheck, ...]

    @property
    def complete(self) -> bool:
        """Every required table is there and every row of every found table has its audio."""
        return all(dataset.complete for dataset in self.datasets)


MISSING_EXAMPLES = 3  # absent recordings shown per dataset


def check_dataset(spec: DatasetSpec, root: Path, metadata_dir: Path) -> DatasetCheck:
    """Count one table's rows and the rows whose recording exists under ``root``."""
    table = metadata_dir / spec.csv
    if not table.is_file():
        return DatasetCheck(spec.name, table, table_found=False, optional=spec.optional)
    samples = samples_from_rows(spec, read_rows(table), root)
    found = {path: path.is_file() for path in dict.fromkeys(sample.audio_path for sample in samples)}
    missing = [path for path, present in found.items() if not present]
    return DatasetCheck(
        name=spec.name,
        table=table,
        table_found=True,
        optional=spec.optional,
        rows=len(samples),
        rows_with_audio=sum(found[sample.audio_path] for sample in samples),
        recordings=len(found),
        recordings_found=len(found) - len(missing),
        missing_examples=tuple(missing[:MISSING_EXAMPLES]),
    )


def check(root: Path, metadata_dir: Path, specs: Iterable[DatasetSpec] = ALL_DATASETS) -> CheckReport:
    """Check every dataset of ``specs`` against the audio root; reads tables and stats files, decodes nothing."""
    return CheckReport(root, metadata_dir, tuple(check_dataset(spec, root, metadata_dir) for spec in specs))
