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

from llaqo.protocol import AudioFacts

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


@dataclass
class Recording:
    """One recording of the session: its distinct name, facts, measurements and plots."""

    name: str
    """The file name, with "(take N)" when earlier recordings of other content had the same file name."""
    facts: AudioFacts
    measurements: dict = field(default_factory=dict)
    plots: dict = field(default_factory=dict)
    """plot name -> matplotlib Figure."""


@dataclass
class SessionReport:
    """Everything exported: the exchanges, and the recordings by content hash, in the order they came."""

    exchanges: list[Exchange] = field(default_factory=list)
    recordings: dict[str, Recording] = field(default_factory=dict)

    def add(self, key: str, file_name: str, facts: AudioFacts, measurements: dict, plots: dict) -> Recording:
        """Record (or, for content seen before, update) a recording; returns it with its distinct name."""
        if key in self.recordings:
            name = self.recordings[key].name
        else:
            earlier = sum(r.facts.name == file_name for r in self.recordings.values())
            name = file_name if earlier == 0 else f"{file_name} (take {earlier + 1})"
        facts = AudioFacts(file_name, facts.duration_s, facts.sample_rate, facts.channels, facts.heard_s)
        self.recordings[key] = Recording(name, facts, measurements, plots)
        return self.recordings[key]


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


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def to_markdown(report: SessionReport) -> str:
    lines = ["# Piano coaching session", "", f"_{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC_", ""]
    for key, recording in report.recordings.items():
        facts = recording.facts
        heard = f"{_clock(facts.heard_s[0])}-{_clock(facts.heard_s[1])}"
        lines += [
            f"## {escape(recording.name)}",
            "",
            f"{facts.duration_s:.1f} s, {facts.sample_rate} Hz, {facts.channels} channel(s); the coach heard {heard}.",
            "",
        ]
        for exchange in (e for e in report.exchanges if e.recording == key):
            lines += [f"**Q:** {escape(exchange.question)}", "", f"**A ({exchange.coach}):** {exchange.answer}", ""]
        for title, figure in recording.plots.items():
            lines += [f"![{title}](data:image/png;base64,{png_base64(figure)})", ""]
        if recording.measurements:
            lines += ["<details><summary>Measurements (JSON)</summary>", "", "```json"]
            lines += [json.dumps(_without_notes(recording.measurements), indent=1), "```", "</details>", ""]
    return "\n".join(lines)


def _without_notes(measurements: dict) -> dict:
    """The note list is long and is in the JSON report; the Markdown keeps the summary numbers."""
    return {k: v for k, v in measurements.items() if k != "notes"}
