"""Batched generation on a tiny random model: batched answers equal one-at-a-time answers token for token,
a cancelled row stops while the others finish, and a whole-recording scan covers the recording. The static
KV cache (not the CPU's default) runs here too: its answers equal the dynamic cache's, token for token."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from llaqo import audio, scan
from llaqo.batching import BatchConfig, Row, bucket
from llaqo.coach import CoachConfig, LLaQoCoach
from llaqo.protocol import Settings
from llaqo.synthetic import synth_piano

QUESTIONS = [
    "How was my pedalling?",
    "Rate the dynamics on a scale of 5.",
    "What should I practise?",
    "Tempo?",
    "Was the articulation clean and even throughout the fast passages of the piece?",
    "How was the balance between the hands?",
    "Any wrong notes?",
    "Describe the phrasing of the opening, and tell me how to shape it better next time.",
]


@pytest.fixture(scope="module")
def takes(tmp_path_factory) -> list:
    folder = tmp_path_factory.mktemp("takes")
    return [synth_piano(folder / f"take{i}.wav", seconds=4.0 + i, seed=i) for i in range(4)]


@pytest.fixture(scope="module")
def alone(release) -> LLaQoCoach:
    """Answers one at a time (batch size 1), as before batching."""
    return LLaQoCoach(CoachConfig(paths=release))


@pytest.fixture(scope="module")
def batched(release) -> LLaQoCoach:
    return LLaQoCoach(CoachConfig(paths=release, batch=BatchConfig(max_batch_size=8, fill_wait_s=1.0)))


@pytest.fixture(scope="module")
def static(release) -> LLaQoCoach:
    """Batched, with the static KV cache (on the CPU, where it is not the default: transformers compiles only on
    CUDA, so this is its eager path, with the same buckets and padding rows)."""
    config = BatchConfig(max_batch_size=8, fill_wait_s=1.0, kv_cache="static", batch_buckets=(1, 2, 4, 8, 16))
    return LLaQoCoach(CoachConfig(paths=release, batch=config))


def concurrently(calls) -> list:
    """Run the calls on threads at once; their results in order."""
    results = [None] * len(calls)

    def run(i):
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.parametrize("mode", ["greedy", "faithful"])
@pytest.mark.parametrize("engine", ["batched", "static"])
def test_batched_answers_equal_answers_one_at_a_time(alone, request, takes, mode, engine):
    batched = request.getfixturevalue(engine)
    settings = Settings(mode=mode, max_new_tokens=24)
    jobs = [(takes[i % len(takes)], q) for i, q in enumerate(QUESTIONS)]

    def ask(coach, path, question):
        stream = coach.stream(coach.prepare(path), question, settings=settings)
        pieces = [p for p in stream if p]
        return stream.stats, pieces

    expected = [ask(alone, path, q) for path, q in jobs]
    before = len(batched.scheduler.batch_sizes)
    got = concurrently([lambda p=p, q=q: ask(batched, p, q) for p, q in jobs])
    sizes = batched.scheduler.batch_sizes[before:]
    assert max(sizes) > 1, f"the answers were batched (batch sizes {sizes})"
    assert alone.scheduler.batch_sizes and set(alone.scheduler.batch_sizes) == {1}
    for (want, _), (stats, pieces) in zip(expected, got, strict=True):
        assert stats.text == want.text and stats.tokens == want.tokens
        assert "".join(pieces) == stats.text


@pytest.mark.parametrize("engine", ["batched", "static"])
def test_rows_keep_their_own_budgets(request, takes, engine):
    batched = request.getfixturevalue(engine)
    clip = batched.prepare(takes[0])
    short, long = Settings(max_new_tokens=3), Settings(max_new_tokens=15)
    with_eos_off(batched)
    try:
        rows = [Row(batched.inputs(clip, QUESTIONS[0]), short), Row(batched.inputs(clip, QUESTIONS[4]), long)]
        batched.scheduler.run(rows)
    finally:
        with_eos_off(batched, restore=True)
    assert [row.tokens for row in rows] == [3, 15]


_EOS = {}


def with_eos_off(coach, restore=False):
    config = coach.model.llm.generation_config
    if restore:
        config.eos_token_id = _EOS.pop(id(coach))
    else:
        _EOS[id(coach)] = config.eos_token_id
        config.eos_token_id = None


@pytest.mark.parametrize("engine", ["batched", "static"])
def test_a_cancelled_row_stops_while_the_others_finish(request, takes, engine):
    batched = request.getfixturevalue(engine)
    clip = batched.prepare(takes[1])
    settings = Settings(max_new_tokens=120)
    rows = [Row(batched.inputs(clip, q), settings) for q in QUESTIONS[:3]]
    llm = batched.model.llm
    handle = llm.register_forward_pre_hook(lambda *_: time.sleep(0.01))  # 120 steps: over a second
    with_eos_off(batched)
    try:
        batched.scheduler.submit(rows)
        first = rows[1].get(timeout=30)
        assert first is not None
        rows[1].cancel()
        for row in rows:
            while row.get(timeout=30) is not Row.FINISHED:
                pass
    finally:
        handle.remove()
        with_eos_off(batched, restore=True)
    assert rows[0].tokens == rows[2].tokens == 120, "the other rows finished"
    assert rows[1].tokens <= 3, f"the cancelled row went on for {rows[1].tokens} tokens"


def test_closing_one_stream_leaves_the_others(alone, batched, takes):
    settings = Settings(max_new_tokens=20)
    clip = batched.prepare(takes[2])
    want = ["".join(alone.answer(alone.prepare(takes[2]), q, settings=settings)) for q in QUESTIONS[:3]]
    streams = [iter(batched.answer(clip, q, settings=settings)) for q in QUESTIONS[:3]]

    def read(i):
        if i == 1:
            next(p for p in streams[i] if p)
            streams[i].close()
            return None
        return "".join(streams[i])

    got = concurrently([lambda i=i: read(i) for i in range(3)])
    assert got[0] == want[0] and got[2] == want[2]


def test_window_starts_cover_the_recording():
    span = audio.SEGMENT_SECONDS
    assert scan.window_starts(30.0, span, 10.24) == [0.0, 10.24, 19.76]
    assert scan.window_starts(30.0, span, 5.0) == [0.0, 5.0, 10.0, 15.0, 19.76]
    assert scan.window_starts(4.0, span, 5.0) == [0.0], "a take shorter than a window is heard once"
    with pytest.raises(audio.AudioError, match="stride"):
        scan.window_starts(30.0, span, 12.0)
    with pytest.raises(audio.AudioError, match="stride"):
        scan.window_starts(30.0, span, 0.5)


def test_merge_joins_neighbours_that_say_the_same():
    spans = [(0.0, 10.24), (5.0, 15.24), (10.0, 20.24), (15.0, 25.24)]
    merged = scan.merge(spans, ["Good.", "Good. ", "Rushed.", "Good."])
    assert merged == [(0.0, 15.24, "Good."), (10.0, 20.24, "Rushed."), (15.0, 25.24, "Good.")]
    assert scan.describe(merged).splitlines()[0] == "**0:00–0:15** Good."


def test_whole_scan_asks_every_window(alone, batched, tmp_path):
    take = synth_piano(tmp_path / "long.wav", seconds=30.0, seed=3)
    settings = Settings(max_new_tokens=12, scope="whole", stride_s=5.0)
    clip = batched.prepare(take)
    before = len(batched.scheduler.batch_sizes)
    stream = batched.stream(clip, QUESTIONS[0], settings=settings)
    text = "".join(stream)
    windows = batched.scan(clip, 5.0)
    assert windows.spans == [(0.0, 10.24), (5.0, 15.24), (10.0, 20.24), (15.0, 25.24), (19.76, 30.0)]
    assert batched.scheduler.batch_sizes[before:] == [5], "all windows in one generate call"
    assert stream.stats.heard_s == (0.0, 30.0)
    # Each window's answer is the answer the window scope gives from that start offset.
    window = Settings(max_new_tokens=12)
    answers = [
        "".join(alone.answer(alone.prepare(take, start_s=s), QUESTIONS[0], settings=window)) for s, _ in windows.spans
    ]
    assert text == stream.stats.text == scan.describe(scan.merge(windows.spans, answers))
    assert torch.is_tensor(windows.chunks[0])


def test_which_rows_share_a_batch(alone, takes):
    clip = alone.prepare(takes[0])
    short, long = (alone.inputs(clip, q) for q in (QUESTIONS[3], QUESTIONS[7]))
    assert short.prompt_length != long.prompt_length

    def same(settings_a, settings_b, a=short, b=long):
        return Row(a, settings_a).key == Row(b, settings_b).key

    greedy = Settings(max_new_tokens=8)
    assert same(greedy, greedy), "greedy rows batch whatever their prompt lengths (left padding)"
    assert same(greedy, Settings(max_new_tokens=30)), "each row keeps its own budget"
    assert not same(greedy, Settings(max_new_tokens=8, repetition_penalty=1.0))
    sample = Settings(mode="sample", max_new_tokens=8)
    assert not same(sample, sample), "sampling rows batch only without padding"
    assert same(sample, sample, long, long)
    assert not same(Settings(mode="faithful"), Settings(mode="faithful")), "beam search has one budget per batch"
    assert same(Settings(mode="faithful", max_new_tokens=8), Settings(mode="faithful", max_new_tokens=8))


def test_static_batches_are_padded_to_their_bucket(alone, static, takes):
    """Three answers of different prompt lengths decode as a bucket of 4 rows in a 256-position cache; the
    padding row is nobody's answer, and each row's ids are its ids alone with the dynamic cache."""
    assert [bucket(n, (1, 2, 4, 8)) for n in (1, 2, 3, 5, 8, 9, 17)] == [1, 2, 4, 8, 8, 16, 24]
    clip = static.prepare(takes[3])
    settings = Settings(max_new_tokens=20)
    questions = QUESTIONS[3], QUESTIONS[4], QUESTIONS[7]
    rows = [Row(static.inputs(clip, q), settings) for q in questions]
    before = len(static.scheduler.cache_shapes)
    static.scheduler.run(rows)
    assert static.scheduler.cache_shapes[before:] == [(4, 256)]
    for question, row in zip(questions, rows, strict=True):
        want = Row(alone.inputs(alone.prepare(takes[3]), question), settings)
        alone.scheduler.run([want])
        assert row.ids == want.ids and row.done


def test_the_static_cache_grows_by_whole_steps(static, takes):
    """A budget past one step of 256 positions gets a cache of two steps, never more than the batch needs."""
    clip = static.prepare(takes[0])
    with_eos_off(static)
    try:
        row = Row(static.inputs(clip, QUESTIONS[0]), Settings(max_new_tokens=300))
        before = len(static.scheduler.cache_shapes)
        static.scheduler.run([row])
    finally:
        with_eos_off(static, restore=True)
    assert static.scheduler.cache_shapes[before:] == [(1, 512)]
    assert row.tokens == 300


def test_sampling_runs_with_the_static_cache(static, takes):
    clip = static.prepare(takes[0])
    torch.manual_seed(0)
    text = "".join(static.answer(clip, QUESTIONS[0], settings=Settings(mode="sample", max_new_tokens=12)))
    assert isinstance(text, str)
    assert static.scheduler.static and "static KV cache" in static.scheduler.describe()


def test_the_warm_up_decodes_each_of_its_batch_sizes(release):
    """On CUDA it runs at load, so that transformers compiles those buckets' decoding step before any answer."""
    config = BatchConfig(kv_cache="static", batch_buckets=(1, 2, 4, 8), warm_up=(1, 3))
    scheduler = LLaQoCoach(CoachConfig(paths=release, batch=config)).scheduler
    assert not scheduler.compiles and scheduler.cache_shapes == [], "nothing to compile on the CPU"
    assert scheduler.warm_up() > 0
    assert scheduler.cache_shapes == [(1, 256), (4, 256)]


