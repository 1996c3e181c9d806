"""The ``data`` subcommand: ``python -m llaqo data check ROOT [--metadata DIR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from llaqo.training.data.check import CheckReport, check
from llaqo.training.data.tables import METADATA_ENV, resolve_metadata_dir

EXIT_OK = 0
EXIT_INCOMPLETE = 1  # some table or recording is missing
EXIT_USAGE = 2  # the metadata folder, a table or the audio root cannot be used


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``data`` (with its ``check`` action) to the top-level CLI's subparsers."""
    parser = subparsers.add_parser("data", help="inspect the instruction-tuning datasets")
    actions = parser.add_subparsers(dest="data_command", required=True)
    check_parser = actions.add_parser(
        "check", help="count, per dataset, the QA rows and how many find their audio under ROOT"
    )
    check_parser.add_argument("root", type=Path, help="audio root, one folder per dataset (ROOT/Burgmuller/...)")
    check_parser.add_argument(
        "--metadata",
        metavar="DIR",
        default=None,
        help=f"folder of the QA tables (the original repository's metadatas/); default: ${METADATA_ENV}",
    )
    check_parser.set_defaults(func=run_check)
    return parser


def run_check(args: argparse.Namespace) -> int:
    """Print the check report; exit 0 when complete, 1 when a table or recording is missing, 2 on an error."""
    try:
        metadata_dir = resolve_metadata_dir(args.metadata)
    except FileNotFoundError as error:
        print(f"error: {error}")
        return EXIT_USAGE
    if not args.root.is_dir():
        print(f"error: audio root {args.root} is not a folder")
        return EXIT_USAGE
    try:
        report = check(args.root, metadata_dir)
    except ValueError as error:  # a table whose columns or paths do not fit its DatasetSpec
        print(f"error: {error}")
        return EXIT_USAGE
    print(format_report(report))
    return EXIT_OK if report.complete else EXIT_INCOMPLETE


def format_report(report: CheckReport) -> str:
    """A plain-text table of the report, with a few missing recordings per incomplete dataset."""
    lines = [
        f"audio root: {report.root}",
        f"metadata:   {report.metadata_dir}",
        "",
        f"{'dataset':<30}{'rows':>8}{'with audio':>12}{'recordings':>12}{'found':>8}  status",
    ]
    for dataset in report.datasets:
        if not dataset.table_found:
            status = "table not found (optional)" if dataset.optional else f"table not found: {dataset.table}"
            lines.append(f"{dataset.name:<30}{'-':>8}{'-':>12}{'-':>12}{'-':>8}  {status}")
            continue
        status = "ok" if dataset.complete else "audio missing"
        lines.append(
            f"{dataset.name:<30}{dataset.rows:>8}{dataset.rows_with_audio:>12}"
            f"{dataset.recordings:>12}{dataset.recordings_found:>8}  {status}"
        )
        lines.extend(f"{'':<4}missing: {path}" for path in dataset.missing_examples)
    lines.append("")
    lines.append("complete" if report.complete else "incomplete: see the rows above")
    return "\n".join(lines)
