"""The LLaQo coach: load once, encode a recording once, stream answers to any number of questions.

The expensive per-recording work (decoding, fbank, the AudioMAE encoder) happens in `prepare` and is
cached by content hash, so follow-up questions go straight to the Q-Former and the LLM. The Q-Former
itself reads the question (it is instruction-aware), so it runs per question; it is small.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from llaqo import audio, checkpoint, decoding
from llaqo.config import BridgeConfig, PathsConfig
from llaqo.model.llaqo import LLMInputs
from llaqo.protocol import AudioFacts, Clip, Evidence, Passage, Settings, Turn, content_hash

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
STREAMED_MODES = ("greedy", "sample")


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


@dataclass(frozen=True)
class Encoded:
    """A prepared recording's payload: the encoder output, (4, 512, D) on the model's device."""

    audio: torch.Tensor


@dataclass
class AnswerStats:
    """Measured for every answer; filled as the answer streams, final when the stream ends."""

    text: str = ""
    tokens: int = 0
    time_to_first_token_s: float | None = None
    tokens_per_s: float | None = None
    heard_s: tuple[float, float] = (0.0, 0.0)


class _Cancelled(StoppingCriteria):
    """Stops generation at the next token once the event is set (the consumer went away)."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class _StreamDecoder:
    """What TextIteratorStreamer needs of a tokenizer: decode(ids) with the original's post-processing."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def decode(self, ids, **kwargs) -> str:
        ids = [ids] if isinstance(ids, int) else list(ids)
        prompt = self.tokenizer.prompt
        return prompt.decode([prompt.eos_id if i == 0 else i for i in ids])


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class LLaQoCoach:
    """The Coach protocol (llaqo.protocol) over the LLaQo model."""

    name = "LLaQo"
    about = (
        "Answers come from the LLaQo audio-language model (AudioMAE + Q-Former + Vicuna-7B), trained on teachers' "
        "feedback. As in the original, only the first 10.24 s from the start offset reach the model; the "
        "measurements beside the chat cover the whole recording."
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
        loaded = checkpoint.load(
            config.paths,
            device=self.device,
            llm_dtype=dtype,
            bridge=config.bridge,
            llm_device_map=config.device_map,
            llm_kwargs=llm_kwargs,
        )
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        self._clips: OrderedDict[str, Clip] = OrderedDict()
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
            if key in self._clips:
                self._clips.move_to_end(key)
                return self._clips[key]
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
        clip = Clip(key=key, facts=facts, payload=Encoded(encoded))
        with self._lock:
            self._clips[key] = clip
            while len(self._clips) > self.config.cache_size:
                self._clips.popitem(last=False)
        return clip

    def evidence(self, clip: Clip) -> Evidence:
        return Evidence(facts=clip.facts)

    def passages(self, clip: Clip, answer: str) -> list[Passage]:
        """The model's free text names no measured place reliably, so it cites no passage to play."""
        return []

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
    ) -> Iterator[str]:
        """Yield the answer's text as it is produced; see `stream` for its statistics."""
        return iter(self.stream(clip, question, history, settings))

    def stream(
        self, clip: Clip, question: str, history: Sequence[Turn] = (), settings: Settings = Settings()
    ) -> AnswerStream:
        return AnswerStream(self, clip, self.prompt(question, history, settings), settings)


class AnswerStream:
    """One answer being generated. Iterate for text pieces; `stats` is complete once iteration ends.

    Greedy and sampling stream token by token from a worker thread; beam modes yield once. Closing the
    iterator early (the user pressed Stop) cancels generation at the next token.
    """

    def __init__(self, coach: LLaQoCoach, clip: Clip, prompt: str, settings: Settings):
        self.coach, self.clip, self.prompt, self.settings = coach, clip, prompt, settings
        self.stats = AnswerStats(heard_s=clip.facts.heard_s)
        self.cancelled = threading.Event()

    def __iter__(self) -> Iterator[str]:
        coach, settings = self.coach, self.settings
        start = time.perf_counter()
        inputs = coach.inputs(self.clip, self.prompt)
        stop = StoppingCriteriaList([_Cancelled(self.cancelled)])
        if settings.mode not in STREAMED_MODES:
            with torch.inference_mode():
                ids = decoding.generate(coach.model.llm, inputs, settings, stopping_criteria=stop)[0].tolist()
            self._finish(coach.tokenizer.decode(ids), len(ids), start, time.perf_counter())
            yield self.stats.text
            return

        streamer = TextIteratorStreamer(_StreamDecoder(coach.tokenizer), skip_prompt=True)
        counter = _TokenCounter(streamer)
        error: list[BaseException] = []

        def work() -> None:
            try:
                with torch.inference_mode():
                    decoding.generate(coach.model.llm, inputs, settings, streamer=counter, stopping_criteria=stop)
            except BaseException as err:  # surfaced in the consumer's thread below
                error.append(err)
                streamer.end()

        worker = threading.Thread(target=work, name="llaqo-generate", daemon=True)
        worker.start()
        pieces, held = [], ""
        try:
            for piece in streamer:
                # Hold back whitespace at the edges, so the pieces join to the stripped answer, as the
                # original's .strip() gives it.
                text = held + piece if pieces else (held + piece).lstrip()
                body = text.rstrip()
                held = text[len(body) :]
                if body:
                    pieces.append(body)
                    yield body
        finally:
            # Reached on completion, on an error, and when the consumer closes us early.
            self.cancelled.set()
            worker.join()
        if error:
            raise error[0]
        if counter.first_token_at is not None:
            self.stats.time_to_first_token_s = counter.first_token_at - start
        self._finish("".join(pieces), counter.tokens, start, time.perf_counter())

    def _finish(self, text: str, tokens: int, start: float, end: float) -> None:
        stats = self.stats
        stats.text, stats.tokens = text, tokens
        if stats.time_to_first_token_s is None:
            stats.time_to_first_token_s = end - start
        decode_time = end - start - stats.time_to_first_token_s
        if tokens > 1 and decode_time > 0:
            stats.tokens_per_s = (tokens - 1) / decode_time
        elif tokens:  # beam modes: every token arrives at the end
            stats.tokens_per_s = tokens / (end - start)


class _TokenCounter:
    """A streamer that counts generated tokens, notes when the first arrived, and forwards them."""

    def __init__(self, streamer: TextIteratorStreamer):
        self.streamer = streamer
        self.tokens = 0
        self.first_token_at: float | None = None
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt ids (empty with inputs_embeds)
            self._prompt_seen = True
        else:
            self.tokens += value.numel()
            if self.first_token_at is None:
                self.first_token_at = time.perf_counter()
        self.streamer.put(value)

    def end(self) -> None:
        self.streamer.end()
