"""What a question asks: its topics, the part of the take (scope), the hand or voice, and the intent.

parse() reads a question with phrase tables, each entry a pattern for a way of saying one thing, so a
word only counts in the phrase that gives it its meaning: "the marked tempo" compares with the
score, "mark it out of 10" rates; "student" asks about skill only in "a student or a master".
The scope is read from numbers and named parts ("bars 5 to 8", "the first four bars", "the second
half", "from 0:30") and is resolved to times later (llaqo.lite.answers.scope), against the take's bars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from llaqo.lite.answers.phrases import (
    BACK_REFERENCE,
    BAR,
    CLAIMS,
    CLOCK,
    FOLLOW_UP,
    GENERIC,
    INTENTS,
    NUM,
    NUMBER_WORDS,
    ORD,
    ORDINALS,
    PART_EXTRA,
    PARTS,
    SECTIONS,
    TO,
    TOPICS,
    UNMEASURABLE,
    VERDICT_ONLY,
    YES_NO,
)

DEFAULT_SCALE = 5  # the original LLaQo rates "in a scale of 5"
RATING_SCALES = (5, 6, 10, 100)  # scales a rating may use; another number ("1 to 9") is a difficulty scale
AROUND_S = 5.0  # "around 1:10" means 1:05-1:15


@dataclass(frozen=True)
class Scope:
    """The part of the take a question asks about. All None: the whole take.

    bars: (first, last) notated bar numbers, last None for "from bar 9 on"; first_bars / last_bars: a count
    of bars from the start or end of what was played; section: "opening", "end", "first half", "second half",
    "middle", "first phrase", "last phrase"; time_s: (start, end) seconds, end None for "from 0:30 on".
    """

    bars: tuple[int, int | None] | None = None
    first_bars: int | None = None
    last_bars: int | None = None
    section: str | None = None
    time_s: tuple[float, float | None] | None = None

    @property
    def whole(self) -> bool:
        return self == Scope()

    def describe(self) -> str:
        """Canonical words, as the tests write them: "all", "bars 5-8", "bar 12", "bars 9-", "first 4 bars",
        "last 2 bars", "second half", "time 30-45", "time 30-"."""
        if self.bars is not None:
            a, b = self.bars
            return f"bar {a}" if a == b else f"bars {a}-{'' if b is None else b}"
        if self.first_bars is not None:
            return f"first {self.first_bars} bars"
        if self.last_bars is not None:
            return f"last {self.last_bars} bars"
        if self.section is not None:
            return self.section
        if self.time_s is not None:
            a, b = self.time_s
            return f"time {a:g}-{'' if b is None else f'{b:g}'}"
        return "all"


@dataclass(frozen=True)
class Question:
    """A parsed question. topics: measured topics asked about, in TOPICS order ([] = overall);
    unmeasurable: names from UNMEASURABLE; intents: some of priority, plan, rate, compare (in that order),
    or ("explain",) when it asks for none of them; claim: a CLAIMS name the answer gives its verdict on first;
    yes_no: the question is asked to be answered yes or no ("was I rushing?", not "where did I rush?")."""

    text: str
    topics: tuple[str, ...] = ()
    unmeasurable: tuple[str, ...] = ()
    intents: tuple[str, ...] = ("explain",)
    scale: int = DEFAULT_SCALE
    scope: Scope = field(default_factory=Scope)
    part: str | None = None
    claim: str | None = None
    yes_no: bool = False

    @property
    def intent(self) -> str:
        """The first intent: what the answer leads with."""
        return self.intents[0]

    def describe_intent(self) -> str:
        """ "rate/10+plan": the intents as the tests write them."""
        return "+".join(f"rate/{self.scale}" if i == "rate" else i for i in self.intents)

    @property
    def asks_nothing(self) -> bool:
        """Nothing but maybe a scope or a part: a follow-up such as "and the left hand?"."""
        return not self.topics and not self.unmeasurable and self.intents == ("explain",)

    def follow_up_of(self, previous: Question) -> Question:
        """A question that names no topic or intent takes the previous one's, keeping its own scope and part
        ("and in bars 9-12?", "and the left hand?"); it keeps the previous scope and part when it names none."""
        text = _normal(self.text)
        if self.scope.whole and not self.asks_nothing and re.search(BACK_REFERENCE, text):
            return replace(self, scope=previous.scope, part=self.part or previous.part)  # "and the dynamics there?"
        if not self.asks_nothing or not (previous.topics or previous.intents != ("explain",)):
            return self
        if not re.match(FOLLOW_UP, text) and len(text.split()) > 3:
            return self  # "how was the opening?" asks for everything about the opening
        return replace(
            self,
            topics=previous.topics,
            unmeasurable=previous.unmeasurable,
            intents=previous.intents,
            scale=previous.scale,
            scope=self.scope if not self.scope.whole else previous.scope,
            part=self.part or previous.part,
            claim=previous.claim,
            yes_no=previous.yes_no,
        )


def _normal(text: str) -> str:
    text = text.lower().replace("’", "'").replace("–", "-").replace("—", "-")
    text = re.sub(r"\[|\]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _any(patterns: tuple[str, ...], text: str) -> bool:
    return any(re.search(rf"(?<![\w-]){p}", text) for p in patterns)


def _number(word: str) -> int:
    word = re.sub(r"(st|nd|rd|th)$", "", word) if word[0].isdigit() else word
    return int(word) if word.isdigit() else NUMBER_WORDS.get(word) or ORDINALS[word]


def _seconds(token: str) -> float:
    if ":" in token:
        m, s = token.split(":")
        return 60 * int(m) + int(s)
    return float(re.match(r"[\d.]+", token).group())


def parse_scope(text: str) -> Scope:
    """Bars, counted bars, named sections or times in a normalised question -> Scope (whole take if none)."""
    if m := re.search(rf"(?:between|from)\s+{BAR}\s*{NUM}{TO}(?:{BAR}\s*)?{NUM}", text) or re.search(
        rf"{BAR}\s*{NUM}{TO}{NUM}", text
    ):
        a, b = _number(m.group(1)), _number(m.group(2))
        return Scope(bars=(min(a, b), max(a, b)))
    if m := re.search(rf"(?:from|after|starting (?:at|from)|since)\s+{BAR}\s*{NUM}(?:\s*(?:on|onwards?))?", text):
        return Scope(bars=(_number(m.group(1)), None))
    if m := re.search(rf"(?:up to|until|before)\s+{BAR}\s*{NUM}", text):
        n = _number(m.group(1))
        return Scope(bars=(1, n if "before" not in m.group(0) else max(1, n - 1)))
    if m := re.search(rf"(?:the )?(first|opening|last|final|closing)\s+{NUM}\s+{BAR}", text):
        n = _number(m.group(2))
        return Scope(first_bars=n) if m.group(1) in ("first", "opening") else Scope(last_bars=n)
    if m := re.search(r"(?:the )?(first|opening|last|final|closing) (bar|measure)\b", text):
        return Scope(first_bars=1) if m.group(1) in ("first", "opening") else Scope(last_bars=1)
    if m := re.search(rf"{BAR}\s*{NUM}\b", text):
        n = _number(m.group(1))
        return Scope(bars=(n, n))
    if m := re.search(rf"(?:the )?{ORD} (?:bar|measure)\b", text):
        n = _number(m.group(1))
        return Scope(bars=(n, n))
    if m := re.search(rf"(?:between|from)\s+{CLOCK}{TO}{CLOCK}", text):
        a, b = _seconds(m.group(1)), _seconds(m.group(2))
        return Scope(time_s=(min(a, b), max(a, b)))
    if m := re.search(rf"(?:around|about|near|at|roughly)\s+{CLOCK}", text):
        t = _seconds(m.group(1))
        return Scope(time_s=(max(0.0, t - AROUND_S), t + AROUND_S))
    if m := re.search(rf"(?:from|after|starting at|since)\s+{CLOCK}(?:\s*(?:on|onwards?))?", text):
        return Scope(time_s=(_seconds(m.group(1)), None))
    if m := re.search(rf"(?:up to|until|before)\s+{CLOCK}", text):
        return Scope(time_s=(0.0, _seconds(m.group(1))))
    if m := re.search(rf"(?:the )?(first|last) {NUM} seconds", text):
        n = float(_number(m.group(2)))
        return Scope(time_s=(0.0, n)) if m.group(1) == "first" else Scope(section=f"last {n:g} s")
    if m := re.search(rf"{CLOCK}", text):
        t = _seconds(m.group(1))
        return Scope(time_s=(max(0.0, t - AROUND_S), t + AROUND_S))
    for pattern, name in SECTIONS:
        if m := re.search(rf"(?<!\w){pattern}", text):
            return Scope(section=name.format(m.group(0)) if "{0}" in name else name)
    return Scope()


def parse_part(text: str) -> str | None:
    """The hand or voice a question is about, or None. "between the hands" names no one hand."""
    if re.search(
        r"between (?:the )?(?:two )?hands|between (?:the )?(?:right|left) and (?:the )?(?:left|right)|both hands"
        r"|hands together|of both|each hand|(?:right|left) (?:and|vs\.?|versus) (?:the )?(?:left|right)",
        text,
    ):
        return None
    found = [name for name, patterns in PARTS.items() if _any(patterns + PART_EXTRA.get(name, ()), text)]
    right_word = re.search(r"\bright (?:notes|tempo|speed|amount|time|way|level|balance)", text)
    if "right hand" in found and right_word and not re.search(r"right[- ]hand", text):
        found.remove("right hand")
    if not found:
        return None
    # "is my left hand too loud against the melody?": the part judged is the first one named
    return min(found, key=lambda name: min(m.start() for p in PARTS[name] if (m := re.search(p, text))))


def parse_scale(text: str) -> int:
    """The rating scale asked for: "out of 10", "1-6", "on a scale of 100", "/10", "percent"; default 5."""
    for pattern in (
        r"out of (\d+)",
        r"scale (?:of |from )?(?:1 (?:to|-) ?)?(\d+)",
        r"(?:from )?1\s*(?:-|to)\s*(\d+)",
        r"/\s*(\d+)",
        r"(?:^|\s)0\s*(?:-|to)\s*(\d+)",
    ):
        if m := re.search(pattern, text):
            n = int(m.group(1))
            if n in RATING_SCALES:
                return n
    if re.search(r"percent|%", text):
        return 100
    for word, n in (("ten", 10), ("six", 6), ("five", 5), ("hundred", 100)):
        if re.search(rf"out of {word}|scale of {word}", text):
            return n
    return DEFAULT_SCALE


def parse_claim(text: str, part: str | None, topics: list[str]) -> tuple[str | None, str | None]:
    """The claim a normalised question asks about and its topic, or (None, None). A loudness claim is the
    dynamics' only when the question names no hand or voice ("is my bass too heavy?" is the balance's) and no
    other topic ("was the pedal too heavy?" is the pedal's)."""
    for name, topic, patterns in CLAIMS:
        if topic == "dynamics" and (part is not None or set(topics) - {"dynamics"}):
            continue
        if _any(patterns, text):
            return name, topic
    return None, None


def parse(question: str) -> Question:
    """Read a question (any case, spacing, punctuation) -> Question."""
    text = _normal(question)
    unmeasurable = tuple(name for name, patterns in UNMEASURABLE.items() if _any(patterns, text))
    topics = [name for name, patterns in TOPICS.items() if _any(patterns, text)]
    if not topics and not unmeasurable:
        topics = next((list(names) for patterns, names in GENERIC if _any(patterns, text)), [])
    intents = [name for name, patterns in INTENTS if _any(patterns, text)]
    if {"difficulty of the piece", "skill level of the player"} & set(unmeasurable) and "rate" in intents:
        intents.remove("rate")  # "rate the difficulty 1 to 9" asks for the piece's difficulty, not a rating
    if "priority" in intents and "plan" in intents:
        intents.remove("plan")  # "what should I focus on first to improve?": the one thing, with how to practise it
    scale = parse_scale(text) if "rate" in intents else DEFAULT_SCALE
    part = parse_part(text)
    follow_up = re.match(FOLLOW_UP, text)
    if part is not None and not topics and not unmeasurable and intents == [] and not follow_up:
        topics = ["balance"]  # "how was the melody?", "is my bass too heavy?": how it sounded against the rest
    if part is not None and "dynamics" in topics and not re.search(r"cresc|dim|dynamic|contrast|shap|phras", text):
        topics[topics.index("dynamics")] = "balance"  # "is the accompaniment too loud?" asks for the balance
        topics = list(dict.fromkeys(topics))
    if "runs" in topics and "rhythm" in topics and not re.search(r"rhythm|timing|pulse|beat", text):
        topics.remove("rhythm")  # "were my runs even?" asks for the evenness of the runs
    if "chords" in topics and "balance" in topics and not re.search(r"balance|voic|loud|soft|heavy", text):
        topics.remove("balance")  # "were the chords together?" asks about timing, not balance
    if "runs" in topics and "tempo" in topics and not re.search(r"tempo|speed|bpm|rush|fast enough", text):
        topics.remove("tempo")
    if "dynamics" in topics and "balance" in topics and re.search(r"balance|voic|(?:than|over|against) the", text):
        topics.remove("dynamics")  # "is my left hand louder than the melody?" is balance
    if "compare" in intents and not topics:
        topics = ["tempo"] if re.search(r"tempo|speed|marked|metronome", text) else ["notes"]
    if "composer and style" in unmeasurable and re.search(r"score instructions|following the score", text):
        unmeasurable = tuple(u for u in unmeasurable if u != "composer and style")
    claim, claimed = parse_claim(text, part, topics)
    if claim in VERDICT_ONLY:
        topics, intents = [], []  # "did I stop anywhere?" asks for the stops, not an overall assessment
    elif claimed == "priority":
        intents = ["priority", *(i for i in intents if i != "priority")]  # the bar, then how to practise it
    elif claimed is not None and claimed not in topics:
        topics.insert(0, claimed)  # "did I slow down at the end?" asks about the tempo, whatever else it names
    return Question(
        text=question,
        topics=tuple(topics),
        unmeasurable=unmeasurable,
        intents=tuple(intents) or ("explain",),
        scale=scale,
        scope=parse_scope(text),
        part=part,
        claim=claim,
        yes_no=bool(re.match(YES_NO, text)),
    )
