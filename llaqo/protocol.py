"""The Coach protocol: what the app, the CLI and the evaluation need from any coach.

Both coaches honour it: the LLaQo coach (the neural model) and the Lite coach (measurements).
Nothing here knows about Gradio or about tensors.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

Mode = Literal["greedy", "sample", "beam", "faithful"]
Scope = Literal["window", "whole"]
K = TypeVar("K")
V = TypeVar("V")
Progress = Callable[[int, int], None]
"""progress(done, total): called as a long prepare() advances (the Lite coach: after each transcription segment)."""


@dataclass(frozen=True)
class AudioFacts:
    """What the user uploaded, and which part of it the coach heard."""

    name: str
    duration_s: float
    sample_rate: int
    channels: int
    heard_s: tuple[float, float]
    """(start, end) in seconds of the part of the recording that can influence the answer."""


@dataclass
class Clip:
    """A prepared recording: decoded, validated and analysed once, then reused by every question."""

    key: str
    """Content hash of the audio file (plus anything else that changes the analysis)."""
    facts: AudioFacts
    payload: Any = None
    """The coach's own per-recording data (LLaQo: encoder output; Lite: measurements)."""


@dataclass(frozen=True)
class Turn:
    """One earlier question and its answer, for follow-ups."""

    question: str
    answer: str
    passages: tuple[Passage, ...] = ()
    """The passages of the recording the answer cited (its Answer.passages)."""


@dataclass(frozen=True)
class Settings:
    """How to decode an answer. The defaults stream greedily."""

    mode: Mode = "greedy"
    """greedy / sample stream token by token; beam and faithful yield the answer once complete."""
    temperature: float = 0.7
    """Sampling temperature (mode "sample" only)."""
    top_p: float = 0.9
    """Nucleus mass (mode "sample" only)."""
    max_new_tokens: int | None = None
    """None: the original's budget, 256 positions including the prompt."""
    repetition_penalty: float = 1.5
    """The original's default; 1.0 turns the penalty off."""
    num_beams: int = 5
    """Beams for mode "beam"; "faithful" always uses the original's 5."""
    use_history: bool = False
    """Feed earlier turns to the model; only for models trained with history."""
    scope: Scope = "window"
    """window: the model hears one window from the start offset, as the original did. whole: the question is
    asked of every window of the recording, and the answer lists the windows' answers with their times."""
    stride_s: float | None = None
    """Scope "whole": seconds between window starts; None: the window's length (windows side by side)."""


@dataclass(frozen=True)
class Passage:
    """A stretch of the recording an answer cites, to be played back with it."""

    start_s: float
    end_s: float
    label: str
    """How the answer names it: "bar 5", "bars 9-12", "0:21"."""
    bars: tuple[int, int] | None = None
    """First and last notated bar, when a score gives bars."""


@dataclass
class Evidence:
    """What supports the answers: audio facts, measurements (JSON-ready) and plots (matplotlib figures)."""

    facts: AudioFacts
    measurements: dict[str, Any] = field(default_factory=dict)
    plots: dict[str, Any] = field(default_factory=dict)
    score_pages: list[str] = field(default_factory=list)
    """The score engraved with the performance marked on it: SVG documents, one per page (empty without a score)."""
    score_passes: dict[str, list[str]] = field(default_factory=dict)
    """A practice session of several passes through the score: each pass's marked score by its name, in order of
    playing ("pass 2: bars 4–8"); score_pages is then the latest's. Empty for a single run."""


class Answer(Iterator[str]):
    """What Coach.answer returns: iterate it for the answer's text in pieces, as it is produced.

    A piece may be empty: a coach that waits for a slow model yields "" now and then, so that a consumer that went
    away (Stop, a closed tab) can close() the answer, which cancels it. `passages`: the passages of the recording
    the answer cites, in time order (none from a coach whose text names no measured place, as the model's)."""

    def __init__(self, pieces: Iterable[str], passages: Sequence[Passage] = ()):
        self.pieces = iter(pieces)
        self.passages = tuple(passages)

    def __next__(self) -> str:
        return next(self.pieces)

    def close(self) -> None:
        """Stop producing the answer: closes the pieces' generator (a list of pieces has nothing to stop)."""
        if isinstance(self.pieces, Generator):
            self.pieces.close()


