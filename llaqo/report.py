"""A coaching session as a report to hand to a student: Markdown (plots embedded) or JSON."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from llaqo.protocol import AudioFacts, Passage


@dataclass
class Exchange:
    """One question and its answer, with the recording it was about."""

    recording: str
    question: str
    answer: str
    coach: str
    mode: str
    passages: list[dict] = field(default_factory=list)
    """The passages the answer cites: passage_json() plus "clip", the path of its audio clip."""


@dataclass
class SessionReport:
    """Everything exported: the exchanges, and per recording its facts, measurements and plots."""

    exchanges: list[Exchange] = field(default_factory=list)
    facts: dict[str, AudioFacts] = field(default_factory=dict)
    measurements: dict[str, dict] = field(default_factory=dict)
    plots: dict[str, dict] = field(default_factory=dict)
    """recording -> {plot name: matplotlib Figure}."""
    scores: dict[str, list[str]] = field(default_factory=dict)
    """recording -> the marked score's SVG pages (empty without a score)."""


def passage_json(passage: Passage) -> dict:
    """A cited passage as JSON: {"start_s", "end_s", "label", "bars": [first, last] or None}."""
    return {
        "start_s": round(passage.start_s, 3),
        "end_s": round(passage.end_s, 3),
        "label": passage.label,
        "bars": None if passage.bars is None else list(passage.bars),
    }


def cited_passage(passage: Passage, clip: str | Path) -> dict:
    """passage_json() with the path of the passage's audio clip."""
    return passage_json(passage) | {"clip": str(clip)}


def write_evidence(report: SessionReport, folder: str | Path) -> list[Path]:
    """Copy what the Markdown refers to next to it: the cited passages' clips and the marked scores' pages
    (name-score-1.svg, ...) -> the files, to hand out with the report."""
    import shutil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for exchange in report.exchanges:
        for passage in exchange.passages:
            source = Path(passage["clip"])
            if source.is_file():
                target = folder / source.name
                if not target.exists():
                    shutil.copyfile(source, target)
                if target not in out:
                    out.append(target)
    for name, pages in report.scores.items():
        for i, page in enumerate(pages, 1):
            target = folder / f"{Path(name).stem}-score-{i}.svg"
            target.write_text(page, encoding="utf-8")
            out.append(target)
    return out


def svg_base64(svg: str) -> str:
    return base64.b64encode(svg.encode()).decode()


def png_base64(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode()


def to_json(report: SessionReport) -> str:
    recordings = {}
    for name, facts in report.facts.items():
        recordings[name] = {
            "facts": asdict(facts),
            "measurements": report.measurements.get(name, {}),
            "plots_png_base64": {k: png_base64(f) for k, f in report.plots.get(name, {}).items()},
            "score_svg_pages": report.scores.get(name, []),
        }
    data = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "exchanges": [asdict(e) for e in report.exchanges],
        "recordings": recordings,
    }
    return json.dumps(data, indent=1)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def to_markdown(report: SessionReport) -> str:
    lines = ["# Piano coaching session", "", f"_{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC_", ""]
    for name, facts in report.facts.items():
        heard = f"{_clock(facts.heard_s[0])}-{_clock(facts.heard_s[1])}"
        lines += [
            f"## {name}",
            "",
            f"{facts.duration_s:.1f} s, {facts.sample_rate} Hz, {facts.channels} channel(s); the coach heard {heard}.",
            "",
        ]
        for exchange in (e for e in report.exchanges if e.recording == name):
            lines += [f"**Q:** {exchange.question}", "", f"**A ({exchange.coach}):** {exchange.answer}", ""]
            for passage in exchange.passages:
                clip = Path(passage["clip"]).name
                span = f"{_clock(passage['start_s'])}-{_clock(passage['end_s'])}"
                lines.append(f"- Listen to {passage['label']} ({span}): [{clip}]({clip})")
            if exchange.passages:
                lines.append("")
        for i, page in enumerate(report.scores.get(name, []), 1):
            lines += [f"![Score, marked, page {i}](data:image/svg+xml;base64,{svg_base64(page)})", ""]
        for title, figure in report.plots.get(name, {}).items():
            lines += [f"![{title}](data:image/png;base64,{png_base64(figure)})", ""]
        if report.measurements.get(name):
            lines += ["<details><summary>Measurements (JSON)</summary>", "", "```json"]
            lines += [json.dumps(_without_notes(report.measurements[name]), indent=1), "```", "</details>", ""]
    return "\n".join(lines)


def _without_notes(measurements: dict) -> dict:
    """The note list is long and is in the JSON report; the Markdown keeps the summary numbers."""
    return {k: v for k, v in measurements.items() if k != "notes"}
