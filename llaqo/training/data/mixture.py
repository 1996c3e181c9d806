"""A seeded stream of samples drawn from several datasets, for a torch DataLoader.

The original training concatenated the train splits and sampled in proportion to size; that is the default here.
Given ``ratios``, each dataset is drawn with that weight instead. Within a dataset, samples come in a shuffled order
that is reshuffled when used up, so every sample is seen before any repeats. Audio is not decoded here: the
DataLoader's ``collate_fn`` does that with ``llaqo.audio`` (Samples are dataclasses, so pass one, or ``list``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence

from torch.utils.data import IterableDataset, get_worker_info

from llaqo.training.data.sample import Sample
from llaqo.training.data.splits import DEFAULT_SEED


class Mixture(IterableDataset[Sample]):
    """Draws ``num_samples`` samples per epoch from several datasets.

    With several DataLoader workers, worker k of n yields draws k, k+n, k+2n, ... of the same seeded stream, so
    the epoch is the same as with one worker, only interleaved by the DataLoader.
    """

    def __init__(
        self,
        datasets: Mapping[str, Sequence[Sample]],
        ratios: Mapping[str, float] | None = None,
        num_samples: int | None = None,
        seed: int = DEFAULT_SEED,
    ) -> None:
        """
        Args:
            datasets: name -> samples. Empty datasets are dropped.
            ratios: name -> relative weight (need not sum to 1); None weighs each dataset by its size.
            num_samples: draws per epoch; None is the total number of samples.
            seed: the stream depends only on it, the epoch and the datasets.
        """
        self.datasets = {name: list(samples) for name, samples in datasets.items() if samples}
        if not self.datasets:
            raise ValueError("Mixture needs at least one non-empty dataset")
        if ratios is None:
            weights = {name: float(len(samples)) for name, samples in self.datasets.items()}
        else:
            unknown = sorted(set(ratios) - set(self.datasets))
            if unknown:
                raise ValueError(f"ratios name datasets that are absent or empty: {unknown}")
            weights = {name: float(ratios.get(name, 0.0)) for name in self.datasets}
            if min(weights.values()) < 0 or sum(weights.values()) <= 0:
                raise ValueError(f"ratios must be non-negative with a positive sum, got {dict(ratios)}")
        total = sum(weights.values())
        self.probabilities = {name: weight / total for name, weight in weights.items()}
        self.num_samples = num_samples if num_samples is not None else sum(map(len, self.datasets.values()))
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch; each epoch has its own order. Call it before each epoch, as with DistributedSampler."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[Sample]:
        worker = get_worker_info()
        first, step = (0, 1) if worker is None else (worker.id, worker.num_workers)
        for index, sample in enumerate(self._stream()):
            if index % step == first:
                yield sample

    def _stream(self) -> Iterator[Sample]:
        rng = random.Random(f"{self.seed}-{self.epoch}")
        names = list(self.probabilities)
        weights = [self.probabilities[name] for name in names]
        orders: dict[str, list[int]] = {name: [] for name in names}
        for _ in range(self.num_samples):
            name = rng.choices(names, weights)[0]
            if not orders[name]:
                orders[name] = list(range(len(self.datasets[name])))
                rng.shuffle(orders[name])
            yield self.datasets[name][orders[name].pop()]
