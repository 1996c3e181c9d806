"""`python -m llaqo analyze AUDIO [--score FILE] [--json] [--render DIR]`: the Lite measurements on the command
line, and `python -m llaqo ask --backend lite`: the Lite coach's answers.

add_parser() plugs the subcommand into llaqo.cli; the handler returns an exit code. The JSON contract is in
the README ("The Lite coach and python -m llaqo analyze").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from llaqo.audio import AudioError
from llaqo.lite.alignment.score import ScoreError

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
    parser.add_argument(
        "--render",
        metavar="DIR",
        help="write the evidence into DIR: the plots (PNG) and, with --score, the score marked with the errors (SVG)",
    )
    parser.add_argument(
        "--table", action="store_true", help="AUDIO is a folder of takes of one piece: print one row per take"
    )
    parser.add_argument("--csv", metavar="FILE", help="with --table: also write the table as CSV")
    parser.add_argument("--workers", type=int, help="with --table: processes (default: one per core)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.table or Path(args.audio).is_dir():
        return run_table(args)
    from llaqo.lite.analysis import analyze
    from llaqo.lite.answers.summary import summary_lines

    bar = ProgressBar()
    try:
        result = analyze(args.audio, args.score, progress=bar)
    except (AudioError, ScoreError) as err:
        bar.close()
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    bar.close()
    if args.render:
        try:
            written = render(result, args.score, args.render)
        except ScoreError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print("\n".join(f"wrote {path}" for path in written), file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print("\n".join(summary_lines(result)))
    return 0


def render(result, score_path: str | None, folder: str | Path) -> list[Path]:
    """Write an Analysis's plots (stem-tempo.png, ...) and, with a score, its marked pages (stem-score-1.svg, ...)
    into folder -> the paths written."""
    from llaqo.lite.evidence import notation, plots

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(result.name).stem
    written = []
    for name, figure in plots.figures(result).items():
        path = folder / f"{stem}-{name}.png"
        figure.savefig(path, dpi=100)
        written.append(path)
    if score_path is not None:
        written += notation.write_pages(notation.engrave(result), folder, stem)
    return written


def run_table(args: argparse.Namespace) -> int:
    """The class view: every recording in the folder analysed once, in parallel, as one table."""
    from tqdm import tqdm

    from llaqo.lite.practice import classview

    if not Path(args.audio).is_dir():
        print(f"error: {args.audio}: --table needs a folder of recordings", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        paths = classview.audio_files(args.audio)
        if args.score:
            from llaqo.lite.alignment.score import load_score

            load_score(args.score)  # a bad score is one error, not one per take
    except (FileNotFoundError, ScoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with tqdm(total=len(paths), desc="analysing takes", unit="take", file=sys.stderr) as bar:
        rows = classview.analyse_takes(paths, args.score, args.workers, lambda done, _: bar.update(done - bar.n))
    if args.csv:
        Path(args.csv).write_text(classview.to_csv(rows))
    if args.json:
        print(json.dumps([dict(zip(classview.COLUMNS, row.cells(), strict=True)) for row in rows]))
    else:
        print(classview.to_text(rows))
    return 0


def run_ask(files: list[str], questions: list[str], score: str | None, as_json: bool) -> int:
    """`python -m llaqo ask --backend lite`: for each recording, the questions answered in order, each a
    follow-up of the last; with several recordings, JSON lines name theirs under "audio"."""
    from llaqo.lite.coach import LiteCoach
    from llaqo.protocol import Turn

    coach = LiteCoach(warm_up=False)
    for audio in files:
        try:
            clip = coach.prepare(audio, score_path=score)
        except (AudioError, ScoreError) as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT
        named = {"audio": Path(audio).name} if len(files) > 1 else {}
        history: list[Turn] = []
        for question in questions:
            if (len(questions) > 1 or named) and not as_json:
                print(f"> {named.get('audio', '')}{': ' if named else ''}{question}", flush=True)
            answer = coach.answer(clip, question, history)
            text = "".join(answer)
            history.append(Turn(question, text, answer.passages))
            print(json.dumps({**named, "question": question, "text": text}) if as_json else text, flush=True)
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
