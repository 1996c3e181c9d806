"""A coaching session as a report to hand to a student: Markdown (plots embedded) or JSON.

Recordings are keyed by their content hash: every microphone recording arrives as `audio.wav`, so two
takes under one file name get distinct names ("audio.wav (take 2)") and their own facts and plots.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from llaqo.protocol import AudioFacts, Passage, clock

MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]#|~])")  # what starts emphasis, code, links, headings, tables


def escape(text: str) -> str:
    """User text (a file name, a question) as literal Markdown on one line: HTML's special characters as
    entities, so a name like `<img ...>` is not HTML, and Markdown's punctuation backslashed."""
    text = html.escape(" ".join(text.split()), quote=False)
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


@dataclass
class Exchange:
    """One question and its answer, with the recording it was about."""

    recording: str
    """The recording's content hash (a key of SessionReport.recordings)."""
    question: str
    answer: str
    coach: str
    mode: str
    passages: list[dict] = field(default_factory=list)
    """The passages the answer cites: passage_json() plus "clip", the path of its audio clip."""


@dataclass
class Recording:
    """One recording of the session: its distinct name, facts, measurements and plots."""

    name: str
    """The file name, with "(take N)" when earlier recordings of other content had the same file name."""
    facts: AudioFacts
    measurements: dict = field(default_factory=dict)
    plots: dict = field(default_factory=dict)
    """plot name -> matplotlib Figure."""
    score_pages: list[str] = field(default_factory=list)
    """The marked score's SVG pages (empty without a score)."""
    take: int = 1
    """1, or N for "(take N)": the Nth recording of other content under this file name."""

    @property
    def stem(self) -> str:
        """A file-name stem for what is cut or drawn from this recording, distinct between takes."""
        stem = self.facts.name.rsplit(".", 1)[0]
        return stem if self.take == 1 else f"{stem}-take-{self.take}"


@dataclass
class SessionReport:
    """Everything exported: the exchanges, and the recordings by content hash, in the order they came."""

    exchanges: list[Exchange] = field(default_factory=list)
    recordings: dict[str, Recording] = field(default_factory=dict)

    def add(self, key: str, file_name: str, facts: AudioFacts, measurements: dict, plots: dict) -> Recording:
        """Record (or, for content seen before, update) a recording; returns it with its distinct name."""
        if key in self.recordings:
            name, take = self.recordings[key].name, self.recordings[key].take
        else:
            take = 1 + sum(r.facts.name == file_name for r in self.recordings.values())
            name = file_name if take == 1 else f"{file_name} (take {take})"
        facts = AudioFacts(file_name, facts.duration_s, facts.sample_rate, facts.channels, facts.heard_s)
        self.recordings[key] = Recording(name, facts, measurements, plots, take=take)
        return self.recordings[key]


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
    for recording in report.recordings.values():
        for i, page in enumerate(recording.score_pages, 1):
            target = folder / f"{recording.stem}-score-{i}.svg"
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
    recordings = {
        key: {
            "name": r.name,
            "facts": asdict(r.facts),
            "measurements": r.measurements,
            "plots_png_base64": {k: png_base64(f) for k, f in r.plots.items()},
            "score_svg_pages": r.score_pages,
        }
        for key, r in report.recordings.items()
    }
    exchanges = [{**asdict(e), "recording_name": report.recordings[e.recording].name} for e in report.exchanges]
    data = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "exchanges": exchanges,
        "recordings": recordings,
    }
    return json.dumps(data, indent=1)


def to_markdown(report: SessionReport) -> str:
    lines = ["# Piano coaching session", "", f"_{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC_", ""]
    for key, recording in report.recordings.items():
        facts = recording.facts
        heard = f"{clock(facts.heard_s[0], 1)}-{clock(facts.heard_s[1], 1)}"
        lines += [
            f"## {escape(recording.name)}",
            "",
            f"{facts.duration_s:.1f} s, {facts.sample_rate} Hz, {facts.channels} channel(s); the coach heard {heard}.",
            "",
        ]
        for exchange in (e for e in report.exchanges if e.recording == key):
            lines += [f"**Q:** {escape(exchange.question)}", "", f"**A ({exchange.coach}):** {exchange.answer}", ""]
            for passage in exchange.passages:
                clip = Path(passage["clip"]).name
                span = f"{clock(passage['start_s'], 1)}-{clock(passage['end_s'], 1)}"
                lines.append(f"- Listen to {passage['label']} ({span}): [{clip}]({clip})")
            if exchange.passages:
                lines.append("")
        for i, page in enumerate(recording.score_pages, 1):
            lines += [f"![Score, marked, page {i}](data:image/svg+xml;base64,{svg_base64(page)})", ""]
        for title, figure in recording.plots.items():
            lines += [f"![{title}](data:image/png;base64,{png_base64(figure)})", ""]
        if recording.measurements:
            lines += ["<details><summary>Measurements (JSON)</summary>", "", "```json"]
            lines += [json.dumps(_without_notes(recording.measurements), indent=1), "```", "</details>", ""]
    return "\n".join(lines)


def _without_notes(measurements: dict) -> dict:
    """The note list is long and is in the JSON report; the Markdown keeps the summary numbers."""
    return {k: v for k, v in measurements.items() if k != "notes"}
