"""A history writer for tests/test_history.py, in its own light module: spawned writer processes import it
without the test module's analysis stack."""

from __future__ import annotations

import numpy as np

from llaqo.lite.practice.headline import Headline
from llaqo.lite.practice.history import History

SAVES = 25  # takes each writer saves


def headline(i: int) -> Headline:
    return Headline(f"take-{i}.wav", 100.0 + i, 90.0, 30.0 - i, 10.0, 5.0, "none")


def random_print(seed: int) -> np.ndarray:
    chroma = np.random.default_rng(seed).random((12, 40)) + 1e-3
    return chroma / np.linalg.norm(chroma, axis=0)


def write_many(path: str, writer: int) -> None:
    store = History(path)
    for i in range(SAVES):
        store.save(headline(i), f"{writer}-{i}", random_print(i), score_hash="one-score", score_name="Etude")
