"""What the app's panels show, as plain functions of the evidence: the overview, the heard-window timeline,
the banner, and the Settings accordion's values as decoding Settings."""

from __future__ import annotations

from llaqo import report
from llaqo.protocol import Coach, Evidence, Settings, clock

MODES = {
    "Streaming, greedy": "greedy",
    "Streaming, sampling": "sample",
    "Faithful (the original's 5-beam search)": "faithful",
}
SCOPES = {"One window": "window", "Whole recording": "whole"}


def overview(evidence: Evidence | None, coach: Coach) -> str:
    """The Overview tab: audio facts, the window heard, and the headline measurements."""
    if evidence is None:
        return "Upload or record a performance to see its measurements here."
    f = evidence.facts
    heard = f"{clock(f.heard_s[0])}–{clock(f.heard_s[1])}"
    lines = [
        f"**{report.escape(f.name)}**: {f.duration_s:.1f} s, {f.sample_rate} Hz, {f.channels} channel(s)",
        f"**{coach.name} heard:** {heard}",
    ]
    m = evidence.measurements
    if m:
        lines += [
            f"**Tempo:** {m['tempo']['bpm']:.0f} BPM, {m['tempo']['label']} (variation {m['tempo']['cv_pct']:.1f}%)",
            f"**Dynamics:** {m['dynamics']['label']}, range {m['dynamics']['range_db']:.1f} dB",
            f"**Articulation:** {m['articulation']['label']} · **Pedal:** {m['pedal']['label']}",
            f"**Notes detected:** {len(m['notes'])}",
        ]
        if "score" in m:
            s = m["score"]
            lines.append(
                f"**Against the score:** {len(s['wrong'])} wrong, {len(s['missed'])} missed, {len(s['extra'])} extra"
            )
    return "  \n".join(lines)


def ui_settings(
    mode: str,
    temperature: float,
    max_new_tokens: int,
    use_history: bool,
    scope: str = "One window",
    stride_s: float | None = 0.0,
) -> Settings:
    """The Settings accordion's values -> decoding Settings (0 tokens: the original's budget; 0 s stride:
    windows side by side)."""
    return Settings(
        mode=MODES.get(mode, "greedy"),
        temperature=temperature,
        max_new_tokens=int(max_new_tokens) or None,
        use_history=use_history,
        scope=SCOPES.get(scope, "window"),
        stride_s=float(stride_s or 0) or None,
    )


def timeline(evidence: Evidence | None, scope: str = "One window", stride_s: float | None = 0.0) -> str:
    """A bar for the recording with the part the model hears highlighted (HTML)."""
    if evidence is None:
        return ""
    f = evidence.facts
    whole = SCOPES.get(scope) == "whole"
    start, end = (0.0, f.duration_s) if whole else f.heard_s
    left, width = 100 * start / f.duration_s, 100 * max(end - start, 0.0) / f.duration_s
    if whole:
        stride = f"{stride_s:g} s" if stride_s else "the window's length"
        label = f"Heard: all {clock(f.duration_s)}, window by window, one starting every {stride}"
    else:
        label = f"Heard: {clock(start)}–{clock(end)} of {clock(f.duration_s)} (set by the start offset)"
    return (
        '<div style="background:#ddd;height:10px;border-radius:4px;position:relative">'
        f'<div style="position:absolute;left:{left:.2f}%;width:{width:.2f}%;height:10px;background:#e67e22;'
        f'border-radius:4px"></div></div><small>{label}</small>'
    )


def banner(coach: Coach) -> str:
    return f"### LLaQo piano coach · {coach.name} coach\n{coach.about}"
