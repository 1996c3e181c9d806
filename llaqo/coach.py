"""The LLaQo coach: load once, encode a recording once, stream answers to any number of questions.

The expensive per-recording work (decoding, fbank, the AudioMAE encoder) happens in `prepare` and is
cached by content hash, so follow-up questions go straight to the Q-Former and the LLM. The Q-Former
itself reads the question (it is instruction-aware), so it runs per question; it is small.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from llaqo import audio, checkpoint, scan, vllm_engine
from llaqo.audio import AudioError
from llaqo.batching import BatchConfig, Row, Scheduler
from llaqo.config import BridgeConfig, ConfigError, PathsConfig
from llaqo.model.llaqo import LLMInputs
from llaqo.protocol import Answer, AudioFacts, Clip, Evidence, LruCache, Settings, Turn, content_hash
from llaqo.streaming import AnswerStats, AnswerStream, finish, wait

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass
class CoachConfig:
    """Everything needed to build a LLaQo coach. YAML keys are these field names (configs/llaqo.yaml)."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    bridge: BridgeConfig = field(default_factory=BridgeConfig)
    device: str = "auto"
    """auto (CUDA when present, else CPU), cpu, cuda, cuda:N."""
    dtype: str = "auto"
    """The LLM's dtype: auto (fp16 on CUDA, fp32 on CPU), fp16, bf16 or fp32. The bridge stays fp32."""
    quantization: str = "none"
    """none, 8bit or 4bit (bitsandbytes, CUDA only): the LLM's weights only."""
    device_map: str | None = None
    """Spread the LLM over several GPUs through accelerate, e.g. "auto"."""
    cache_size: int = 8
    """Prepared recordings kept in memory."""
    max_duration_s: float = audio.DEFAULT_MAX_DURATION_S
    batch: BatchConfig = field(default_factory=BatchConfig)
    """How concurrent answers share the LLM: batch size and how long to wait for a batch to fill."""
    max_scan_windows: int = 128
    """The most windows a whole-recording answer may ask about (encoder outputs are kept for follow-ups)."""
    llm_engine: str = "local"
    """local: the LLM runs in this process (batch: applies). vllm: a vLLM server decodes (vllm: says where);
    this process loads the LLM's embedding table only. Beam modes need local."""
    vllm: vllm_engine.VllmConfig = field(default_factory=vllm_engine.VllmConfig)


