"""Ten more everyday takes, all detached or mixed (issue 26's room work): the everyday tuning half has 5 such takes
of 22, the held-out half 11, and a phone in a room hides detached notes differently from legato ones. Textures and
pieces as bench/render_everyday.py's (its `take`), with seeds of their own (100-109), so no take repeats one of its
44. Writes outside the project:

    python bench/render_detached.py --out /tmp/room-extra/clean
    python ../shared/perfbench/make_phone.py /tmp/room-extra/clean /tmp/room-extra/phone
    python bench/lite_accuracy.py --perfbench /tmp/room-extra/phone
"""

from __future__ import annotations

import argparse
from pathlib import Path

from render_everyday import take  # this folder is on the path of a script run from it

SEED = 100
# (name, texture, time signature, beats a minute, pickup beats, tempo, dynamics, articulation, pedal): as in
# render_everyday.PIECES
PIECES = (
    ("x01_waltz", "waltz", (3, 4), 120, 0, "steady", "flat", "staccato", "none"),
    ("x02_waltz", "waltz", (3, 4), 140, 1, "steady", "terraced", "mixed", "none"),
    ("x03_march", "march", (2, 4), 104, 0, "steady", "flat", "staccato", "none"),
    ("x04_march", "march", (4, 4), 116, 0, "rubato", "crescendo", "mixed", "none"),
    ("x05_alberti", "alberti", (4, 4), 112, 0, "steady", "flat", "mixed", "none"),
    ("x06_jig", "jig", (6, 8), 104, 0, "steady", "flat", "mixed", "none"),
    ("x07_lyrical_eighths", "lyrical", (3, 8), 72, 0, "steady", "flat", "mixed", "none"),
    ("x08_waltz", "waltz", (3, 4), 160, 0, "steady", "flat", "mixed", "clean"),
    ("x09_alberti", "alberti", (3, 4), 100, 0, "steady", "flat", "staccato", "none"),
    ("x10_march", "march", (2, 4), 132, 1, "ritardando", "flat", "mixed", "clean"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    for k, spec in enumerate(PIECES):
        print(spec[0], take(spec, SEED + k, args.out), flush=True)


if __name__ == "__main__":
    main()
