"""The authors' evaluation protocol as pure functions of predicted and reference answers (ORIGINAL.md).

- Ratings and difficulty: the rating of an answer is the first number in it (regex ``RATING_PATTERN``). An answer
  with no number did not follow the prompt: it counts against the prompt-following rate and is left out of the
  MAE, which is taken over the answers that hold a number.
- Techniques: macro precision, recall and F1 of the last word of the answer (lower-cased, punctuation removed).
- Student/master and composer: accuracy, read with keyword rules (``expertise_label``, ``composer_accuracy``).
- Verbal feedback: corpus BLEU-1..4 (nltk), METEOR (nltk, without the WordNet synonym stage, see ``meteor``),
  ROUGE-L F-measure (rouge-score), and BERTScore-F1 with roberta-large when ``bert-score`` and the model are on this
  machine (``bertscore_f1``; None otherwise).

Every function takes parallel sequences of predictions and references and raises ValueError when their lengths
differ or they are empty.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

RATING_PATTERN = re.compile(r"\b\d+(?:\.\d+)?\b")
"""The authors' regex: the first match in an answer is its rating."""

_WORD = re.compile(r"\w+(?:'\w+)?")  # tokens for BLEU and METEOR: words, keeping contractions whole
_PUNCTUATION = re.compile(r"[^\w\s]")

BLEU_ORDERS = 4
BERTSCORE_MODEL = "roberta-large"
BERTSCORE_LAYER = 17  # bert-score's default layer for roberta-large; it must be given when the model is a path


