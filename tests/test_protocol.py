"""The protocol's shared helpers: the one time formatter, the bounded cache the coaches keep clips in, and an Answer."""

from __future__ import annotations

from llaqo.protocol import Answer, LruCache, Passage, clock


def test_clock_rounds_to_the_second_as_the_answers_do():
    assert [clock(s) for s in (0.0, 12.3, 12.5, 13.5, 59.6, 72.4, 3599.6)] == [
        "0:00",
        "0:12",
        "0:12",  # half a second rounds to the even second, as Python's round()
        "0:14",
        "1:00",  # rounded, so the overview and an answer name the same second
        "1:12",
        "60:00",
    ]


def test_clock_with_tenths_as_the_report_writes_them():
    assert [clock(s, 1) for s in (0.0, 12.34, 72.44, 59.97)] == ["0:00.0", "0:12.3", "1:12.4", "1:00.0"]


def test_the_cache_forgets_the_least_recently_used():
    cache = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now b is the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (1, None, 3, 2)
    assert cache.put("a", 4) == 4 and cache.get("a") == 4 and len(cache) == 2


def test_an_answer_streams_its_pieces_and_carries_its_passages():
    cited = [Passage(1.0, 2.0, "bar 3", (3, 3))]
    answer = Answer(["Bar 3", " was late."], cited)
    assert "".join(answer) == "Bar 3 was late." and answer.passages == tuple(cited)
    assert Answer(iter(["plain"])).passages == ()


def test_closing_an_answer_closes_its_pieces():
    """Stop (or a closed tab) closes the answer; a generator producing it must hear of it, to cancel the work."""
    closed = []

    def pieces():
        try:
            yield "one"
            yield "two"
        finally:
            closed.append(True)

    answer = Answer(pieces())
    assert next(answer) == "one"
    answer.close()
    assert closed == [True] and list(answer) == []
    Answer(["nothing to stop"]).close()
