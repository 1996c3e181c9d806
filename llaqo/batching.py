"""Batched generation: one worker runs the LLM for every answer in flight, batching those that arrive together.

A `Row` is one answer: its LLM inputs (1, P, D), its decoding settings and its token budget. The
`Scheduler`'s worker takes the oldest waiting row, waits up to `fill_wait_s` for rows that can share its
`generate` call (the same decoding settings), left-pads them into one batch and runs `generate` once.
Rows submitted together as a group (the windows of a whole-recording scan, many recordings from the CLI)
are decoded together whatever `max_batch_size` is.

Tokens are split by row as they are produced: each row's consumer reads its own queue. A row that is
finished (its end token, its budget, or cancelled) stops receiving tokens and is marked done for
`generate` within one decoding step, while the other rows go on. The engine knows nothing of any UI.

Greedy and sampling batches can decode with a static KV cache (`BatchConfig.kv_cache`): transformers then
compiles the decoding step itself (on CUDA). A compiled step is specialised to the cache's shape, so shapes
come from a few buckets: the batch is padded with copies of its first row up to the next of `batch_buckets`,
and the cache holds a multiple of `length_step` positions. Each bucket compiles once, at its first batch or,
for `warm_up`'s batch sizes, when the scheduler is built. Beam search keeps transformers' dynamic cache: the
faithful mode's exact path.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, replace

import torch
from transformers import (
    CompileConfig,
    LlamaForCausalLM,
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    StaticCache,
    StoppingCriteria,
    StoppingCriteriaList,
)

from llaqo import decoding
from llaqo.model.llaqo import LLMInputs
from llaqo.protocol import Settings

log = logging.getLogger(__name__)

BEAM_MODES = ("beam", "faithful")


@dataclass
class BatchConfig:
    """How answers share the LLM. YAML keys are these field names (the `batch:` section of configs/llaqo.yaml)."""

    max_batch_size: int = 1
    """Answers (from any sessions) decoded together in one `generate` call. 1: one answer at a time, as before."""
    fill_wait_s: float = 0.0
    """How long the oldest waiting answer waits for others to join its batch before decoding starts."""
    max_group_size: int = 32
    """A group submitted together (a whole-recording scan) is decoded in batches of at most this many rows."""
    kv_cache: str = "auto"
    """Greedy and sampling: dynamic (grows by one position per token), static (preallocated, in buckets; its
    decoding step compiled by transformers on CUDA), or auto: static on CUDA, dynamic on the CPU, where the
    static cache measured no faster (bench/RESULTS.md). Beam search always uses the dynamic cache."""
    batch_buckets: tuple[int, ...] = (1, 2, 4, 8, 16, 24, 32)
    """Static cache: batch sizes it is compiled for; a batch is padded up to the next one (past the last, to
    a multiple of it). Only the buckets the batches reach are ever compiled or allocated."""
    length_step: int = 256
    """Static cache: it holds the padded prompt and the longest budget, rounded up to a multiple of this many
    positions (256: the original's whole length, so a default answer always fits one step)."""
    compile: str = "auto"
    """Static cache: auto (transformers compiles the decoding step where it does: CUDA, most quantized weights
    included), never (the static cache decoded eagerly: the same memory, no compile time; the memory benchmark's
    fresh processes use it), or always (the CPU too, through transformers' testing switch: for measuring)."""
    warm_up: tuple[int, ...] | None = None
    """Static cache: batch sizes compiled when the scheduler is built (at `length_step` positions), so that
    their first answer does not wait for the compiler; other buckets compile at their first batch. None: one
    answer and a full batch (1 and max_batch_size)."""


class Row:
    """One answer in flight. The worker pushes token ids to it; its consumer reads them with `get`.

    Raises PromptTooLong (in the caller's thread) when the prompt leaves no room for an answer.
    """

    FINISHED = None
    """What `get` returns after the last token."""

    def __init__(self, inputs: LLMInputs, settings: Settings):
        self.inputs, self.settings = inputs, settings
        self.budget = decoding.new_token_budget(settings, inputs.prompt_length)
        self.cancelled = threading.Event()
        self.ids: list[int] = []
        """The answer's token ids so far (written by the worker)."""
        self.tokens = 0
        self.first_token_at: float | None = None
        self.done = False
        self._queue: queue.SimpleQueue = queue.SimpleQueue()

    @property
    def key(self) -> tuple:
        """Rows with equal keys can share one generate call: the same decoding settings; for beam search the
        same budget (it has one for the whole batch); for sampling the same prompt length (see Scheduler.run)."""
        plain = replace(self.settings, max_new_tokens=None, use_history=False, scope="window", stride_s=None)
        if self.settings.mode in BEAM_MODES:
            return (plain, self.budget)
        if self.settings.mode == "sample":  # no padding: the penalty must come before the sampling warpers
            return (plain, self.inputs.prompt_length)
        return (plain,)

    def cancel(self) -> None:
        """Thread-safe: the worker drops the row at its next decoding step."""
        self.cancelled.set()

    def get(self, timeout: float | None = None) -> int | None:
        """The next token id, or FINISHED. Raises queue.Empty after timeout, or the worker's error."""
        item = self._queue.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def push(self, token: int, eos_id: int) -> None:
        if self.done:
            return
        if self.cancelled.is_set():
            self.finish()
            return
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.tokens += 1
        self.ids.append(token)
        self._queue.put(token)
        if token == eos_id or self.tokens >= self.budget:
            self.finish()

    def fail(self, error: BaseException) -> None:
        if not self.done:
            self.done = True
            self._queue.put(error)

    def finish(self) -> None:
        if not self.done:
            self.done = True
            self._queue.put(self.FINISHED)


def left_pad(inputs: list[LLMInputs]) -> LLMInputs:
    """Rows of (1, P_i, D) -> one (B, max P, D) batch, padded on the left with zeros under a zero mask.

    generate() derives the position ids from the mask, so each row sees the positions it would see alone.
    """
    if len(inputs) == 1:
        return inputs[0]
    length = max(i.prompt_length for i in inputs)
    embeds, masks = [], []
    for row in inputs:
        gap = length - row.prompt_length
        embeds.append(torch.nn.functional.pad(row.inputs_embeds, (0, 0, gap, 0)))
        masks.append(torch.nn.functional.pad(row.attention_mask, (gap, 0)))
    return LLMInputs(torch.cat(embeds), torch.cat(masks))


class _RowsDone(StoppingCriteria):
    """Per row: done once cancelled or past its budget; the `padding` rows after them (a static bucket's
    filler) are done from the start. Beam search stops only when every row is cancelled."""

    def __init__(self, rows: list[Row], beams: int, padding: int = 0):
        self.rows, self.beams, self.padding = rows, beams, padding

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.BoolTensor:
        if self.beams > 1:
            stop = all(row.cancelled.is_set() for row in self.rows)
            return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)
        generated = input_ids.shape[1]  # with inputs_embeds, input_ids holds the new tokens only
        done = [row.cancelled.is_set() or generated >= row.budget for row in self.rows] + [True] * self.padding
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class _RowSplitter:
    """A generate() streamer that hands each row its own tokens and skips rows that are finished (and the
    padding rows after them)."""

    def __init__(self, rows: list[Row], eos_id: int):
        self.rows, self.eos_id = rows, eos_id
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt ids (empty with inputs_embeds)
            self._prompt_seen = True
            return
        tokens = value.reshape(-1).tolist()[: len(self.rows)]
        for row, token in zip(self.rows, tokens, strict=True):
            row.push(token, self.eos_id)

    def end(self) -> None:
        for row in self.rows:
            row.finish()


