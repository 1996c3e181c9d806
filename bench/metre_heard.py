"""The tempo without a score from the transcriptions already cached: the notes heard_grid gives
llaqo.lite.hearing.metre, and the tempo at the beat it infers against truth's mean, its label against truth's.
A fast loop for the metre (seconds a set, not bench/lite_accuracy.py's minutes): takes not yet transcribed in the
cache are skipped, and said.

Usage: python bench/metre_heard.py PERFBENCH_DIR [...] [--cache /tmp/llaqo-transkun-cache/lite]
       [--notes /tmp/metre-notes]   (the heard notes of each take are kept there, so a rerun only infers the metre)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from common import perfbench_sets_args  # this folder is on the path of a script run from it
from lite_accuracy import OFF_LEVEL, cache_path, cached_transcriber, true_metre

from llaqo.lite import analysis
from llaqo.lite.hearing import metre, tempo


def heard_notes(audio: Path, cache: Path) -> np.ndarray | None:
    """(N, 4) the notes heard_grid infers the metre from, or None when the take's transcription is not cached."""
    wave = analysis.decode(audio)[1]
    if not cache_path(cache, wave).is_file():
        return None
    heard = analysis.hear(audio, transcriber=cached_transcriber(cache))
    return heard.notes[heard.levels >= np.percentile(heard.levels, 95) - analysis.METRE_RANGE_DB]


def main() -> None:
    args = perfbench_sets_args(__doc__, Path("/tmp/metre-notes"))
    errors, labels, skipped = [], [], []
    print(
        f"{'performance':<36} {'bpm found/true':>15} {'error %':>8} {'metre':>9} {'conf':>4}  "
        f"{'label found/true':<23} beat / other level"
    )
    for root in args.perfbench:
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            truth = json.loads((folder / "truth.json").read_text())
            kept = args.notes / root.name / f"{folder.name}.npy"
            if kept.is_file():
                notes = np.load(kept)
            else:
                notes = heard_notes(folder / truth.get("files", {}).get("audio", "audio.flac"), args.cache)
                if notes is None:
                    skipped.append(f"{root.name}/{folder.name}")
                    continue
                kept.parent.mkdir(parents=True, exist_ok=True)
                np.save(kept, notes)
            found = metre.infer_metre(notes)
            beats = found.beats if found is not None else np.zeros(0)
            heard = tempo.tempo_from_beats(tempo.smooth_beats(beats), None, "audio")
            bpm, label = heard.bpm, heard.label
            labels.append(label == truth["labels"]["tempo"])
            true_bpm = truth["tempo"]["mean_bpm"]
            errors.append(100 * abs(bpm - true_bpm) / true_bpm)
            signature, _ = true_metre(folder, truth)
            name = "-" if found is None else found.name
            level = "" if found is None else f"{found.beat_unit} / {found.alt_unit} x{found.alt_factor:.2f}"
            print(
                f"{root.name[:10] + '/' + folder.name[:25]:<36} {bpm:>7.1f}/{true_bpm:<7.1f} {errors[-1]:>8.1f} "
                f"{name + '/' + signature:>9} {0 if found is None else found.confidence:>4.2f}  "
                f"{label + '/' + truth['labels']['tempo']:<23} {level}"
            )
    errors = np.array(errors)
    print()
    print(f"| takes (not yet transcribed, skipped) | {len(errors)} ({len(skipped)}) |")
    if len(errors):
        print(f"| median tempo error without a score (%) | {np.median(errors):.2f} |")
        print(f"| takes off by > {OFF_LEVEL:.0f}% | {int((errors > OFF_LEVEL).sum())} of {len(errors)} |")
        print(f"| tempo label without a score | {sum(labels)} of {len(labels)} |")
    if skipped:
        print("skipped:", " ".join(skipped))


if __name__ == "__main__":
    main()
