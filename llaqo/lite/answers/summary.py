"""A readable, few-line summary of an Analysis (the non-JSON `analyze` output and the app's overview)."""

from __future__ import annotations

from llaqo.lite.analysis import Analysis
from llaqo.lite.measures import key as keys
from llaqo.protocol import clock


def summary_lines(a: Analysis) -> list[str]:
    t, d = a.tempo, a.dynamics
    nominal = f" (notated {t.nominal_bpm:.0f})" if t.nominal_bpm else ""
    lines = [
        f"{a.name}: {a.duration_s:.1f} s, {a.sample_rate} Hz, {a.channels} channel(s), {len(a.notes)} notes detected",
        f"tempo: {t.label}, {t.bpm:.0f} BPM{nominal}, from {t.start_bpm:.0f} to {t.end_bpm:.0f}, "
        f"beat-to-beat variation {t.cv_pct:.1f}%",
        f"timing: onsets sit {a.timing_jitter_ms:.0f} ms (RMS) from "
        + ("their notated positions on the tempo curve" if a.score is not None else "an even grid"),
        f"dynamics: {d.label}, range {d.range_db:.1f} dB across {d.segment_name}s",
        f"articulation: {a.articulation.label}, {100 * a.articulation.short_share:.0f}% of notes detached",
        f"pedal: {a.pedal.label}, {100 * a.pedal.sustained_share:.0f}% of notes sounding past their written end, "
        f"{len(a.pedal.events)} presses heard, "
        f"{len(a.pedal.blurred_s)} of {len(a.pedal.changes_s)} harmony changes blurred",
    ]
    b, ch = a.balance, a.chords
    if b.source == "score":
        lines.append(f"balance: right hand {b.right_minus_left_db:+.1f} dB against the left (from the score's hands)")
    if b.melody_minus_accompaniment_db == b.melody_minus_accompaniment_db:  # not nan: a melody was heard
        lines.append(f"voicing: melody {b.melody_minus_accompaniment_db:+.1f} dB against the accompaniment")
    lines += [
        f"chords: {len(ch.chords)} chords, median spread {ch.median_spread_ms:.0f} ms, "
        f"{int(ch.chords[:, 3].sum()) if len(ch.chords) else 0} rolled",
        f"runs: {len(a.runs.runs)} fast runs, inter-onset variation {a.runs.cv_pct:.1f}%",
    ]
    if a.score is not None:
        s = a.score
        lines.append(
            f"score {s.name}: bars {s.performed_bars[0]}-{s.performed_bars[1]} played ({s.n_performed} of "
            f"{s.n_notated} notes), {s.accuracy_pct:.0f}% as written, "
            f"{len(s.wrong)} wrong, {len(s.missed)} missed, {len(s.extra)} extra"
        )
        for e in s.wrong:
            played, notated = (keys.spell(p, a.key) for p in (e.pitch, e.notated_pitch))
            lines.append(f"  wrong at {clock(e.time_s)} (bar {e.bar}): played {played}, notated {notated}")
    if a.key is not None:
        read = "from the score" if a.key.source == "score" else f"estimated from the {a.key.source}"
        lines.append(f"key: {a.key.name} ({read})")
    lines += [f"caution: {c}" for c in a.cautions]
    return lines
