"""What kind of answer a question asks for, so evaluation can pick the authors' metric for it.

The original tables carry no task column, so we read it off the question. The patterns were checked against the
questions of all 11 tables (see tests/test_data.py) and are tried in order; the first match wins.
"""

from __future__ import annotations

import re

from llaqo.training.metrics import RATING_PATTERN

TECHNIQUE = "technique"  # one of seven technique words: macro P/R/F1 of the last word
EXPERTISE = "expertise"  # student or master: accuracy
COMPOSER = "composer"  # who wrote it: accuracy
DIFFICULTY = "difficulty"  # a 1-9 difficulty level: MAE
RATING = "rating"  # a number on a scale (quality, skill, NeuroPiano aspects): MAE and prompt following
OPEN = "open"  # verbal feedback: BLEU, METEOR, ROUGE-L, BERTScore
TASKS = (TECHNIQUE, EXPERTISE, COMPOSER, DIFFICULTY, RATING, OPEN)

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (TECHNIQUE, re.compile(r"\bpiano technique\b", re.IGNORECASE)),
    (EXPERTISE, re.compile(r"\bstudent or (?:a )?master\b", re.IGNORECASE)),
    # Only questions that ask for the composer alone; "what kind of music ... and who is the composer?" is open.
    (
        COMPOSER,
        re.compile(r"^(?:can you identify|could you guess|who (?:is likely|might be)) the composer", re.IGNORECASE),
    ),
    (DIFFICULTY, re.compile(r"\b(?:difficulty|complexity)\b", re.IGNORECASE)),
    (RATING, re.compile(r"\brate\b|\boverall score\b|\bskill level\b|\bscale of\b", re.IGNORECASE)),
)
_NUMERIC_TASKS = frozenset({DIFFICULTY, RATING})


def infer_task(question: str, answer: str) -> str:
    """The task of a QA pair: one of ``TASKS``; ``OPEN`` when no pattern matches.

    A difficulty or rating question whose reference answer holds no number ("How would you rate the tone
    production?" answered in words) is ``OPEN``: there is nothing to take an error of.
    """
    for task, pattern in _PATTERNS:
        if pattern.search(question):
            if task in _NUMERIC_TASKS and not RATING_PATTERN.search(answer):
                return OPEN
            return task
    return OPEN
