"""`python -m llaqo history ...`: the local practice history on the command line.

    history save AUDIO [--score FILE] [--piece NAME] [--date ISO]   analyse a take and save its numbers
    history list [--piece NAME]                                    the pieces, or one piece's takes
    history progress PIECE [--question Q] [--plot FILE.png]        the trend, in words (and a plot)
    history export --format csv|json [--piece NAME] [--out FILE]   the takes as CSV or JSON
    history delete (--piece NAME | --take ID | --all)              forget takes

--db FILE (or LLAQO_HISTORY) picks the database; by default it lives in the user's data folder.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from llaqo.audio import AudioError
from llaqo.lite.alignment.score import ScoreError
from llaqo.lite.practice.history import History, HistoryError

EXIT_ERROR = 2
DEFAULT_QUESTION = "How have I improved?"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "history",
        help="the local practice history: save takes, list, follow progress, export, delete",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", help="the history database (default: $LLAQO_HISTORY, else the user data folder)")
    actions = parser.add_subparsers(dest="action", required=True)
    save = actions.add_parser("save", help="analyse a take and save its measurements (never the audio)")
    save.add_argument("audio")
    save.add_argument("--score", help="the piece's score (MIDI or MusicXML): recognises the piece and checks notes")
    save.add_argument("--piece", help="the piece's name (needed when the take matches a saved piece only roughly)")
    save.add_argument("--date", type=_date, help="when the take was played (ISO date or time; default now)")
    listing = actions.add_parser("list", help="the pieces, or the takes of one piece")
    listing.add_argument("--piece")
    trend = actions.add_parser("progress", help="how a piece's measurements changed across its takes")
    trend.add_argument("piece")
    trend.add_argument("--question", default=DEFAULT_QUESTION, help='e.g. "How have I improved since last week?"')
    trend.add_argument("--plot", help="also write the trend plot to this PNG file")
    export = actions.add_parser("export", help="print (or write) the takes as CSV or JSON")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--piece")
    export.add_argument("--out", help="write to this file instead of stdout")
    delete = actions.add_parser("delete", help="delete one take, one piece's takes, or everything")
    which = delete.add_mutually_exclusive_group(required=True)
    which.add_argument("--piece")
    which.add_argument("--take", type=int, metavar="ID")
    which.add_argument("--all", action="store_true")
    parser.set_defaults(func=run)
    return parser


def _date(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date such as 2026-11-21 or 2026-11-21T18:30") from err
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def run(args: argparse.Namespace) -> int:
    try:
        store = History(args.db)
        return ACTIONS[args.action](store, args)
    except (HistoryError, AudioError, ScoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR


def _save(store: History, args: argparse.Namespace) -> int:
    from llaqo.lite.analysis import analyze
    from llaqo.lite.practice.progress import save_take

    take = save_take(
        store, analyze(args.audio, args.score), args.audio, args.score, piece_name=args.piece, recorded_at=args.date
    )
    print(f"saved take {take.id} of {take.piece!r} ({take.recorded_at:%Y-%m-%d %H:%M})")
    return 0


def _list(store: History, args: argparse.Namespace) -> int:
    if args.piece is None:
        for piece in store.pieces():
            print(f"{piece.name}\t{piece.n_takes} take(s)")
        return 0
    takes = store.takes(args.piece)
    if not takes:
        raise HistoryError(f"no takes of {args.piece!r}; `history list` shows the pieces")
    for t in takes:
        h = t.headline
        acc = "-" if h.accuracy_pct is None else f"{h.accuracy_pct:.0f}%"
        print(
            f"{t.id}\t{t.recorded_at:%Y-%m-%d %H:%M}\t{h.name}\t{h.tempo_bpm:.0f} BPM\t{acc}\t"
            f"{h.evenness_ms:.0f} ms\t{h.range_db:.1f} dB\t{h.pedal_pct:.0f}% pedal\t{h.top_problem}"
        )
    return 0


def _progress(store: History, args: argparse.Namespace) -> int:
    from llaqo.lite.practice.progress import progress_sentences, trend_figure

    takes = store.takes(args.piece)
    if not takes:
        raise HistoryError(f"no takes of {args.piece!r}; `history list` shows the pieces")
    print(" ".join(progress_sentences(takes, args.question)))
    if args.plot:
        trend_figure(takes).savefig(args.plot, dpi=80)
    return 0


def _export(store: History, args: argparse.Namespace) -> int:
    text = store.export(args.format, args.piece)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _delete(store: History, args: argparse.Namespace) -> int:
    n = store.delete(piece=args.piece, take_id=args.take)
    print(f"deleted {n} take(s)")
    return 0


ACTIONS = {"save": _save, "list": _list, "progress": _progress, "export": _export, "delete": _delete}
