"""`python -m llaqo analyze AUDIO [--score FILE] [--json]`: the Lite measurements on the command line, and
`python -m llaqo ask --backend lite`: the Lite coach's answers.

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

    try:
        result = analyze(args.audio, args.score)
    except (AudioError, ScoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print("\n".join(summary_lines(result)))
    return 0


def run_ask(audio: str, questions: list[str], score: str | None, as_json: bool) -> int:
    """`python -m llaqo ask --backend lite`: the questions answered in order, each a follow-up of the last."""
    from llaqo.lite.coach import LiteCoach
    from llaqo.protocol import Turn

    coach = LiteCoach(warm_up=False)
    try:
        clip = coach.prepare(audio, score_path=score)
    except (AudioError, ScoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    history: list[Turn] = []
    for question in questions:
        if len(questions) > 1 and not as_json:
            print(f"> {question}", flush=True)
        text = "".join(coach.answer(clip, question, history))
        history.append(Turn(question, text))
        print(json.dumps({"question": question, "text": text}) if as_json else text, flush=True)
    return 0
