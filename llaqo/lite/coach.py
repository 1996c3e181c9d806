"""The Lite coach: the Coach protocol answered from measurements (no checkpoints, no GPU)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llaqo.lite import analysis, synth
from llaqo.lite.analysis import Analysis
from llaqo.lite.answers import answers, passages
from llaqo.lite.answers.grounding import Sentence
from llaqo.lite.answers.questions import parse
from llaqo.lite.evidence import compare_plots, notation, plots
from llaqo.lite.hearing import transcribe
from llaqo.lite.practice import compare, compare_answers, progress
from llaqo.lite.practice.history import History, Take
from llaqo.protocol import Answer, AudioFacts, Clip, Evidence, LruCache, Settings, Turn, content_hash

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

CACHE_SIZE = 16  # prepared recordings kept in memory, each with its heard wave (5.3 MB a minute at 22.05 kHz)
WARMUP_NOTES = 24  # 12 s at 120 BPM: one transcription segment
DEFAULT_SETTINGS = Settings()  # the protocol's default; Lite answers from templates and ignores it


@dataclass
class LitePayload:
    """A Clip's payload: the analysis, its JSON and (made on first request) the figures."""

    analysis: Analysis
    measurements: dict
    figures: dict = field(default_factory=dict)
    audio_path: Path | None = None
    """Where the recording was read from (the history keys a saved take by its content hash)."""
    score_path: Path | None = None
    score_pages: list[str] | None = None
    """The marked score's SVG pages (made on first request; empty when it cannot be engraved)."""
    score_passes: dict[str, list[str]] = field(default_factory=dict)
    """In a session of several passes: each pass's marked score by its name (made with score_pages)."""


class LiteCoach:
    """Answers from the Lite analysis, and with a reference and the practice history too (a PracticeCoach).
    Construction loads the model and warms up the JIT-compiled code."""

    name = "Lite"
    max_duration_s = analysis.MAX_DURATION_S
    about = (
        "Answers come from measurements of your recording (the notes played, tempo, timing, dynamics, articulation, "
        "pedalling, hand balance and voicing, chords and runs) and cite them, for the bars, part or hand you ask "
        "about; add a MIDI or MusicXML score to hear about wrong, missed and extra notes bar by bar. "
        "It cannot judge tone colour, emotional intent or style: for those, put the released LLaQo "
        "checkpoints in `ckpts/` (`python -m llaqo doctor` says how) and restart."
    )

    def __init__(self, cache_size: int = CACHE_SIZE, warm_up: bool = True):
        self._cache: LruCache[str, Clip] = LruCache(cache_size)
        self._comparisons: LruCache[tuple[str, str], compare.Comparison] = LruCache(cache_size)
        if warm_up:
            _warm_up()

    def prepare(
        self,
        audio_path: str | Path,
        *,
        score_path: str | Path | None = None,
        start_s: float = 0.0,
        progress: transcribe.Progress | None = None,
    ) -> Clip:
        """Analyse a recording (the whole of it; start_s does not apply to Lite). Raises AudioError or ScoreError.
        progress(done, total) is called after each transcription segment."""
        key = content_hash(audio_path, score_path)
        cached = self._cache.get(key)
        if cached is not None:
            payload = cached.payload
            if not payload.audio_path.exists():  # the session that uploaded it first has ended
                payload.audio_path = Path(audio_path)
                payload.score_path = None if score_path is None else Path(score_path)
            return cached
        result = analysis.analyze(audio_path, score_path, progress=progress)
        facts = AudioFacts(
            name=Path(audio_path).name,
            duration_s=result.duration_s,
            sample_rate=result.sample_rate,
            channels=result.channels,
            heard_s=(0.0, result.duration_s),
        )
        payload = LitePayload(
            result,
            result.to_json(),
            audio_path=Path(audio_path),
            score_path=None if score_path is None else Path(score_path),
        )
        return self._cache.put(key, Clip(key=key, facts=facts, payload=payload))

    def answer(
        self,
        clip: Clip,
        question: str,
        history: Sequence[Turn] = (),
        settings: Settings = DEFAULT_SETTINGS,
        *,
        reference: Clip | None = None,
        takes: Sequence[Take] | None = None,
    ) -> Answer:
        """The answer sentence by sentence, with the passages its sentences name. Settings do not apply: answers
        are built from templates.

        reference: a reference recording's Clip; comparison questions are answered against it.
        takes: this piece's saved takes (llaqo.lite.practice.history), oldest first; progress questions are answered
        from them.
        """
        previous = history[-1].question if history else None
        payload: LitePayload = clip.payload
        if reference is not None and compare_answers.asks_comparison(question, previous):
            said = compare_answers.comparison_sentences(self.compare(clip, reference), question, previous)
        elif takes is not None and progress.asks_progress(question):
            said = [Sentence(text) for text in progress.progress_sentences(takes, question)]
        elif (replayed := _replay(question, history)) is not None:
            return replayed
        else:
            said, _ = answers.answer(payload.analysis, question, [previous] if previous else [], payload.measurements)
        texts = [s.text if i == 0 else " " + s.text for i, s in enumerate(said)]
        return Answer(texts, passages.cited(payload.analysis, [p for s in said for p in s.places]))

    def compare(self, clip: Clip, reference: Clip) -> compare.Comparison:
        """The take against the reference (aligned once per pair, then cached)."""
        key = (reference.key, clip.key)
        comparison = self._comparisons.get(key)
        if comparison is None:
            comparison = compare.compare_takes(reference.payload.analysis, clip.payload.analysis)
            self._comparisons.put(key, comparison)
        return comparison

    def asks_comparison(self, question: str, previous_question: str | None = None) -> bool:
        return compare_answers.asks_comparison(question, previous_question)

    def asks_progress(self, question: str) -> bool:
        return progress.asks_progress(question)

    def comparison_figure(self, clip: Clip, reference: Clip) -> Figure:
        return compare_plots.comparison_figure(self.compare(clip, reference))

    def save_take(self, store: History, clip: Clip, piece_name: str | None = None) -> Take:
        """Save the take's headline numbers and fingerprint to the history. Raises UnsurePiece or HistoryError."""
        payload: LitePayload = clip.payload
        return progress.save_take(
            store, payload.analysis, payload.audio_path, payload.score_path, piece_name=piece_name
        )

    def evidence(self, clip: Clip) -> Evidence:
        payload: LitePayload = clip.payload
        if not payload.figures:
            payload.figures = plots.figures(payload.analysis)
        if payload.score_pages is None:
            payload.score_pages, payload.score_passes = _engrave(payload)
        return Evidence(clip.facts, payload.measurements, payload.figures, payload.score_pages, payload.score_passes)


