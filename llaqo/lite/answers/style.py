"""What the music asks of the tempo: whether a piece invites rubato, so that the advice does not count a
flexible tempo as a fault where the style asks for one (a mazurka, a nocturne, a slow waltz).

Read from the score's title or tempo words when the file gives them; without them, from the metre and the
texture: a dance in three over a pedalled accompaniment (the waltz, the mazurka) breathes with the phrase,
where a minuet or a march without pedal keeps its beat.
"""

from __future__ import annotations

import re

# Titles and tempo words of music that asks for a flexible tempo.
RUBATO_WORDS = re.compile(
    r"\b(mazur\w*|nocturne|notturno|waltz|valse|walzer|ballade|berceuse|romance|romanze|barcarolle|"
    r"song without words|lied ohne worte|rubato|espressivo|cantabile|lento|adagio|larghetto)\b",
    re.IGNORECASE,
)
PEDALLED_SHARE = 0.5  # this share of notes sounding past their written end: a pedalled, singing texture


def invites_rubato(doc: dict) -> str | None:
    """The analysis JSON -> why the music asks for rubato ("a waltz", "a dance in three over a pedalled
    accompaniment"), or None when it asks for a steady beat."""
    s = doc.get("score") or {}
    named = RUBATO_WORDS.search(" ".join(str(s.get(k) or "") for k in ("title", "tempo_text")))
    if named:
        word = named.group(1).lower()
        return f"a piece marked {word}" if word in ("rubato", "espressivo", "cantabile") else f"a {word}"
    pedalled = doc["pedal"]["sustained_share"] >= PEDALLED_SHARE and doc["pedal"]["label"] != "none"
    if pedalled and _beats_per_bar(doc) == 3:
        return "a dance in three over a pedalled accompaniment"
    return None


def _beats_per_bar(doc: dict) -> int | None:
    """Beats in a bar: the heard metre's numerator without a score (6/8 counts 6 eighths, not 3), the score bars'
    median length in beats with one; None when neither is known."""
    metre = doc.get("metre")
    if metre and re.fullmatch(r"\d+/\d+", metre.get("name") or ""):
        return int(metre["name"].split("/")[0])
    bars = [b for b in (doc.get("score") or {}).get("bars", []) if b.get("bpm")]
    if not bars:
        return None
    beats = sorted((b["end_s"] - b["start_s"]) * b["bpm"] / 60 for b in bars)
    return round(beats[len(beats) // 2])
