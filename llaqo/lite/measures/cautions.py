"""What limits what a take can tell: a live room and a recorder's gain, few notes, a short or a quiet recording.

Each caution is a clause that the answers cite as a note, so a teacher knows how far to trust the labels.
"""

from __future__ import annotations

import numpy as np

from llaqo.lite.measures import dynamics

FEW_NOTES = 30  # below this many notes the statistics are weak and answers hedge
SHORT_S = 8.0  # recordings shorter than this give few beats; answers hedge
QUIET_DBFS = -40.0  # a take whose loud moments (95th percentile RMS) stay below this is very quiet; answers hedge


def gain_caution(dyn: dynamics.Dynamics) -> str:
    """What a recorder's automatic gain leaves of the dynamics of a live take."""
    evens = "a recorder's automatic gain evens out loudness (a phone's kept about 40% of each change in dB in tests)"
    if dyn.through_gain:
        return f"{evens}, so the {dyn.label} dynamics were read with an estimate of that gain taken out"
    # measures.dynamics read these levels as recorded: the gain may have made steps and contrasts smaller.
    return f"{evens}, so steps and contrasts may have been played larger than the {dyn.label} dynamics heard here"


def cautions(notes: np.ndarray, duration_s: float, dyn: dynamics.Dynamics, live: bool) -> list[str]:
    """(N, 4) notes, the duration in s, the Dynamics and whether the room is live -> what limits this take's
    measurements, each a clause the answers cite ("Note: ...")."""
    out = []
    if live:
        out.append(
            "the room's echo or the recorder's automatic gain carries the sound on, so note ends and pedal changes "
            "are harder to hear"
        )
        out.append(gain_caution(dyn))
    elif dyn.through_gain:  # a phone in a dry room: no echo, but its gain (hearing.room.Room.near_floor)
        out.append(gain_caution(dyn))
    if len(notes) < FEW_NOTES:
        out.append(f"only {len(notes)} notes were detected, so the statistics are rough")
    if duration_s < SHORT_S:
        out.append(f"the recording is short ({duration_s:.1f} s), so tempo and dynamics trends are uncertain")
    if len(dyn.curve) and float(np.percentile(dyn.curve[:, 1], 95)) < QUIET_DBFS:
        out.append("the recording is very quiet, so soft notes may have been missed")
    return out
