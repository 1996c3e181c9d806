"""Instruction-tuning data: the QA tables, their splits, a seeded mixture, and a check of what a user has.

Audio is not decoded here; a collate step calls ``llaqo.audio`` on ``Sample.audio_path``.
"""

from llaqo.data.catalog import ALL_DATASETS, DATASETS
from llaqo.data.check import CheckReport, DatasetCheck, check
from llaqo.data.mixture import Mixture
from llaqo.data.neuropiano import NEUROPIANO
from llaqo.data.sample import Sample
from llaqo.data.specs import ORIGINAL_DATASETS, DatasetSpec
from llaqo.data.splits import SPLITS, assign_splits
from llaqo.data.tables import load_dataset, load_datasets, resolve_metadata_dir

__all__ = [
    "ALL_DATASETS",
    "DATASETS",
    "NEUROPIANO",
    "ORIGINAL_DATASETS",
    "SPLITS",
    "CheckReport",
    "DatasetCheck",
    "DatasetSpec",
    "Mixture",
    "Sample",
    "assign_splits",
    "check",
    "load_dataset",
    "load_datasets",
    "resolve_metadata_dir",
]