def _replay(question: str, history: Sequence[Turn]) -> Answer | None:
    """ "Play me the passage you mean": the passages the latest answer that cited any cited, named again and cited
    again (so that they are cut again); None for any other question (or one naming its own place: "play bar 5")."""
    asked = parse(question)
    if asked.claim != "replay" or not asked.scope.whole:
        return None
    for turn in reversed(history):
        if turn.passages:
            names = [p.label for p in turn.passages]
            listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
            return Answer([f"Here it is again: {listed}."], turn.passages)
    return None


def _engrave(payload: LitePayload) -> tuple[list[str], dict[str, list[str]]]:
    """The marked score's pages, and in a session of several passes each pass's by its name (the pages are then
    the latest pass's); none without a score, or when it cannot be engraved (the plots still show the errors,
    so a score verovio cannot lay out costs the picture, not the answers)."""
    a = payload.analysis
    if payload.score_path is None or a.score is None:
        return [], {}
    try:
        if len(a.score.passes) < 2:
            return notation.engrave(a).pages, {}
        by_pass = {p.label: notation.engrave(a, pass_number=p.number).pages for p in a.score.passes}
        return by_pass[a.score.passes[-1].label], by_pass
    except Exception:
        log.exception("engraving the score failed")
        return [], {}


def _warm_up() -> None:
    """Run the whole analysis once, with and without a score, on a synthetic clip, and draw its plots:
    this loads the model, compiles the numba kernels and fills the caches, so no user question pays for it."""
    import soundfile

    notes = synth.scale_notes(bpm=120, n=WARMUP_NOTES, first_pitch=48)
    notes[:, 2] = 48 + (notes[:, 2] - 48) % 24  # up and up again through two octaves
    with tempfile.TemporaryDirectory() as tmp:
        audio, midi = Path(tmp) / "warm-up.wav", Path(tmp) / "warm-up.mid"
        soundfile.write(audio, synth.render(notes, transcribe.SAMPLE_RATE), transcribe.SAMPLE_RATE)
        synth.write_score(notes, midi, bpm=120)
        scored = analysis.analyze(audio, midi)
        plots.figures(scored)
        notation.engrave(scored)  # verovio loads its fonts here
        analysis.analyze(audio)
    log.info("Lite coach warmed up")
