"""The transcriber's second look at the notated notes the alignment left in doubt (hearing.second_look).

A notated note with no transcribed note of its pitch, while an earlier note of that pitch sounds on through its time
(align._rings_past), is either a key re-struck while it rang, which Transkun's decoding merged into one note, or a
note left out. The notes alone cannot tell these apart; Transkun's own posterior for an onset of that key at that
time can. Measured on the deviation benchmark's tuning half (bench/deviations.py, render and phone; a one-off script,
not committed) and the everyday FluidR3 tuning half: the 2 notes left out that the alignment excused so had an onset
posterior of 0.0001 and 0.0003, the 7 played ones 0.069 to 1.0. So such a note with a posterior under PLAYED_P was
left out: it is missed.

The same holds for a note on an overtone of a lower notated note struck with it whose band does not stand out of that
overtone (align.Alignment.masked: a FluidR3 chorale's soft F3 over its F2, the bands 7-18 dB under it whether the F3
was played or not: 6-22 dB under it on the everyday FluidR3 takes). Measured the same way (every such note of the
everyday FluidR3 tuning half and its phone copies, the deviation benchmark's renderings and phone copies, both halves;
/tmp/falseclean-work/probe.py, not committed): the 14 left out had a posterior of at most 0.0020; of the 27 played,
20 had 0.020 or more (the others 0.0005-0.0056), so PLAYED_P divides them too: such a note it hears struck is not
missed, one it does not hear is.

The same holds for two kinds of missed notes the bands half hear (align.Alignment.unsure; bench/RESULTS.md, branch
`clean8`): a repeat whose played note before it the transcriber ended just past the repeat's time (FluidR3 Alberti
basses' staccato repeats, merged: posterior 0.97-0.99; the deviation benchmark's left-out polonaise A-sharp 3,
whose note before it ran 65-67 ms past: 0.004-0.006), and a note whose band rises as a struck string's but too far
under its chord for the bands to decide (a chorale's soft inner F4: 0.46-0.94; the benchmark's left-out notes so:
at most 0.001). And for brief added notes (align.BURST_S): a phone's burst cut as notes 0.0000-0.0014, the
benchmark's short added keys 0.51-0.98.

Not rechecked, measured on the same takes: reported missed notes with no lower note's overtone on them (left out: at
most 0.0054, 37 notes; played: 0.0158 and up, 20 of 21), since on the benchmark's held-out phone copies, scored once,
treating those at 0.01 or more as played dropped 8 of the 27 true missed notes found (bench/RESULTS.md); notes the
bands excuse as heard (played ones down to 2e-4).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from llaqo.lite.alignment.passes import Pass
from llaqo.lite.alignment.score import Score
from llaqo.lite.hearing import second_look

PLAYED_P = 0.01  # between the left-out notes (at most 0.0003) and the played re-strikes (0.069 and up); see above
MAX_INPUTS = 2  # two model segments a take at most (bench/lite_speed.py's budget)


def recheck(found: list[Pass], score: Score, notes: np.ndarray, wave: np.ndarray, sample_rate: int) -> list[Pass]:
    """The passes with each alignment's notes in doubt re-decided by Transkun's onset posterior: those excused as held
    through that it does not hear struck join the missed notes; those masked by a lower note's overtone
    (align.Alignment.masked) or half heard (Alignment.unsure) that it hears struck leave them; brief added notes
    (Alignment.brief) it does not hear struck leave the added ones.

    found: passes.find_passes' passes of notes (N, 4) [onset_s, offset_s, pitch, velocity]; wave: (samples,) mono
    float32 at sample_rate, the take they align.
    A take whose held notes need more than MAX_INPUTS model inputs (a take of another piece, a page left out) keeps the
    alignment's decisions: the second look is for the few notes in doubt, not a second transcription. The masked,
    then the unsure notes, then the brief added ones are asked only where the ones before leave them room, each kind
    in inputs of its own (so a note's posterior is the one it had before the next kind was asked); unasked, each
    keeps the alignment's decision (held: not missed; masked, unsure: missed; brief: added).
    """
    kinds = (
        _asks(found, score, [p.alignment.held for p in found]),
        _asks(found, score, [p.alignment.masked for p in found]),
        _asks(found, score, [p.alignment.unsure for p in found]),
        [(k, int(i), int(notes[i, 2]), float(notes[i, 0])) for k, p in enumerate(found) for i in p.alignment.brief],
    )
    played, asked, used = set(), set(), 0  # (kind, pass, note) of the notes asked, and of those heard struck
    for kind, asks in enumerate(kinds):  # apart: a snippet's posterior depends on those it shares a model input with
        if used + _inputs(asks) > MAX_INPUTS:
            continue
        used += _inputs(asks)
        heard = second_look.onset_probabilities(wave, sample_rate, [(pitch, t) for _, _, pitch, t in asks])
        played |= {(kind, k, n) for (k, n, _, _), p in zip(asks, heard, strict=True) if p >= PLAYED_P}
        asked |= {(kind, k, n) for k, n, _, _ in asks}
    not_heard = asked - played  # asked, and not heard struck
    out = []
    for k, p in enumerate(found):
        a = p.alignment
        left_out = [int(s) for s in a.held if (0, k, int(s)) in not_heard]
        unheard = [
            int(s) for kind, doubt in ((1, a.masked), (2, a.unsure)) for s in doubt if (kind, k, int(s)) not in played
        ]
        missed = np.array(sorted([*a.missed, *left_out, *unheard]), dtype=int)
        bursts = {int(i) for i in a.brief if (3, k, int(i)) in not_heard}
        extra = np.array([i for i in a.extra if int(i) not in bursts], dtype=int)
        none = np.zeros(0, int)
        out.append(
            replace(
                p, alignment=replace(a, missed=missed, extra=extra, held=none, masked=none, unsure=none, brief=none)
            )
        )
    return out


def _asks(found: list[Pass], score: Score, doubt: list[np.ndarray]) -> list[tuple[int, int, int, float]]:
    """(pass, score note, pitch, performed time s) of each pass's notes in doubt (doubt: per pass, score note
    indices)."""
    return [
        (k, int(s), int(score.pitch[s]), float(p.alignment.time_of(score.onset_q[[s]])[0]))
        for k, (p, notes) in enumerate(zip(found, doubt, strict=True))
        for s in notes
    ]


def _inputs(asks: list[tuple[int, int, int, float]]) -> int:
    """The model inputs the second look at `asks` costs."""
    return -(-len(second_look.snippet_centres([t for _, _, _, t in asks])) // second_look.SNIPPETS_PER_INPUT)
