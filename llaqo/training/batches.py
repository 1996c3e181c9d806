"""The fine-tuning's data: the training and evaluation samples a DataConfig names, and each process's share of
the seeded mixture, micro-batch by micro-batch (so a resumed run sees the batches the interrupted one would have).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import count, zip_longest
from pathlib import Path

from torch.utils.data import IterableDataset, get_worker_info

from llaqo.training.collate import read_csv
from llaqo.training.config import DataConfig
from llaqo.training.data import DATASETS, Mixture, Sample, load_datasets, resolve_metadata_dir


def training_samples(config: DataConfig) -> dict[str, list[Sample]]:
    """Dataset name -> the training samples (one entry, "csv", for a CSV)."""
    if config.csv is not None:
        return {"csv": read_csv(config.csv, split=config.split)}
    unknown = sorted(set(config.datasets) - set(DATASETS))
    if unknown:
        raise ValueError(f"unknown datasets {unknown}; choose from {sorted(DATASETS)}")
    specs = [DATASETS[name] for name in config.datasets]
    metadata = resolve_metadata_dir(config.metadata_dir)
    return load_datasets(specs, metadata, Path(config.audio_root), splits=(config.split,))


def evaluation_samples(config: DataConfig) -> list[Sample]:
    """The first `eval_samples` evaluation samples, or none when no evaluation data is configured."""
    if config.eval_csv is not None:
        samples = read_csv(config.eval_csv, split=config.eval_split)
    elif config.csv is not None:
        return []
    else:
        specs = [DATASETS[name] for name in config.datasets]
        metadata = resolve_metadata_dir(config.metadata_dir)
        loaded = load_datasets(specs, metadata, Path(config.audio_root), splits=(config.eval_split,))
        # Round robin over the tables, so a small evaluation set covers every task, not just the first table.
        samples = [s for group in zip_longest(*loaded.values()) for s in group if s is not None]
    return samples[: config.eval_samples]


class StepBatches(IterableDataset):
    """This process's micro-batches (lists of Samples), from micro-batch `start` on.

    Global micro-batch m is draws [m * B * P, (m + 1) * B * P) of the seeded Mixture stream, epoch after epoch;
    process r takes its r-th slice of B. The stream depends only on the seed, so a resumed run sees exactly the
    batches the interrupted one would have. DataLoader worker w of n yields micro-batches w, w + n, ...
    """

    def __init__(
        self, datasets: Mapping[str, Sequence[Sample]], ratios, batch_size: int, rank: int, world: int, seed: int
    ):
        self.mixture = Mixture(datasets, ratios, seed=seed)
        self.batch_size, self.rank, self.world = batch_size, rank, world
        self.start = 0

    def draws(self) -> Iterator[Sample]:
        for epoch in count():
            self.mixture.set_epoch(epoch)
            yield from self.mixture

    def __iter__(self) -> Iterator[list[Sample]]:
        worker = get_worker_info()
        first, step = (0, 1) if worker is None else (worker.id, worker.num_workers)
        stream = self.draws()
        size = self.batch_size * self.world
        for index in count():
            micro = [next(stream) for _ in range(size)]
            if index >= self.start and (index - self.start) % step == first:
                yield micro[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]
