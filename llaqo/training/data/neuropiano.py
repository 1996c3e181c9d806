"""NeuroPiano (Hugging Face ``anusfoil/NeuroPiano-data``): teachers' ratings and comments on piano exercises.

It is not among the shared tables, so a user exports it into the metadata folder in this schema (one row per
teacher answer, UTF-8 CSV with a header):

    METADATA/NeuroPiano/audio_qa.csv
        fname               the recording's file name; the audio is at ROOT/NeuroPiano/<fname>
        q_eng               the question, in English
        a_eng               the teacher's answer, in English
        score               the teacher's rating, 0-6
        question_source_id  1-13; 1 and 2 are the overall questions ("What's good about this performance?")
        split               train or eval (eval becomes our test split)

These are the Hugging Face dataset's own column names. For example, with the ``datasets`` package:
``ds = load_dataset("anusfoil/NeuroPiano-data")``, write each row's ``audio`` to ``ROOT/NeuroPiano/<fname>`` and
``ds[split].remove_columns("audio").to_csv(...)`` with a ``split`` column added.

Like the original loader, each row yields two samples: the teacher's comment (q_eng -> a_eng) and a rating
question for the same aspect (-> score), both tagged with the question's category.
"""

from __future__ import annotations

import dataclasses
import logging

from llaqo.training.data.sample import Sample
from llaqo.training.data.specs import DatasetSpec, Row
from llaqo.training.data.tasks import RATING

log = logging.getLogger(__name__)

SUMMARY = "summary"
CATEGORIES = ("coordination", "articulation", "rhythm and tempo", "tone production", "dynamics", SUMMARY)
SUMMARY_SOURCE_IDS = frozenset({1, 2})  # the two overall questions: what is good, what is bad

# The eleven aspect questions, their category, and the noun phrase of their rating question. Category and wording
# are the original training data's, kept because the released checkpoint was tuned on them.
_ASPECTS: dict[str, tuple[str, str]] = {
    "is the legato even?": ("coordination", "if the legato is even"),
    "are the timings aligned on the left and right hands?": (
        "coordination",
        "the alignment of timings between the left and right hands",
    ),
    "are the note values uniform?": ("coordination", "the uniformity of the note values"),
    "are the lines connected?": ("articulation", "the connectivity of the lines"),
    "how clean is the attack?": ("articulation", "the cleanliness of the attack"),
    "is it played with the correct rhythm?": ("rhythm and tempo", "the correctness of the rhythm"),
    "is the tempo kept constant?": ("rhythm and tempo", "the consistency of the tempo"),
    "is it played with a sense of tonality?": ("tone production", "the sense of tonality"),
    "how solid is the sound?": ("tone production", "the solidity of the sound"),
    "is the dynamics change natural?": ("dynamics", "the naturalness of the dynamics change"),
    "are the left and right hands balanced?": ("dynamics", "the balance between the left and right hands"),
}
# The original prompts say "1 to 7" although scores run to 6; kept verbatim for checkpoint compatibility.
_SCALE = "on a scale of 1 to 7, 1 is the worst and 6 is the best, use the full scale as much as possible."
_RATING_TEMPLATE = "How would you rate {aspect}? " + _SCALE
_OVERALL_RATING = "How would you rate the overall performance, " + _SCALE


def category_of(question: str, source_id: int) -> str | None:
    """The category of a NeuroPiano question; None (and a warning) for a question we do not know."""
    if source_id in SUMMARY_SOURCE_IDS:
        return SUMMARY
    aspect = _ASPECTS.get(question.strip().lower())
    if aspect is None:
        log.warning("NeuroPiano: no category for question %r (question_source_id %d)", question, source_id)
        return None
    return aspect[0]


def rating_question(question: str, source_id: int) -> str:
    """The rating question the original asked for the aspect of ``question``."""
    aspect = _ASPECTS.get(question.strip().lower())
    if source_id in SUMMARY_SOURCE_IDS or aspect is None:
        return _OVERALL_RATING
    return _RATING_TEMPLATE.format(aspect=aspect[1])


def expand_row(sample: Sample, row: Row) -> tuple[Sample, ...]:
    """The comment sample and the rating sample of one NeuroPiano row, both with the question's category."""
    source_id = int(float(row["question_source_id"]))
    category = category_of(sample.question, source_id)
    comment = dataclasses.replace(sample, category=category)
    rating = dataclasses.replace(
        comment,
        question=rating_question(sample.question, source_id),
        answer=str(int(float(row["score"]))),
        task=RATING,
    )
    return comment, rating


NEUROPIANO = DatasetSpec(
    name="NeuroPiano",
    csv="NeuroPiano/audio_qa.csv",
    audio_column="fname",
    question_column="q_eng",
    answer_column="a_eng",
    expand=expand_row,
    optional=True,
)
"""The NeuroPiano table in the schema above; the loader treats ``fname`` as relative (empty cluster prefix)."""
