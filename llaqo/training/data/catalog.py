"""Every table LLaQo was tuned on, by name: the 11 original tables and NeuroPiano."""

from __future__ import annotations

from llaqo.training.data.neuropiano import NEUROPIANO
from llaqo.training.data.specs import ORIGINAL_DATASETS, DatasetSpec

ALL_DATASETS: tuple[DatasetSpec, ...] = (*ORIGINAL_DATASETS, NEUROPIANO)
DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in ALL_DATASETS}
