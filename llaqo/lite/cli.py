"""`python -m llaqo analyze AUDIO [--score FILE] [--json]`: the Lite measurements on the command line.

add_parser() plugs the subcommand into llaqo.cli; the handler returns an exit code. The JSON contract is in
the README ("The Lite coach and python -m llaqo analyze").
"""

from __future__ import annotations

import argparse
import json
import sys

from llaqo.audio import AudioError
from llaqo.lite.score import ScoreError

EXIT_BAD_INPUT = 2


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "analyze",
        help="measure a recording (notes, tempo, dynamics, articulation, pedal; errors against a score)",
        description="Measure a piano recording with the Lite analysis. No checkpoints or GPU needed.",
    )
    parser.add_argument("audio", help="recording: wav, flac, mp3, ogg/opus, webm or m4a")
    parser.add_argument("--score", help="optional score (MIDI or MusicXML) to find wrong, missed and extra notes")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from llaqo.lite.analysis import analyze
    from llaqo.lite.summary import summary_lines

    bar = ProgressBar()
    try:
        result = analyze(args.audio, args.score, progress=bar)
    except (AudioError, ScoreError) as err:
        bar.close()
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    bar.close()
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print("\n".join(summary_lines(result)))
    return 0


class ProgressBar:
    """A transcription progress callback drawing a bar on stderr (cleared when done, so stdout stays clean)."""

    def __init__(self):
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=total, desc="transcribing", unit="segment", file=sys.stderr, leave=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
