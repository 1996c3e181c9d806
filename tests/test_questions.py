"""The question parser: topics, scope, hand or voice and intent, on our own list of questions with their
expected parse, on the QA tables LLaQo was trained on, and on the development questions."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pytest

from llaqo.lite.answers.questions import TOPICS, UNMEASURABLE, parse

DATA = Path(__file__).parent / "data" / "questions.tsv"
VERDICT_QUESTIONS = Path(__file__).resolve().parents[1] / "bench" / "questions.json"
# ../shared beside the repository; LLAQO_SHARED points elsewhere (a git worktree sits one level deeper)
SHARED = Path(os.environ.get("LLAQO_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))


def expected_rows() -> list[list[str]]:
    lines = [line.rstrip("\n") for line in DATA.read_text().splitlines()]
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def test_the_list_is_large_enough():
    assert len(expected_rows()) >= 150


@pytest.mark.parametrize("row", expected_rows(), ids=lambda r: r[0][:60] or "(empty)")
def test_parse(row):
    question, topics, intent, scope, part = row
    parsed = parse(question)
    got = (",".join(parsed.topics) or "-", parsed.describe_intent(), parsed.scope.describe(), parsed.part or "-")
    assert got == (topics, intent, scope, part)


def test_incidental_words_do_not_route():
    assert parse("Can you compare my tempo to the marking?").intents == ("compare",)
    app_default = parse("How would you rate the performance, and what should the student practise?")
    assert not app_default.unmeasurable and "rate" in app_default.intents
    assert parse("").unmeasurable == () and parse("").intents == ("explain",)
    assert parse("Any wrong notes in bars 9-16?").intents == ("explain",)  # a bar range is not a rating scale


def test_follow_ups_take_the_previous_topic_and_keep_their_own_scope():
    first = parse("How was my tempo in bars 5 to 8?")
    follow = parse("And the left hand?").follow_up_of(first)
    assert follow.topics == ("tempo",) and follow.part == "left hand" and follow.scope == first.scope
    again = parse("What about bars 9-12?").follow_up_of(first)
    assert again.topics == ("tempo",) and again.scope.describe() == "bars 9-12"
    assert parse("How were my dynamics?").follow_up_of(first).topics == ("dynamics",)
    assert parse("How were my dynamics?").follow_up_of(first).scope.whole
    there = parse("And the dynamics there?").follow_up_of(first)
    assert there.topics == ("dynamics",) and there.scope == first.scope


def qa_table_questions() -> list[str]:
    found = set()
    for table in sorted((SHARED / "metadatas").glob("*/*.csv")):
        with open(table, newline="") as f:
            found |= {row["Q"].strip() for row in csv.DictReader(f)}
    return sorted(found)


# What each QA-table question must at least be understood as: the word that makes it a question about
# a topic, about something the measurements cannot judge, or a request for a rating or for practice.
SENSIBLE = (
    ("tempo", "tempo"), ("rhythm", "rhythm"), ("pedal", "pedal"), ("dynamic", "dynamics"),
    ("articulat", "articulation"), ("legato", "articulation"), ("balance", "balance"), ("accura", None),
    ("composer", "composer and style"),
    ("tone", "tone colour"), ("emotion", "emotional intent"), ("skill level", "skill level of the player"),
    ("student or", "skill level of the player"), ("difficult", "difficulty of the piece"), ("work on", "plan"),
    ("out of 10", "rate"), ("scale of 5", "rate"), ("score you would assign", "rate"),
)  # fmt: skip


@pytest.mark.skipif(not (SHARED / "metadatas").is_dir(), reason="../shared/metadatas (the 11 QA tables) is absent")
def test_every_qa_table_question_parses_to_a_sensible_intent():
    questions = qa_table_questions()
    assert len(questions) >= 200
    wrong = []
    for q in questions:
        p = parse(q)
        low = q.lower()
        if "cannot judge skill" in low:
            continue
        for word, meaning in SENSIBLE:
            if word not in low or meaning is None:
                continue
            if (
                meaning in TOPICS
                and meaning not in p.topics
                or meaning in UNMEASURABLE
                and meaning not in p.unmeasurable
            ):
                wrong.append((q, f"not about {meaning}"))
            elif meaning in ("rate", "plan") and meaning not in p.intents:
                wrong.append((q, f"not a {meaning} request"))
        if (
            not re.search(r"skill|student or|kind of performance", low)
            and "skill level of the player" in p.unmeasurable
        ):
            wrong.append((q, "asks about skill only because of an incidental word"))
        if "rate" in p.intents and "difficult" in low:
            wrong.append((q, "rates the performance when the piece's difficulty is asked"))
    assert not wrong, "\n".join(f"{q!r}: {why}" for q, why in wrong)


@pytest.mark.skipif(not (SHARED / "questions" / "dev.json").is_file(), reason="../shared/questions/dev.json is absent")
def test_development_questions_ask_what_their_checks_expect():
    spec = json.loads((SHARED / "questions" / "dev.json").read_text())
    for item in spec["questions"]:
        p = parse(item["q"])
        forbids_rating = any("out of 5" in pattern for pattern in item.get("not", []))
        assert not (forbids_rating and "rate" in p.intents), item["q"]
        wants_rating = any("out of" in pattern for pattern in item.get("any", []))
        assert wants_rating == ("rate" in p.intents), item["q"]


def test_verdict_questions_are_read_as_claims():
    """bench/questions.json's questions whose checks want a verdict first ("^Yes", "^Bar 5 was") parse to a claim."""
    spec = json.loads(VERDICT_QUESTIONS.read_text())
    for item in spec["questions"]:
        wants_verdict = any(pattern.startswith("^") for pattern in item.get("all", []))
        assert wants_verdict <= (parse(item["q"]).claim is not None), item["q"]
