"""The Lite coach's shared thresholds: each limit that more than one module judges by, in one place.

A module's own constants stay in it, next to the code they tune; a limit lives here when two modules must agree
on it, for example the answers and the marked score on which bars departed from the tempo.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LiteConfig:
    """Limits the measurements, the answers, the advice, the marked score and the headline share."""

    jitter_even_ms: float = 20.0
    """Onsets within this RMS distance of their beat grid sound even (the answers, the advice, the headline)."""
    jitter_uneven_ms: float = 35.0
    """Beyond this RMS distance the unevenness is audible (the answers, the advice)."""
    tempo_departure: float = 0.06
    """A tempo this share or more off its reference departs from it: the answers compare the played tempo with
    the notated one, and the marked score shades the bars this far off the median bar tempo."""
    run_even_cv_pct: float = 8.0
    """Fast runs whose note spacing varies less than this (coefficient of variation, %) sound even."""
    run_uneven_cv_pct: float = 15.0
    """... and from this on, audibly uneven: the answers say so, and the advice suggests practising them."""
    slow_practice_share: float = 0.7
    """Slow practice at this share of the played tempo: the advice's metronome mark and the cited method."""
    flat_db: float = 8.0
    """Bar (or beat-group) levels spanning less than this sound flat (the dynamics label, the advice)."""
    matched_share: float = 0.5
    """A take of the scored piece, however rough, plays this share of its notes as written: below it (and below it
    of the notated notes) the analysis refuses the score as another piece's, and a single pass is aligned to its
    own bars only when they pair this share of its notes (alignment.passes)."""
    live_decay_s: float = 0.19
    """A take whose sound never falls 20 dB faster than this (and whose floor is near, hearing.room.Room.live) was
    heard through a live room and a recorder's automatic gain: articulation and dynamics read it with that in mind,
    and the answers say so. The everyday set's clean renderings fall 20 dB in 0.075-0.175 s, their phone copies
    mostly in 0.2-1.0 s."""


LITE = LiteConfig()
"""The thresholds the Lite coach judges by."""
