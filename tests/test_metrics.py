"""Tests of llaqo.training.metrics on hand-made answers whose scores are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from llaqo.training import metrics
from llaqo.training.metrics import (
    MASTER,
    STUDENT,
    classification_scores,
    composer_accuracy,
    expertise_accuracy,
    expertise_label,
    feedback_scores,
    last_word,
    parse_rating,
    rating_scores,
    technique_scores,
)


@pytest.mark.parametrize(
    ("text", "rating"),
    [("4", 4.0), ("I'd rate it 4.5 out of 5.", 4.5), ("Score: 10.", 10.0), ("3/5, then 4", 3.0), ("no idea", None)],
)
def test_parse_rating_takes_the_first_number(text: str, rating: float | None) -> None:
    assert parse_rating(text) == rating


def test_rating_mae_excludes_answers_without_a_number() -> None:
    # |4 - 4.5| = 0.5, |3.5 - 2| = 1.5, the third holds no number: MAE = (0.5 + 1.5) / 2 = 1.0, following = 2/3.
    scores = rating_scores(["4", "I think 3.5", "hard to say"], ["4.5", "2", 3])
    assert scores.mae == pytest.approx(1.0)
    assert scores.following_rate == pytest.approx(2 / 3)
    assert (scores.count, scores.followed) == (3, 2)


def test_rating_with_no_number_anywhere_has_no_mae() -> None:
    scores = rating_scores(["good", "fine"], ["4", "5"])
    assert scores.mae is None and scores.following_rate == 0.0


def test_rating_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="holds no number"):
        rating_scores(["4"], ["great"])
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        rating_scores(["4", "5"], ["4"])
    with pytest.raises(ValueError, match="no predictions"):
        rating_scores([], [])


def test_difficulty_reads_like_a_rating() -> None:
    # CIPI difficulty answers are scored as ratings (evaluate.task_metrics): |7 - 9| = 2, |5 - 5| = 0: MAE = 1.
    assert rating_scores(["7", "Level 5 of 9."], [9, "5"]).mae == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "word"), [("The technique is Arpeggios.", "arpeggios"), ("Octave!", "octave"), ("", ""), ("...", "")]
)
def test_last_word(text: str, word: str) -> None:
    assert last_word(text) == word


def test_technique_macro_scores_on_a_small_confusion() -> None:
    # Last words: predicted [scales, octave, octave, octave], true [scales, scales, octave, octave].
    # scales: 1 hit, 1 predicted, 2 true -> P 1, R 1/2, F1 2/3.  octave: 2 hits, 3 predicted, 2 true -> P 2/3, R 1,
    # F1 0.8.  Macro: P (1 + 2/3)/2 = 5/6, R (1/2 + 1)/2 = 3/4, F1 (2/3 + 0.8)/2 = 11/15; accuracy 3/4.
    scores = technique_scores(
        ["It is Scales.", "octave", "Octave!", "I hear octave"], ["Scales", "Scales", "Octave", "Octave"]
    )
    assert scores.labels == ("octave", "scales")
    assert scores.precision == pytest.approx(5 / 6)
    assert scores.recall == pytest.approx(3 / 4)
    assert scores.f1 == pytest.approx(11 / 15)
    assert scores.accuracy == pytest.approx(3 / 4)


def test_a_label_only_predicted_counts_as_zero() -> None:
    # Labels a, b, c: a is perfect (1, 1, 1); b is never predicted (0, 0, 0); c is never true (0, 0, 0): macro 1/3.
    scores = classification_scores(["a", "c"], ["a", "b"])
    assert (scores.precision, scores.recall, scores.f1) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("This appears to be a student performance.", STUDENT),
        ("This performance has the characteristics of played by a novice.", STUDENT),
        ("It should be played by advanced piano student.", MASTER),
        ("This is a good performance. It's mistake-free and has a high level of musicality.", MASTER),
        ("This appeared to be performed by really advanced player. Possibly a pianist.", MASTER),
        ("I cannot tell.", None),
    ],
)
def test_expertise_label(text: str, label: str | None) -> None:
    assert expertise_label(text) == label


def test_expertise_accuracy() -> None:
    # right, right, no label (wrong): 2/3.
    predictions = ["Sounds like an advanced player.", "A novice, I think.", "Hard to say."]
    references = ["This is a master performance.", "This sounds like a student performance.", "A student."]
    assert expertise_accuracy(predictions, references) == pytest.approx(2 / 3)


def test_composer_accuracy_matches_surnames_without_accents() -> None:
    # Chopin (accents folded) right, Bach right, "Vanessa"/"Van Morrison" do not name Beethoven, Haydn is not Mozart.
    predictions = ["This is by Frederic Chopin.", "J.S. Bach", "Van Morrison", "Haydn"]
    references = ["FRÉDÉRIC CHOPIN", "Bach", "LUDWIG VAN BEETHOVEN", "Mozart"]
    assert composer_accuracy(predictions, references) == pytest.approx(2 / 4)
    assert metrics.composer_names("FELIX MENDELSSOHN BARTHOLDY") == {"mendelssohn", "bartholdy"}


def test_bleu_on_a_tiny_pair() -> None:
    # hyp "the cat sat on the mat", ref "the cat is on the mat" (6 words each, brevity penalty 1).
    # 1-grams: the x2, cat, on, mat match -> 5/6.  2-grams: "the cat", "on the", "the mat" of 5 -> 3/5.
    # 3-grams: "on the mat" of 4 -> 1/4.  4-grams: none of 3 -> 0.
    # BLEU-1 = 5/6, BLEU-2 = sqrt(5/6 * 3/5) = sqrt(1/2), BLEU-3 = (5/6 * 3/5 * 1/4)^(1/3) = 1/2, BLEU-4 = 0.
    b1, b2, b3, b4 = metrics.bleu(["The cat sat on the mat."], ["the cat is on the mat"])
    assert (b1, b2, b3) == pytest.approx((5 / 6, math.sqrt(0.5), 0.5))
    assert b4 < 1e-9


def test_bleu_brevity_penalty() -> None:
    # hyp "the cat" (2 words) against 6: every unigram matches, BP = exp(1 - 6/2) = e^-2.
    assert metrics.bleu(["the cat"], ["the cat is on the mat"])[0] == pytest.approx(math.exp(-2))


def test_meteor_matches_exact_words_and_stems_but_not_synonyms() -> None:
    # "a b" vs "a b": P = R = 1, one chunk over 2 matches: penalty 0.5 * (1/2)^3 = 0.0625 -> 0.9375.
    assert metrics.meteor(["a b"], ["a b"]) == pytest.approx(0.9375)
    # "playing fast" vs "played fast": Porter stems both to "play", so again 2 matches in 1 chunk -> 0.9375.
    # Exact matching alone would give 1 match: P = R = 1/2, Fmean 1/2, penalty 0.5 * 1^3 -> 0.25.
    assert metrics.meteor(["playing fast"], ["played fast"]) == pytest.approx(0.9375)
    # Synonyms are not matched (no WordNet): nothing in common -> 0.
    assert metrics.meteor(["quick"], ["fast"]) == 0.0


def test_rouge_l_on_a_tiny_pair() -> None:
    # LCS of "the cat sat on the mat" and "the cat is on the mat" is "the cat on the mat": 5 of 6 -> P = R = F = 5/6.
    assert metrics.rouge_l(["the cat sat on the mat"], ["the cat is on the mat"]) == pytest.approx(5 / 6)


def test_bertscore_says_why_it_is_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(metrics.importlib.util, "find_spec", lambda name: None)
    assert "bert-score package is not installed" in metrics.bertscore_unavailable()
    assert metrics.bertscore_f1(["a"], ["a"]) is None
    monkeypatch.setattr(metrics.importlib.util, "find_spec", lambda name: object())
    assert "neither a local folder" in metrics.bertscore_unavailable(str(tmp_path / "no-such-model"))
    assert metrics.bertscore_unavailable(str(tmp_path)) is None  # a local folder is taken as the model


def test_feedback_scores_bundle() -> None:
    scores = feedback_scores(["the cat sat on the mat"], ["the cat is on the mat"], bertscore_model=None)
    assert scores.bleu[0] == pytest.approx(5 / 6)
    assert scores.rouge_l == pytest.approx(5 / 6)
    assert 0 < scores.meteor < 1
    assert scores.bertscore_f1 is None
