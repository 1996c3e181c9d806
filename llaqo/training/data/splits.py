"""Train/valid/test splits: the tables' own split column where there is one, else a seeded split by recording."""

from __future__ import annotations

import random
from collections.abc import Iterable

TRAIN, VALID, TEST = "train", "valid", "test"
SPLITS = (TRAIN, VALID, TEST)

# The tables write "val" (CIPI, techniques) and NeuroPiano writes "eval" for its held-out half,
# which the authors evaluated on; all of them map onto our three names.
SPLIT_ALIASES = {
    "train": TRAIN,
    "val": VALID,
    "valid": VALID,
    "validation": VALID,
    "test": TEST,
    "eval": TEST,
}

DEFAULT_SEED = 42  # the seed of the original training run
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)  # train, valid, test for tables without a split column


def normalize_split(value: str, dataset: str) -> str:
    """Map a table's split value onto ``SPLITS``.

    Raises:
        ValueError: the value is none of ``SPLIT_ALIASES``.
    """
    key = value.strip().lower()
    if key not in SPLIT_ALIASES:
        raise ValueError(f"{dataset}: unknown split {value!r}; expected one of {sorted(SPLIT_ALIASES)}")
    return SPLIT_ALIASES[key]


def assign_splits(
    recordings: Iterable[str], seed: int = DEFAULT_SEED, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> dict[str, str]:
    """Split recordings (not rows) so that no recording's questions leak across splits.

    The result depends only on the set of recordings and the seed, not on the order of the rows.

    Args:
        recordings: recording identifiers (relative audio paths); duplicates are fine.
        seed: seeds the shuffle.
        fractions: shares of train, valid and test; they must sum to 1.

    Returns:
        recording -> one of ``SPLITS``.
    """
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"split fractions {fractions} must be non-negative and sum to 1")
    ordered = sorted(set(recordings))
    random.Random(seed).shuffle(ordered)
    n_train = round(fractions[0] * len(ordered))
    n_valid = round(fractions[1] * len(ordered))
    return {
        recording: TRAIN if i < n_train else VALID if i < n_train + n_valid else TEST
        for i, recording in enumerate(ordered)
    }