@dataclass(frozen=True)
class Encoded:
    """A prepared recording's payload: the encoder output of its window, (4, 512, D) on the model's device,
    the file (read again for a whole-recording answer), and the whole-recording scans by stride."""

    audio: torch.Tensor
    path: str
    scans: dict[float, Scan] = field(default_factory=dict, compare=False)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class LLaQoCoach:
    """The Coach protocol (llaqo.protocol) over the LLaQo model."""

    name = "LLaQo"
    about = (
        "Answers come from the LLaQo audio-language model (AudioMAE + Q-Former + Vicuna-7B), trained on teachers' "
        "feedback. As in the original, only the first 10.24 s from the start offset reach the model, unless "
        "Settings ask it about the whole recording, window by window; the measurements beside the chat cover "
        "the whole recording."
    )

    def __init__(self, config: CoachConfig | None = None):
        self.config = config = config or CoachConfig()
        self.device = resolve_device(config.device)
        dtype = DTYPES[config.dtype] if config.dtype != "auto" else None
        llm_kwargs = {}
        if config.quantization != "none":
            from transformers import BitsAndBytesConfig

            bits = {"8bit": {"load_in_8bit": True}, "4bit": {"load_in_4bit": True}}[config.quantization]
            llm_kwargs["quantization_config"] = BitsAndBytesConfig(**bits, bnb_4bit_compute_dtype=torch.float16)
        if config.llm_engine not in ("local", "vllm"):
            raise ConfigError(f"llm_engine: expected local or vllm, got {config.llm_engine!r}")
        served = config.llm_engine == "vllm"
        loaded = checkpoint.load(
            config.paths,
            device=self.device,
            llm_dtype=dtype,
            bridge=config.bridge,
            llm_device_map=config.device_map,
            llm_kwargs=llm_kwargs,
            embeddings_only=served,
        )
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        eos_id = self.tokenizer.prompt.eos_id
        if served:  # raises VllmError, naming the URL, unless the server is up and serves this LLM
            hidden = self.model.config.llm_hidden_size
            self.scheduler = vllm_engine.connect(config.vllm, config.paths.llm, hidden, eos_id)
        else:
            self.scheduler = Scheduler(self.model.llm, config.batch, eos_id=eos_id)
        if getattr(self.scheduler, "static", False):  # the banner: the static cache is ready, warmed up
            self.about = f"{LLaQoCoach.about} Decoding: {self.scheduler.describe()}."
        self._clips: LruCache[str, Clip] = LruCache(self.config.cache_size)
        self._lock = threading.Lock()
        self.encoder_calls = 0
        """How often the audio encoder ran: follow-ups must not raise it."""

    @property
    def max_duration_s(self) -> float:
        return self.config.max_duration_s

    # --- per recording -----------------------------------------------------------------------------------

    def heard(self, start_s: float, duration_s: float) -> tuple[float, float]:
        """The span that can influence answers: 10.24 s with the original's splice, else 40.96 s."""
        span = audio.SEGMENT_SECONDS if self.config.bridge.llm_tokens == "first_query" else audio.WINDOW_SECONDS
        return (start_s, min(start_s + span, duration_s))

    def prepare(self, audio_path: str | Path, *, score_path: str | Path | None = None, start_s: float = 0.0) -> Clip:
        """Decode, validate and encode a recording once; later calls with the same bytes hit the cache.

        The score, if any, is ignored: the model hears the audio only.
        """
        key = f"{content_hash(audio_path)}@{start_s:.2f}"
        with self._lock:
            cached = self._clips.get(key)
        if cached is not None:
            return cached
        recording = audio.load_audio(audio_path, max_duration_s=self.config.max_duration_s)
        fbank = audio.log_mel_window(recording, start_s)[None].to(self.device)
        with torch.inference_mode():
            encoded = self.model.encode_audio(fbank)
        self.encoder_calls += 1
        facts = AudioFacts(
            name=Path(audio_path).name,
            duration_s=recording.duration_s,
            sample_rate=recording.sample_rate,
            channels=recording.channels,
            heard_s=self.heard(start_s, recording.duration_s),
        )
        clip = Clip(key=key, facts=facts, payload=Encoded(encoded, str(audio_path)))
        with self._lock:
            return self._clips.put(key, clip)

    def evidence(self, clip: Clip) -> Evidence:
        return Evidence(facts=clip.facts)

    # --- per question ------------------------------------------------------------------------------------

    def prompt(self, question: str, history: Sequence[Turn], settings: Settings) -> str:
        """The raw question, as the released model was trained; earlier turns only when asked for."""
        if not settings.use_history or not history:
            return question
        turns = "\n".join(f"Q: {t.question}\nA: {t.answer}" for t in history)
        return f"{turns}\nQ: {question}"

    def inputs(self, clip: Clip, question: str) -> LLMInputs:
        ids = self.tokenizer(question)
        with torch.inference_mode():
            model = self.model
            queries = model.query_audio(
                clip.payload.audio, ids.qformer_ids.to(self.device), ids.qformer_mask.to(self.device)
            )
            return model.llm_inputs(model.project(queries), ids.prompt_ids.to(self.device))

    def answer(
        self, clip: Clip, question: str, history: Sequence[Turn] = (), settings: Settings = Settings()
    ) -> Answer:
        """The answer's text as it is produced (see `stream` for its statistics). The model's free text names no
        measured place reliably, so it cites no passage to play."""
        return Answer(self.stream(clip, question, history, settings))

    def stream(
        self, clip: Clip, question: str, history: Sequence[Turn] = (), settings: Settings = Settings()
    ) -> AnswerStream:
        prompt = self.prompt(question, history, settings)

        def rows() -> tuple[list[Row], list[tuple[float, float]] | None]:
            if settings.scope == "whole":
                windows, rows = self.scan_rows(clip, prompt, settings)
                return rows, windows.spans
            return [Row(self.inputs(clip, prompt), settings)], None

        return AnswerStream(rows, self.scheduler, self._decode_unstripped, settings, clip.facts.heard_s)

    def _decode_unstripped(self, ids: list[int]) -> str:
        """The tokenizer's decode before its final strip, which a streamed answer applies piece by piece."""
        prompt = self.tokenizer.prompt
        return prompt.decode([prompt.eos_id if i == 0 else i for i in ids])

    def answer_all(self, clips: Sequence[Clip], question: str, settings: Settings = Settings()) -> list[AnswerStats]:
        """The same question about many recordings, decoded together in batches. Raises PromptTooLong."""
        rows = [Row(self.inputs(clip, question), settings) for clip in clips]
        start = time.perf_counter()
        for _ in wait(self.scheduler.submit(rows)):
            pass
        end = time.perf_counter()
        answers = []
        for clip, row in zip(clips, rows, strict=True):
            stats = AnswerStats(heard_s=clip.facts.heard_s)
            stats.time_to_first_token_s = (row.first_token_at or end) - start
            finish(stats, self.tokenizer.decode(row.ids), row.tokens, start, end)
            answers.append(stats)
        return answers

    # --- the whole recording -----------------------------------------------------------------------------

    def scan(self, clip: Clip, stride_s: float | None) -> Scan:
        """Encode every window of the recording (cached per clip and stride). Raises AudioError."""
        span = self.heard(0.0, math.inf)[1]
        stride = round(stride_s or span, 2)
        encoded: Encoded = clip.payload
        with self._lock:
            if stride in encoded.scans:
                return encoded.scans[stride]
        recording = audio.load_audio(encoded.path, max_duration_s=self.config.max_duration_s)
        starts = scan.window_starts(recording.duration_s, span, stride)
        if len(starts) > self.config.max_scan_windows:
            raise AudioError(
                f"{clip.facts.name}: a whole-recording answer at a {stride:g} s stride needs {len(starts)} windows "
                f"(at most {self.config.max_scan_windows}); choose a longer stride or a start offset"
            )
        frames = round(span * 1000 / audio.FRAME_SHIFT_MS)
        chunks = []
        size = self.config.batch.max_group_size
        for i in range(0, len(starts), size):
            fbank = audio.log_mel_windows(recording, starts[i : i + size], frames).to(self.device)
            with torch.inference_mode():
                chunks.append(self.model.encode_audio(fbank))
            self.encoder_calls += 1
        spans = [(s, min(round(s + span, 2), recording.duration_s)) for s in starts]
        result = Scan(spans=spans, chunks=chunks)
        with self._lock:
            encoded.scans[stride] = result
        return result

    def scan_rows(self, clip: Clip, question: str, settings: Settings) -> tuple[Scan, list[Row]]:
        """One Row per window of the recording, all asking the question. Raises AudioError, PromptTooLong."""
        windows = self.scan(clip, settings.stride_s)
        ids = self.tokenizer(question)
        rows = []
        model = self.model
        with torch.inference_mode():
            for chunk in windows.chunks:
                batch = chunk.shape[0] // (1 if self.config.bridge.llm_tokens == "first_query" else audio.N_SEGMENTS)
                qformer_ids = ids.qformer_ids.to(self.device).repeat(batch, 1)
                qformer_mask = ids.qformer_mask.to(self.device).repeat(batch, 1)
                queries = model.query_audio(chunk, qformer_ids, qformer_mask)
                inputs = model.llm_inputs(model.project(queries), ids.prompt_ids.to(self.device).repeat(batch, 1))
                for i in range(batch):
                    one = LLMInputs(inputs.inputs_embeds[i : i + 1], inputs.attention_mask[i : i + 1])
                    rows.append(Row(one, settings))
        return windows, rows


@dataclass(frozen=True)
class Scan:
    """The windows of a whole-recording answer: their (start, end) times, and the encoder's output for them
    in chunks of up to max_group_size windows, each (n_segments * windows, 512, D) segment-major."""

    spans: list[tuple[float, float]]
    chunks: list[torch.Tensor]
