"""The Lite coach: the Coach protocol answered from measurements (no checkpoints, no GPU)."""

from __future__ import annotations

import logging
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from llaqo.lite import analysis, answers, plots, synth, transcribe
from llaqo.lite.analysis import Analysis
from llaqo.protocol import AudioFacts, Clip, Evidence, Settings, Turn, content_hash

log = logging.getLogger(__name__)

CACHE_SIZE = 16  # prepared recordings kept in memory
WARMUP_NOTES = 24  # 12 s at 120 BPM: one transcription segment
DEFAULT_SETTINGS = Settings()  # the protocol's default; Lite answers from templates and ignores it


@dataclass
class LitePayload:
    """A Clip's payload: the analysis, its JSON and (made on first request) the figures."""

    analysis: Analysis
    measurements: dict
    figures: dict = field(default_factory=dict)


class LiteCoach:
    """Answers from the Lite analysis. Construction loads the model and warms up the JIT-compiled code."""

    name = "Lite"
    max_duration_s = analysis.MAX_DURATION_S
    about = (
        "The Lite coach measures your recording on this computer: the notes you played, tempo and its "
        "stability, evenness, dynamics, articulation and pedalling, and with a score (MIDI or MusicXML) the "
        "wrong, missed and extra notes bar by bar. Every answer cites its measurement. It cannot judge tone "
        "colour, emotional intent, style or the composer: put the LLaQo checkpoints in ckpts/ to enable the "
        "LLaQo model for those."
    )
    about = (
        "Answers come from measurements of your recording (the notes played, tempo, timing, dynamics, articulation "
        "and pedalling) and cite them; add a MIDI or MusicXML score to hear about wrong, missed and extra notes "
        "bar by bar. It cannot judge tone colour, emotional intent or style: for those, put the released LLaQo "
        "checkpoints in `ckpts/` (`python -m llaqo doctor` says how) and restart."
    )

    def __init__(self, cache_size: int = CACHE_SIZE, warm_up: bool = True):
        self._cache: OrderedDict[str, Clip] = OrderedDict()
        self._cache_size = cache_size
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
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        result = analysis.analyze(audio_path, score_path, progress=progress)
        facts = AudioFacts(
            name=Path(audio_path).name,
            duration_s=result.duration_s,
            sample_rate=result.sample_rate,
            channels=result.channels,
            heard_s=(0.0, result.duration_s),
        )
        clip = Clip(key=key, facts=facts, payload=LitePayload(result, result.to_json()))
        self._cache[key] = clip
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return clip

    def answer(
        self, clip: Clip, question: str, history: Sequence[Turn] = (), settings: Settings = DEFAULT_SETTINGS
    ) -> Iterator[str]:
        """Yield the answer sentence by sentence. Settings do not apply: answers are built from templates."""
        previous = history[-1].question if history else None
        sentences = answers.answer_sentences(clip.payload.analysis, question, previous)
        for i, sentence in enumerate(sentences):
            yield sentence if i == 0 else " " + sentence

    def evidence(self, clip: Clip) -> Evidence:
        payload: LitePayload = clip.payload
        if not payload.figures:
            payload.figures = plots.figures(payload.analysis)
        return Evidence(facts=clip.facts, measurements=payload.measurements, plots=payload.figures)


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
        plots.figures(analysis.analyze(audio, midi))
        analysis.analyze(audio)
    log.info("Lite coach warmed up")
