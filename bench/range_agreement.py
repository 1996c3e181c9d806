"""One take, one dynamic range: `dynamics.range_db` of every perfbench dev take measured with its score (its bars,
its notes) and without (the heard bars or beat groups, every note heard), beside the old max - min of the same
segment levels.

Usage: python bench/range_agreement.py [--perfbench ../shared/perfbench/dev] [--cache /tmp/llaqo-transkun-cache/lite]
"""

from __future__ import annotations

import numpy as np
from common import perfbench_args  # this folder is on the path of a script run from it
from lite_accuracy import cached_transcriber

from llaqo.lite.analysis import analyze


def main() -> None:
    args = perfbench_args(__doc__)
    transcriber = cached_transcriber(args.cache)
    print(f"{'performance':<36} {'max-min score/none':>18} {'range_db score/none':>19}")
    gaps = {"max-min": [], "range_db": []}
    for folder in sorted(p for p in args.perfbench.iterdir() if p.is_dir()):
        runs = [
            analyze(folder / "audio.flac", s, transcriber=transcriber).dynamics for s in (folder / "score.mid", None)
        ]
        spans = [float(np.ptp(d.segments[:, 2])) for d in runs]
        ranges = [d.range_db for d in runs]
        gaps["max-min"].append(abs(spans[0] - spans[1]))
        gaps["range_db"].append(abs(ranges[0] - ranges[1]))
        print(f"{folder.name:<36} {spans[0]:>8.1f} / {spans[1]:<7.1f} {ranges[0]:>9.1f} / {ranges[1]:<7.1f}")
    for name, g in gaps.items():
        print(f"{name}: with and without the score differ by {np.mean(g):.1f} dB on average, {max(g):.1f} dB at most")


if __name__ == "__main__":
    main()
