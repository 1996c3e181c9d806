"""Instruction-tuning data: the QA tables, their splits, a seeded mixture, and a check of what a user has.

Audio is not decoded here; a collate step calls ``llaqo.audio`` on ``Sample.audio_path``.
"""

from llaqo.training.data.catalog import ALL_DATASETS, DATASETS
from llaqo.training.data.check import CheckReport, DatasetCheck, check
from llaqo.training.data.mixture import Mixture
from llaqo.training.data.neuropiano import NEUROPIANO
from llaqo.training.data.sample import Sample
from llaqo.training.data.specs import ORIGINAL_DATASETS, DatasetSpec
from llaqo.training.data.splits import SPLITS, assign_splits
from llaqo.training.data.tables import load_dataset, load_datasets, resolve_metadata_dir

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
