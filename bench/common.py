"""What the benchmark scripts share: where perfbench is, and quiet output (only the results are printed).

Imported as `common`: the folder of a script run as `python bench/NAME.py` is on its path.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from pathlib import Path

import numpy as np

PERFBENCH_DEV = Path(__file__).resolve().parents[1].parent / "shared" / "perfbench" / "dev"
"""The dev set, beside the project's folder (../shared/perfbench/dev), as the README's setup places it."""


def quiet() -> None:
    """Log warnings and worse only, and ignore Python's warnings (the libraries' deprecations would bury the rows)."""
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")


def perfbench_args(doc: str) -> argparse.Namespace:
    """quiet(), then the command line of a script over a perfbench set: --perfbench (default: the dev set) and
    --cache (the transcriptions kept by audio hash, shared by the scripts and the sessions)."""
    quiet()
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--perfbench", type=Path, default=PERFBENCH_DEV)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/llaqo-transkun-cache/lite"))
    return parser.parse_args()


def perfbench_sets_args(doc: str, notes: Path) -> argparse.Namespace:
    """quiet(), then the command line of a fast loop over several perfbench sets' cached transcriptions: the sets
    (each must be a folder), --cache (as perfbench_args) and --notes (where each take's heard notes are kept;
    default `notes`)."""
    quiet()
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("perfbench", type=Path, nargs="+")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/llaqo-transkun-cache/lite"))
    parser.add_argument("--notes", type=Path, default=notes)
    args = parser.parse_args()
    for root in args.perfbench:
        if not root.is_dir():
            parser.error(f"no perfbench folder at {root}")
    return args


def one_key_at_a_time(notes: np.ndarray) -> np.ndarray:
    """Notes (N, 4) [onset_s, offset_s, pitch, velocity] -> a copy where a note lasts at most until its key is
    struck again. In a MIDI file a key struck again before its previous note's release has that release come
    after the new strike, and the synthesiser ends the new note there (2-12 ms after it began: 4 of the everyday
    set's FluidR3 tuning takes lost a notated note so, which the truth still lists as played)."""
    out = np.array(notes, dtype=float, copy=True)
    for pitch in np.unique(out[:, 2]):
        idx = np.flatnonzero(out[:, 2] == pitch)
        idx = idx[np.argsort(out[idx, 0], kind="stable")]
        out[idx[:-1], 1] = np.minimum(out[idx[:-1], 1], out[idx[1:], 0])
    return out
