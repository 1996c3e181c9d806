"""The bar grid without a score, from the transcriptions already cached: how often bars would be cited on a grid
that is not the score's. For each take, llaqo.lite.hearing.metre on the notes heard_grid gives it, against
truth.json's bars: the time signature, the first downbeat (within 100 ms of the first notated one), the share of
heard downbeats within 100 ms of a notated one (the grid is the score's at 80%), and whether the grid is
confident (bars cited). A fast loop (seconds a set once the heard notes are kept) beside bench/lite_accuracy.py,
whose metre columns and rows it repeats.

Usage: python bench/bar_grid.py PERFBENCH_DIR [...] [--cache /tmp/llaqo-transkun-cache/lite]
       [--notes /tmp/bar-grid-notes]   (each take's heard notes and bars are kept there, keyed by the set's path)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from common import perfbench_sets_args  # this folder is on the path of a script run from it
from lite_accuracy import DOWNBEAT_TOLERANCE_S, GRID_ON_SCORE, on_score, true_metre
from metre_heard import heard_notes

from llaqo.lite.hearing import metre


def kept_take(folder: Path, kept: Path, cache: Path) -> tuple[np.ndarray, dict] | None:
    """-> (the heard notes (N, 4), {sig, first, truth}) of a take, kept under `kept`; None when not transcribed."""
    if kept.with_suffix(".npy").is_file():
        return np.load(kept.with_suffix(".npy")), json.loads(kept.with_suffix(".json").read_text())
    truth = json.loads((folder / "truth.json").read_text())
    notes = heard_notes(folder / truth.get("files", {}).get("audio", "audio.flac"), cache)
    if notes is None:
        return None
    signature, first = true_metre(folder, truth)
    facts = {"sig": signature, "first": first, "dynamics": truth["dynamics"]}
    kept.parent.mkdir(parents=True, exist_ok=True)
    np.save(kept.with_suffix(".npy"), notes)
    kept.with_suffix(".json").write_text(json.dumps(facts))
    return notes, facts


def main() -> None:
    args = perfbench_sets_args(__doc__, Path("/tmp/bar-grid-notes"))
    rows, wrong_grids = [], []
    for root in args.perfbench:
        sig = first = cited = wrong = 0
        takes = 0
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            kept = args.notes / str(root.resolve()).strip("/").replace("/", "_") / folder.name
            found_take = kept_take(folder, kept, args.cache)
            if found_take is None:
                continue
            notes, facts = found_take
            found = metre.infer_metre(notes)
            downbeats = [] if found is None else [float(t) for t in found.downbeats]
            confident = found is not None and found.confident
            takes += 1
            sig += found is not None and found.name == facts["sig"]
            first += bool(downbeats) and abs(downbeats[0] - facts["first"]) <= DOWNBEAT_TOLERANCE_S
            cited += confident
            wrong += confident and on_score(downbeats, facts) < GRID_ON_SCORE
            if confident and on_score(downbeats, facts) < GRID_ON_SCORE:
                wrong_grids.append(f"{root}/{folder.name} ({found.name}, confidence {found.confidence:.2f})")
        if takes:
            rows.append(
                f"| {root} | {takes} | {100 * sig / takes:.0f}% | {100 * first / takes:.0f}% | "
                f"{100 * cited / takes:.0f}% | {wrong} of {takes} |"
            )
    print("| set | takes | time signature | first downbeat within 100 ms | bars cited | cited on a wrong grid |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\nbars cited on a wrong grid (< 80% of its downbeats the score's):", *wrong_grids, sep="\n  ")


if __name__ == "__main__":
    main()
