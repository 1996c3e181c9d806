"""One LLaQo answer as a stream of text: the consumer's side of the batching scheduler.

The scheduler's worker pushes each answer's token ids to its Row; an AnswerStream reads them, decodes them
into text pieces at word boundaries, and yields "" heartbeats while it waits, so that whoever reads it
(the app, the CLI) can close it at any time, which cancels the answer.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from transformers import TextStreamer

from llaqo import scan
from llaqo.batching import Row
from llaqo.protocol import Settings

Spans = list[tuple[float, float]]
RowsFn = Callable[[], tuple[list[Row], Spans | None]]
"""Builds an answer's rows when its stream starts: one row, or one per window of a whole-recording answer
with the windows' (start, end) times. Raises what building them raises (PromptTooLong, AudioError)."""
Decode = Callable[[list[int]], str]
"""Token ids -> text with the original's post-processing, unstripped (streamed pieces are trimmed as they go)."""


class Submits(Protocol):
    """What decodes the rows: `llaqo.batching.Scheduler`, or any engine with the same door."""

    def submit(self, rows: list[Row]) -> list[Row]: ...


STREAMED_MODES = ("greedy", "sample")
HEARTBEAT_S = 0.1
"""While an answer is being computed, its stream yields "" this often, so a consumer can close it."""


@dataclass
class AnswerStats:
    """Measured for every answer; filled as the answer streams, final when the stream ends."""

    text: str = ""
    tokens: int = 0
    time_to_first_token_s: float | None = None
    tokens_per_s: float | None = None
    heard_s: tuple[float, float] = (0.0, 0.0)


class _StreamDecoder:
    """What TextStreamer needs of a tokenizer: decode(ids) with the original's post-processing."""

    def __init__(self, decode: Decode):
        self._decode = decode

    def decode(self, ids, **kwargs) -> str:
        return self._decode([ids] if isinstance(ids, int) else list(ids))


def wait(rows: Sequence[Row]) -> Iterator[int | None]:
    """Follow rows until all are finished: their token ids in turn, and None every HEARTBEAT_S while waiting.
    Raises a row's error."""
    for row in rows:
        while True:
            try:
                token = row.get(timeout=HEARTBEAT_S)
            except queue.Empty:
                yield None
                continue
            if token is Row.FINISHED:
                break
            yield token


def finish(stats: AnswerStats, text: str, tokens: int, start: float, end: float) -> None:
    stats.text, stats.tokens = text, tokens
    if stats.time_to_first_token_s is None:
        stats.time_to_first_token_s = end - start
    decode_time = end - start - stats.time_to_first_token_s
    if tokens > 1 and decode_time > 0:
        stats.tokens_per_s = (tokens - 1) / decode_time
    elif tokens:  # beam modes: every token arrives at the end
        stats.tokens_per_s = tokens / (end - start)


class _Pieces(TextStreamer):
    """Incremental decoding of one row's ids (transformers' word-boundary logic), collecting the text pieces."""

    def __init__(self, decode: Decode):
        super().__init__(_StreamDecoder(decode))
        self.pieces: list[str] = []

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self.pieces.append(text)

    def take(self) -> list[str]:
        pieces, self.pieces = self.pieces, []
        return pieces


class _Trim:
    """Holds back whitespace at the edges of streamed pieces, so they join to the stripped answer, as the
    original's .strip() gives it. Call with each piece; returns what can be shown now."""

    def __init__(self):
        self.pieces: list[str] = []
        self.held = ""

    def __call__(self, piece: str) -> str:
        text = self.held + piece if self.pieces else (self.held + piece).lstrip()
        body = text.rstrip()
        self.held = text[len(body) :]
        if body:
            self.pieces.append(body)
        return body


class AnswerStream:
    """One answer being generated. Iterate for text pieces; `stats` is complete once iteration ends.

    The scheduler decodes it, possibly batched with other answers. Greedy and sampling stream token by token;
    beam modes and whole-recording answers yield once complete. While waiting, the stream yields "" every
    HEARTBEAT_S, so a consumer can close it at any time; closing it (Stop, a closed tab) or `cancel()`
    drops the answer from generation at the next decoding step, in every mode.
    """

    def __init__(
        self, rows: RowsFn, scheduler: Submits, decode: Decode, settings: Settings, heard_s: tuple[float, float]
    ):
        self.make_rows, self.scheduler, self.decode, self.settings = rows, scheduler, decode, settings
        self.stats = AnswerStats(heard_s=heard_s)
        self.rows: list[Row] = []

    def cancel(self) -> None:
        """Thread-safe."""
        for row in self.rows:
            row.cancel()

    def __iter__(self) -> Iterator[str]:
        settings = self.settings
        start = time.perf_counter()
        self.rows, spans = self.make_rows()
        if spans is not None:
            self.stats.heard_s = (spans[0][0], spans[-1][1])
        self.scheduler.submit(self.rows)
        streamed = settings.mode in STREAMED_MODES and spans is None
        decoder, trim = _Pieces(self.decode), _Trim()
        try:
            for token in wait(self.rows):
                if token is None:
                    yield ""  # a heartbeat
                elif streamed:
                    decoder.put(torch.tensor([token]))
                    yield from filter(None, map(trim, decoder.take()))
            if streamed:
                decoder.end()
                yield from filter(None, map(trim, decoder.take()))
        finally:
            # Reached on completion, on an error, and when the consumer closes us early.
            self.cancel()
        end = time.perf_counter()
        firsts = [row.first_token_at for row in self.rows if row.first_token_at is not None]
        if firsts:
            self.stats.time_to_first_token_s = min(firsts) - start
        tokens = sum(row.tokens for row in self.rows)
        if streamed:
            text = "".join(trim.pieces)
        elif spans is not None:
            answers = [self.decode(row.ids).strip() for row in self.rows]
            text = scan.describe(scan.merge(spans, answers))
        else:
            text = self.decode(self.rows[0].ids).strip()
        finish(self.stats, text, tokens, start, end)
        if not streamed:
            yield text