def _check_pairs(predictions: Sequence[object], references: Sequence[object]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("no predictions to score")


# --- ratings and difficulty ---------------------------------------------------------------------------------


def parse_rating(text: str) -> float | None:
    """The first number in ``text`` ("I'd give it 4.5 out of 5" -> 4.5), or None when there is none."""
    match = RATING_PATTERN.search(text)
    return float(match.group()) if match else None


@dataclass(frozen=True)
class RatingScores:
    """MAE over the answers that hold a number, and the share of answers that do."""

    mae: float | None
    """Mean absolute error over the answers that followed the prompt; None when none did."""
    following_rate: float
    """Share of answers that contain a number (the prompt-following rate)."""
    count: int
    """Answers scored."""
    followed: int
    """Answers that contain a number."""


def rating_scores(predictions: Sequence[str], references: Sequence[str | float]) -> RatingScores:
    """MAE and prompt-following rate of predicted ratings against reference ratings.

    Args:
        predictions: the model's answers.
        references: the reference ratings, as numbers or as answers holding a number.

    Raises:
        ValueError: a reference holds no number (it is not a rating question), or the inputs do not pair up.
    """
    _check_pairs(predictions, references)
    errors = []
    for prediction, reference in zip(predictions, references, strict=True):
        truth = float(reference) if isinstance(reference, int | float) else parse_rating(reference)
        if truth is None:
            raise ValueError(f"reference {reference!r} holds no number; it is not a rating")
        predicted = parse_rating(prediction)
        if predicted is not None:
            errors.append(abs(predicted - truth))
    return RatingScores(
        mae=sum(errors) / len(errors) if errors else None,
        following_rate=len(errors) / len(predictions),
        count=len(predictions),
        followed=len(errors),
    )


# --- techniques ---------------------------------------------------------------------------------------------


def last_word(text: str) -> str:
    """The last word of ``text``, lower-cased, punctuation removed ("It uses Arpeggios." -> "arpeggios")."""
    words = _PUNCTUATION.sub("", text.lower()).split()
    return words[-1] if words else ""


@dataclass(frozen=True)
class ClassificationScores:
    """Macro-averaged precision, recall and F1 (each the mean of the per-label values), and accuracy."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    labels: tuple[str, ...]
    """The labels averaged over: every label that occurs among the references or the predictions."""


def classification_scores(predicted: Sequence[str], true: Sequence[str]) -> ClassificationScores:
    """Macro P/R/F1 as scikit-learn's ``average="macro"`` with ``zero_division=0``.

    A label that is only predicted (a wrong word) counts with precision 0 and recall 0, as in scikit-learn.
    """
    _check_pairs(predicted, true)
    labels = tuple(sorted(set(true) | set(predicted)))
    precisions, recalls, f1s = [], [], []
    for label in labels:
        hits = sum(p == label and t == label for p, t in zip(predicted, true, strict=True))
        n_predicted = sum(p == label for p in predicted)
        n_true = sum(t == label for t in true)
        precision = hits / n_predicted if n_predicted else 0.0
        recall = hits / n_true if n_true else 0.0
        precisions.append(precision)
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return ClassificationScores(
        precision=sum(precisions) / len(labels),
        recall=sum(recalls) / len(labels),
        f1=sum(f1s) / len(labels),
        accuracy=sum(p == t for p, t in zip(predicted, true, strict=True)) / len(true),
        labels=labels,
    )


def technique_scores(predictions: Sequence[str], references: Sequence[str]) -> ClassificationScores:
    """Macro P/R/F1 of the last word of each answer against the last word of each reference."""
    return classification_scores([last_word(p) for p in predictions], [last_word(r) for r in references])


# --- student/master and composer ----------------------------------------------------------------------------

STUDENT, MASTER = "student", "master"
# The references phrase a master in many ways ("really advanced player. Possibly a pianist.", "mistake-free"), and
# "advanced piano student" is a master answer in the tables, so the master cues are looked for first.
_MASTER_CUES = re.compile(
    r"\b(?:master|advanced|pianist|professional|expert|virtuos\w*|mistake-free|free (?:from|of) errors)\b",
    re.IGNORECASE,
)
_STUDENT_CUES = re.compile(r"\b(?:student|novice|beginner|amateur|learner)\b", re.IGNORECASE)


def expertise_label(text: str) -> str | None:
    """``MASTER`` if the answer has a master cue, else ``STUDENT`` if it has a student cue, else None."""
    if _MASTER_CUES.search(text):
        return MASTER
    if _STUDENT_CUES.search(text):
        return STUDENT
    return None


def expertise_accuracy(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Share of answers whose student/master label equals the reference's; an answer with neither is wrong.

    Raises:
        ValueError: a reference has no student/master cue.
    """
    _check_pairs(predictions, references)
    correct = 0
    for prediction, reference in zip(predictions, references, strict=True):
        truth = expertise_label(reference)
        if truth is None:
            raise ValueError(f"reference {reference!r} names neither a student nor a master")
        correct += expertise_label(prediction) == truth
    return correct / len(predictions)


def _fold(text: str) -> str:
    """Lower-case and drop accents, so "FRÉDÉRIC" matches "Frederic"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


MIN_NAME_LENGTH = 4  # shorter words of a name are particles ("van", "von", "de") that prove nothing


def composer_names(reference: str) -> frozenset[str]:
    """The words of a reference composer that identify them: the surname words, accent-folded.

    "Chopin" -> {"chopin"}; "LUDWIG VAN BEETHOVEN" -> {"beethoven"}; "FELIX MENDELSSOHN BARTHOLDY" ->
    {"mendelssohn", "bartholdy"}: the first (given) name is dropped when there are several words.
    """
    words = re.findall(r"\w+", _fold(reference))
    surnames = words[1:] if len(words) > 1 else words
    return frozenset(word for word in surnames if len(word) >= MIN_NAME_LENGTH) or frozenset(words)


def composer_accuracy(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Share of answers that name the reference composer: any of ``composer_names(reference)`` is a word of it."""
    _check_pairs(predictions, references)
    correct = sum(
        bool(composer_names(reference) & set(re.findall(r"\w+", _fold(prediction))))
        for prediction, reference in zip(predictions, references, strict=True)
    )
    return correct / len(predictions)


# --- verbal feedback ----------------------------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, punctuation dropped, for BLEU and METEOR."""
    return _WORD.findall(text.lower())


def bleu(predictions: Sequence[str], references: Sequence[str]) -> tuple[float, ...]:
    """Corpus BLEU-1..4 (cumulative, uniform weights, no smoothing), one reference per prediction.

    Without smoothing, an order with no matching n-gram scores (practically) 0: nltk returns about 1e-78 and warns;
    the warning is silenced here because that is the documented behaviour.
    """
    from nltk.translate.bleu_score import corpus_bleu

    _check_pairs(predictions, references)
    hypotheses = [tokenize(p) for p in predictions]
    reference_lists = [[tokenize(r)] for r in references]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*The hypothesis contains 0 counts", category=UserWarning)
        return tuple(
            float(corpus_bleu(reference_lists, hypotheses, weights=tuple([1.0 / n] * n)))
            for n in range(1, BLEU_ORDERS + 1)
        )


class _NoSynonyms:
    """Stands in for nltk's WordNet reader: no synsets, so METEOR matches exact words and Porter stems only."""

    @staticmethod
    def synsets(word: str) -> list[object]:
        return []


def meteor(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean sentence METEOR (nltk's, alpha 0.9, beta 3, gamma 0.5) with exact and Porter-stem matching.

    nltk's third stage matches WordNet synonyms, but the WordNet corpus is a separate download that this project
    cannot rely on (and no maintained PyPI package ships it). The stage is left out, so scores can be slightly
    lower than with WordNet: a synonym counts as a miss instead of a match.
    """
    from nltk.translate.meteor_score import single_meteor_score

    _check_pairs(predictions, references)
    scores = [
        single_meteor_score(tokenize(reference), tokenize(prediction), wordnet=_NoSynonyms())
        for prediction, reference in zip(predictions, references, strict=True)
    ]
    return sum(scores) / len(scores)


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F-measure (rouge-score's tokenizer, no stemming)."""
    from rouge_score import rouge_scorer

    _check_pairs(predictions, references)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    scores = [
        scorer.score(reference, prediction)["rougeL"].fmeasure
        for prediction, reference in zip(predictions, references, strict=True)
    ]
    return sum(scores) / len(scores)


def bertscore_unavailable(model: str = BERTSCORE_MODEL) -> str | None:
    """Why BERTScore cannot run here, or None when it can (``bert-score`` installed, ``model`` on disk)."""
    if importlib.util.find_spec("bert_score") is None:
        return "the bert-score package is not installed (pip install bert-score)"
    if Path(model).is_dir():
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(model, "config.json")
    except ValueError:  # not a valid hub name (e.g. a folder path that does not exist)
        cached = None
    if isinstance(cached, str):
        return None
    return f"model {model!r} is neither a local folder nor in the Hugging Face cache, and it is not downloaded here"


def bertscore_f1(predictions: Sequence[str], references: Sequence[str], model: str = BERTSCORE_MODEL) -> float | None:
    """Mean BERTScore-F1 (no baseline rescaling) with ``model`` (a hub name or a local folder of roberta-large).

    Returns None, and logs why, when ``bertscore_unavailable(model)`` gives a reason.
    """
    _check_pairs(predictions, references)
    reason = bertscore_unavailable(model)
    if reason is not None:
        log.warning("BERTScore skipped: %s", reason)
        return None
    import bert_score

    _, _, f1 = bert_score.score(list(predictions), list(references), model_type=model, num_layers=BERTSCORE_LAYER)
    return float(f1.mean())


@dataclass(frozen=True)
class FeedbackScores:
    """The verbal-feedback metrics of one set of answers."""

    bleu: tuple[float, ...]
    """BLEU-1, BLEU-2, BLEU-3, BLEU-4."""
    meteor: float
    rouge_l: float
    bertscore_f1: float | None
    """None when BERTScore cannot run on this machine (see ``bertscore_unavailable``)."""


def feedback_scores(
    predictions: Sequence[str], references: Sequence[str], bertscore_model: str | None = BERTSCORE_MODEL
) -> FeedbackScores:
    """BLEU-1..4, METEOR, ROUGE-L and BERTScore-F1 (None when ``bertscore_model`` is None or unavailable)."""
    return FeedbackScores(
        bleu=bleu(predictions, references),
        meteor=meteor(predictions, references),
        rouge_l=rouge_l(predictions, references),
        bertscore_f1=None if bertscore_model is None else bertscore_f1(predictions, references, bertscore_model),
    )