@pytest.mark.slow
def test_the_compiled_static_cache_gives_the_same_ids(release, alone, takes):
    """transformers' compiled decoding step (CUDA's default), forced on the CPU: warmed up at load for one answer,
    compiled at its first batch for three (a bucket of 4), each answer's ids equal to the dynamic cache's."""
    config = BatchConfig(max_batch_size=3, fill_wait_s=1.0, kv_cache="static", compile="always", warm_up=(1,))
    compiled = LLaQoCoach(CoachConfig(paths=release, batch=config))
    assert compiled.scheduler.compiles and compiled.scheduler.warm_up_s > 0
    settings = Settings(max_new_tokens=16)
    for questions in (QUESTIONS[:1], QUESTIONS[1:4]):
        clip = compiled.prepare(takes[0])
        rows = [Row(compiled.inputs(clip, q), settings) for q in questions]
        compiled.scheduler.run(rows)
        for question, row in zip(questions, rows, strict=True):
            want = Row(alone.inputs(alone.prepare(takes[0]), question), settings)
            alone.scheduler.run([want])
            assert row.ids == want.ids
    assert compiled.scheduler.cache_shapes == [(1, 256), (1, 256), (4, 256)]


def test_one_static_cache_is_kept_for_its_bucket(alone, static, takes):
    """The next batch of the same bucket reuses the last cache (the same addresses, which a compiled step's CUDA
    graphs need), zeroed: its ids are its ids alone; a batch of another bucket gets a cache of its own."""
    llm, caches = static.model.llm, []
    generate = llm.generate
    llm.generate = lambda *args, **kwargs: caches.append(kwargs["cache"]) or generate(*args, **kwargs)
    settings = Settings(max_new_tokens=10)
    clip = static.prepare(takes[1])
    batches = [QUESTIONS[:1], QUESTIONS[1:2], QUESTIONS[2:5], QUESTIONS[5:6]]
    try:
        answers = []
        for questions in batches:
            rows = [Row(static.inputs(clip, q), settings) for q in questions]
            static.scheduler.run(rows)
            answers.append(rows[0].ids)
    finally:
        del llm.generate
    assert caches[0] is caches[1] and caches[2] is not caches[1] and caches[3] is not caches[0]
    want = Row(alone.inputs(alone.prepare(takes[1]), QUESTIONS[1]), settings)
    alone.scheduler.run([want])
    assert answers[1] == want.ids
