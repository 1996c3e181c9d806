"""What the benchmark scripts share: where perfbench is, and quiet output (only the results are printed).

Imported as `common`: the folder of a script run as `python bench/NAME.py` is on its path.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from pathlib import Path

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
