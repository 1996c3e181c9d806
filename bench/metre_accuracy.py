"""The metre inferred from perfect notes: llaqo.lite.hearing.metre on the notes in truth.json (what was played), as a
stand-in for a near-perfect transcriber, without the audio. bench/lite_accuracy.py measures the real pipeline.

Usage: python bench/metre_accuracy.py PERFBENCH_DIR [PERFBENCH_DIR ...]
Per take: the tempo at the inferred beat against truth's mean, the time signature against score.mid's, the first
inferred downbeat against the first notated one at or after the first note, the bar grid's confidence and the
tempo label from the inferred beats.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from lite_accuracy import (  # this folder is on the path of a script run from it
    DOWNBEAT_TOLERANCE_S,
    OFF_LEVEL,
    true_metre,
)

from llaqo.lite.hearing import metre, tempo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("perfbench", type=Path, nargs="+")
    args = parser.parse_args()
    errors, metres, downbeats, labels = [], [], [], []
    print(f"{'performance':<36} {'bpm found/true':>15} {'metre':>9} {'downbeat':>8} {'conf':>4}  tempo label")
    for root in args.perfbench:
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            truth = json.loads((folder / "truth.json").read_text())
            notes = np.array(truth["notes"], dtype=float)
            found = metre.infer_metre(notes[np.argsort(notes[:, 0], kind="stable")])
            measured = tempo.tempo_from_beats(tempo.smooth_beats(found.beats), None, "audio")
            true_bpm = truth["tempo"]["mean_bpm"]
            signature, first_down = true_metre(folder, truth)
            down_err = abs(found.downbeats[0] - first_down)
            errors.append(100 * abs(measured.bpm - true_bpm) / true_bpm)
            metres.append(found.name == signature)
            downbeats.append(bool(down_err <= DOWNBEAT_TOLERANCE_S))
            labels.append(measured.label == truth["labels"]["tempo"])
            print(
                f"{root.name[:10] + '/' + folder.name[:25]:<36} {measured.bpm:>7.1f}/{true_bpm:<7.1f} "
                f"{found.name + '/' + signature:>9} {1000 * down_err:>6.0f}ms {found.confidence:>4.2f}  "
                f"{measured.label}/{truth['labels']['tempo']}"
            )
    errors = np.array(errors)
    print()
    print(f"| takes | {len(errors)} |")
    print(f"| median tempo error at the inferred beat (%) | {np.median(errors):.2f} |")
    print(f"| takes off by > {OFF_LEVEL:.0f}% | {int((errors > OFF_LEVEL).sum())} |")
    print(f"| time signature as the score's | {100 * np.mean(metres):.0f}% |")
    print(f"| first downbeat within {1000 * DOWNBEAT_TOLERANCE_S:.0f} ms | {100 * np.mean(downbeats):.0f}% |")
    print(f"| tempo label | {100 * np.mean(labels):.0f}% |")


if __name__ == "__main__":
    main()