def bucket(n: int, sizes: tuple[int, ...]) -> int:
    """The smallest of sizes (ascending) that holds n; past the largest, the next multiple of the largest."""
    for size in sizes:
        if n <= size:
            return size
    return -(-n // sizes[-1]) * sizes[-1]


class Scheduler:
    """Runs every generation for one LLM on one worker thread, in batches. Thread-safe."""

    def __init__(self, llm: LlamaForCausalLM, config: BatchConfig, eos_id: int):
        self.llm, self.config, self.eos_id = llm, config, eos_id
        if config.kv_cache not in ("auto", "static", "dynamic"):
            raise ValueError(f"kv_cache must be auto, static or dynamic (got {config.kv_cache!r})")
        self.static = config.kv_cache == "static" or (config.kv_cache == "auto" and llm.device.type == "cuda")
        """Whether greedy and sampling batches decode with a static KV cache."""
        self._pending: list[list[Row]] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self.batch_sizes: list[int] = []
        """The size of every batch decoded so far (for tests and benchmarks)."""
        self.cache_shapes: list[tuple[int, int]] = []
        """The (rows, positions) of every static cache used so far, warm-up included."""
        self._cache: tuple[tuple[int, int], StaticCache] | None = None
        # transformers compiles a static cache's decoding step on accelerators only, and not for every kind of
        # quantized weights (GenerationMixin._valid_auto_compile_criteria); otherwise it decodes the static cache
        # eagerly, which needs no warm-up.
        if config.compile not in ("auto", "never", "always"):
            raise ValueError(f"compile must be auto, never or always (got {config.compile!r})")
        quantizer = getattr(llm, "hf_quantizer", None)
        self.compiles = self.static and (
            config.compile == "always"
            or config.compile == "auto"
            and llm.device.type in ("cuda", "xpu")
            and (quantizer is None or quantizer.is_compileable)
        )
        """Whether transformers compiles the static cache's decoding step."""
        self._compile = {"disable_compile": not self.compiles}
        if config.compile == "always":
            compile_config = CompileConfig(mode="reduce-overhead" if llm.device.type == "cuda" else "default")
            compile_config._compile_all_devices = True  # transformers' switch to compile on the CPU
            self._compile["compile_config"] = compile_config
        self.warm_up_s = self.warm_up() if self.compiles else 0.0
        log.info("LLaQo engine ready: %s", self.describe())

    def describe(self) -> str:
        """The KV cache in use and its warm-up, in words (the log line at load, the app's banner)."""
        if not self.static:
            return "dynamic KV cache"
        cache = f"static KV cache in steps of {self.config.length_step} positions"
        if not self.compiles:
            return f"{cache}, decoded eagerly"
        sizes = ", ".join(map(str, self.warm_up_sizes)) or "none"
        return (
            f"{cache}; the decoding step compiled for batch sizes {sizes} in {self.warm_up_s:.1f} s at load, "
            "for other sizes at their first batch"
        )

    @property
    def warm_up_sizes(self) -> tuple[int, ...]:
        if self.config.warm_up is not None:
            return self.config.warm_up
        return tuple(sorted({1, self.config.max_batch_size}))

    def warm_up(self) -> float:
        """Decode a few steps for each warm_up batch size, so that transformers compiles their decoding step
        now. Returns the seconds it took."""
        start = time.perf_counter()
        embeddings = self.llm.get_input_embeddings().weight
        steps = 4  # CUDA graphs are recorded from the second call of a compiled step on, then replayed
        for size in self.warm_up_sizes:
            rows = bucket(size, self.config.batch_buckets)
            embeds = torch.zeros(rows, 8, embeddings.shape[1], dtype=embeddings.dtype, device=embeddings.device)
            mask = torch.ones(rows, 8, dtype=torch.long, device=embeddings.device)
            # generate() drops a mask of all ones, and a step compiled without a mask does not serve one with it:
            # one answer has no padding, while a batch of concurrent answers usually has some.
            mask[0, 0] = 0 if rows > 1 else 1
            with torch.inference_mode():
                self.llm.generate(
                    inputs_embeds=embeds,
                    attention_mask=mask,
                    max_new_tokens=steps,
                    min_new_tokens=steps,  # however soon the model would end
                    do_sample=False,
                    cache=self._static_cache(rows, 8 + steps),
                    **self._compile,
                )
        return time.perf_counter() - start

    def _static_cache(self, rows: int, positions: int) -> StaticCache:
        """The static cache for rows x positions, rounded up to its bucket.

        The last batch's cache is kept and reused (zeroed) by the next batch of its bucket: a compiled step
        replays its CUDA graphs only while the cache stays at the same addresses, and re-records them
        otherwise. A batch of another bucket frees it before allocating its own, so memory never holds more
        than one cache. Made in inference mode, as generate runs: a compiled step specialises on that too."""
        shape = (rows, -(-positions // self.config.length_step) * self.config.length_step)
        self.cache_shapes.append(shape)
        with torch.inference_mode():
            if self._cache is not None and self._cache[0] == shape:
                self._cache[1].reset()
                return self._cache[1]
            self._cache = None
            cache = StaticCache(config=self.llm.config.get_text_config(decoder=True), max_cache_len=shape[1])
        self._cache = (shape, cache)
        return cache

    def submit(self, rows: list[Row]) -> list[Row]:
        """Queue rows: one answer, or a group to be decoded together. Returns them."""
        with self._cond:
            self._pending.append(list(rows))
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="llaqo-batches", daemon=True)
                self._worker.start()
            self._cond.notify_all()
        return rows

    def _take(self) -> list[Row]:
        """The next batch: part of the oldest group, or the oldest single row and compatible ones."""
        config = self.config
        with self._cond:
            while not self._pending:
                self._cond.wait()
            first = self._pending[0]
            if len(first) > 1:
                batch, first[:] = first[: config.max_group_size], first[config.max_group_size :]
                if not first:
                    self._pending.pop(0)
                return batch
            key = first[0].key
            deadline = time.monotonic() + config.fill_wait_s
            while True:
                joining = [g for g in self._pending if len(g) == 1 and g[0].key == key][: config.max_batch_size]
                left = deadline - time.monotonic()
                if len(joining) >= config.max_batch_size or left <= 0:
                    break
                self._cond.wait(left)
            for group in joining:
                self._pending.remove(group)
            return [g[0] for g in joining]

    def _work(self) -> None:
        while True:
            rows = self._take()
            for row in rows:
                if row.cancelled.is_set():
                    row.finish()
            rows = [row for row in rows if not row.done]
            if rows:
                self.run(rows)

    def run(self, rows: list[Row]) -> None:
        """Decode rows that share their settings in one generate call; every row ends finished or failed."""
        self.batch_sizes.append(len(rows))
        settings = rows[0].settings
        kwargs = decoding.generate_kwargs(settings, rows[0].inputs.prompt_length)
        beams = kwargs["num_beams"]
        padding = 0
        if self.static and beams == 1:
            # Copies of the first row fill the batch up to its bucket: real rows never see them, and the first
            # row's copies never produce a padding-only row, whose attention would have nothing to attend to.
            padding = bucket(len(rows), self.config.batch_buckets) - len(rows)
        inputs = left_pad([row.inputs for row in rows] + [rows[0].inputs] * padding)
        budget = max(row.budget for row in rows)
        extra = {
            "max_new_tokens": budget,
            "stopping_criteria": StoppingCriteriaList([_RowsDone(rows, beams, padding)]),
        }
        if self.static and beams == 1:
            extra["cache"] = self._static_cache(len(rows) + padding, inputs.prompt_length + budget)
            extra.update(self._compile)
        if inputs.attention_mask.min() == 0 and kwargs["repetition_penalty"] != 1.0:
            # generate() would exempt as many generated tokens from the penalty as a row has padding
            # positions (it takes them for prompt ids, which inputs_embeds leaves empty); the plain processor
            # penalises every generated token, as for a row alone. Sampling rows never get here with padding.
            extra["repetition_penalty"] = 1.0
            extra["logits_processor"] = LogitsProcessorList(
                [RepetitionPenaltyLogitsProcessor(kwargs["repetition_penalty"])]
            )
        try:
            with torch.inference_mode():
                if beams > 1:  # beam search cannot stream: every row's tokens arrive at the end
                    ids = decoding.generate(self.llm, inputs, settings, **extra)
                    for row, out in zip(rows, ids.tolist(), strict=True):
                        for token in out:
                            row.push(token, self.eos_id)
                else:
                    decoding.generate(self.llm, inputs, settings, streamer=_RowSplitter(rows, self.eos_id), **extra)
        except Exception as err:  # handed to every row's consumer, which raises it in its own thread
            log.exception("generation failed")
            for row in rows:
                row.fail(err)
        for row in rows:
            row.finish()
