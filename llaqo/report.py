"""A coaching session as a report to hand to a student: Markdown (plots embedded) or JSON."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from llaqo.protocol import AudioFacts


@dataclass
class Exchange:
    """One question and its answer, with the recording it was about."""

    recording: str
    question: str
    answer: str
    coach: str
    mode: str


@dataclass
class SessionReport:
    """Everything exported: the exchanges, and per recording its facts, measurements and plots."""

    exchanges: list[Exchange] = field(default_factory=list)
    facts: dict[str, AudioFacts] = field(default_factory=dict)
    measurements: dict[str, dict] = field(default_factory=dict)
    plots: dict[str, dict] = field(default_factory=dict)
    """recording -> {plot name: matplotlib Figure}."""


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
        for title, figure in report.plots.get(name, {}).items():
            lines += [f"![{title}](data:image/png;base64,{png_base64(figure)})", ""]
        if report.measurements.get(name):
            lines += ["<details><summary>Measurements (JSON)</summary>", "", "```json"]
            lines += [json.dumps(_without_notes(report.measurements[name]), indent=1), "```", "</details>", ""]
    return "\n".join(lines)


def _without_notes(measurements: dict) -> dict:
    """The note list is long and is in the JSON report; the Markdown keeps the summary numbers."""
    return {k: v for k, v in measurements.items() if k != "notes"}