def clock(seconds: float, decimals: int = 0) -> str:
    """A time as the answers, the app and the report write it, rounded: 72.4 -> "1:12"; decimals=1: "1:12.4"."""
    total = round(seconds, decimals)  # rounded first, so that 59.97 s reads "1:00.0", not "0:60.0"
    minutes = int(total // 60)
    return f"{minutes}:{total - 60 * minutes:0{3 + decimals if decimals else 2}.{decimals}f}"


class LruCache(Generic[K, V]):
    """A mapping of at most `size` entries that forgets the least recently used: the coaches' prepared clips
    (keyed by content_hash) and comparisons."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The entry (now the most recently used), or None."""
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: K, value: V) -> V:
        """Keep value under key, forgetting the least recently used entries past `size` -> value."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


def content_hash(*paths: str | Path | None) -> str:
    """SHA-256 over the files' sizes and bytes, for caching clips by content. An absent file (or None) adds
    only a separator, and every present file its size first, so an empty score differs from no score."""
    digest = hashlib.sha256()
    for path in paths:
        if path is not None and Path(path).is_file():
            digest.update(b"\x01" + Path(path).stat().st_size.to_bytes(8, "little"))
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        digest.update(b"\x00")
    return digest.hexdigest()


class Coach(Protocol):
    """The interface both coaches implement."""

    name: str
    """Shown in the UI banner, e.g. "LLaQo" or "Lite"."""
    about: str
    """One paragraph for the banner: what this coach judges, what it cannot, and how to get more."""
    max_duration_s: float
    """The longest recording prepare() accepts."""

    def prepare(self, audio_path: str | Path, *, score_path: str | Path | None = None, start_s: float = 0.0) -> Clip:
        """Decode, validate and analyse a recording once; cached by content hash. Raises AudioError."""
        ...

    def answer(
        self, clip: Clip, question: str, history: Sequence[Turn] = (), settings: Settings = Settings()
    ) -> Answer:
        """The answer, its text in pieces as it is produced, with the passages it cites."""
        ...

    def evidence(self, clip: Clip) -> Evidence:
        """The measurements and plots behind the answers."""
        ...


class PracticeCoach(Coach, Protocol):
    """A coach that also judges a take against a reference and over a practice history (the Lite coach).

    The app's practice tools use this and nothing else of it. Its answers are measured, so Settings do not
    apply to them, and its prepare() reports progress.
    """

    def prepare(
        self,
        audio_path: str | Path,
        *,
        score_path: str | Path | None = None,
        start_s: float = 0.0,
        progress: Progress | None = None,
    ) -> Clip:
        """Coach.prepare, calling progress(done, total) as the long work advances."""
        ...

    def answer(
        self,
        clip: Clip,
        question: str,
        history: Sequence[Turn] = (),
        settings: Settings = Settings(),
        *,
        reference: Clip | None = None,
        takes: Sequence[Any] | None = None,
    ) -> Answer:
        """Coach.answer; a comparison question is answered against the reference's Clip, and a progress question
        from takes (the piece's saved takes, oldest first, as the practice history returns them)."""
        ...

    def asks_comparison(self, question: str, previous_question: str | None = None) -> bool:
        """Whether the question (or a follow-up of previous_question) compares the take with a reference."""
        ...

    def asks_progress(self, question: str) -> bool:
        """Whether the question asks about progress over the saved takes."""
        ...

    def comparison_figure(self, clip: Clip, reference: Clip) -> Any:
        """The take and the reference overlaid (a matplotlib figure)."""
        ...

    def save_take(self, store: Any, clip: Clip, piece_name: str | None = None) -> Any:
        """Save the take's measurements (never its audio) to the practice history store -> the saved take.
        Raises the store's errors (the piece unsure, the database unwritable)."""
        ...
