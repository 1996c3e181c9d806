"""Fine-tuning: labels, schedule, parameter groups, data sharding, and real (tiny) training runs on the CPU.

The QA data is synthesized: fast (240 BPM) or slow (70 BPM) piano, asked about its tempo, so the answers depend
on the audio. Loudness cannot carry the answer: the front end peak-normalises every recording.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml
from conftest import two_process_launch

from llaqo import checkpoint
from llaqo.config import PathsConfig, from_dict, load_yaml, to_dict
from llaqo.synthetic import synth_piano
from llaqo.training.batches import StepBatches, evaluation_samples, training_samples
from llaqo.training.collate import IGNORE_INDEX, Collator, read_csv, splice_labels
from llaqo.training.config import DataConfig, LoRAConfig, OptimConfig, TrainConfig
from llaqo.training.data.tasks import OPEN, RATING
from llaqo.training.recipe import TRAINABLE, WarmupCosine, mark_trainable, param_groups, schedule
from llaqo.training.train import METRICS_FILE, train

ROOT = Path(__file__).resolve().parents[1]
REAL_METADATA = ROOT.parent / "shared" / "metadatas"
STEPS = 8


def write_tempo_qa(folder: Path, clips: int = 8) -> Path:
    """Clips alternating fast/slow, each with an open and a rating question. Returns the CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(clips):
        fast = i % 2 == 0
        name = f"clip{i}.wav"
        synth_piano(folder / name, seconds=3.0, sample_rate=16000, bpm=240 if fast else 70, seed=i)
        rows.append({"audio": name, "question": "Is the tempo fast or slow?", "answer": "fast" if fast else "slow"})
        rows.append(
            {
                "audio": name,
                "question": "How would you rate the tempo on a scale of 1 to 5?",
                "answer": "5" if fast else "1",
            }
        )
    path = folder / "qa.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["audio", "question", "answer"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def tiny_config(release: PathsConfig, qa: Path, out_dir: Path, **changes) -> TrainConfig:
    config = TrainConfig(
        paths=release,
        out_dir=str(out_dir),
        data=DataConfig(csv=str(qa), eval_csv=str(qa), num_workers=0),
        optim=OptimConfig(lr=1e-2, warmup_steps=2, iters_per_inner_epoch=1000),
        batch_size=4,
        max_steps=STEPS,
        log_every=1,
        save_every=STEPS,
        eval_every=STEPS,
    )
    return replace(config, **changes)


def read_metrics(out_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (out_dir / METRICS_FILE).read_text().splitlines()]


def losses(out_dir: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(out_dir) if "loss" in r}


@pytest.fixture(scope="module")
def qa(tmp_path_factory) -> Path:
    return write_tempo_qa(tmp_path_factory.mktemp("qa"))


@pytest.fixture(scope="module")
def full_run(release, qa, tmp_path_factory) -> tuple[TrainConfig, Path]:
    """An uninterrupted run of STEPS steps; returns its config and the last checkpoint."""
    config = tiny_config(release, qa, tmp_path_factory.mktemp("full"))
    return config, train(config)


# --- pieces -----------------------------------------------------------------------------------------------------


def test_finetune_yaml_is_the_original_recipe():
    config = load_yaml(TrainConfig, ROOT / "configs" / "finetune.yaml")
    assert config == TrainConfig()  # the YAML spells out every default, and nothing else
    assert (config.optim.lr, config.optim.min_lr, config.optim.warmup_lr) == (1e-4, 1e-5, 1e-6)
    assert (config.optim.warmup_steps, config.optim.iters_per_inner_epoch) == (2000, 3000)
    assert config.optim.betas == (0.9, 0.999) and config.optim.weight_decay == 0.05
    assert (config.batch_size, config.seed, config.mixed_precision) == (4, 42, "fp16")
    assert not config.lora.enabled and config.bridge.llm_tokens == "first_query"
    assert from_dict(TrainConfig, to_dict(config)) == config
    with pytest.raises(ValueError, match="unknown OptimConfig keys: learning_rate"):
        from_dict(TrainConfig, {"optim": {"learning_rate": 1e-4}})


def test_schedule_warms_up_then_decays_per_inner_epoch():
    config = TrainConfig()  # 30000 steps: 10 inner epochs of 3000
    lr = [config.optim.lr * schedule(config)(step) for step in range(config.max_steps)]
    assert lr[0] == pytest.approx(1e-6)
    assert lr[1000] == pytest.approx(1e-6 + (1e-4 - 1e-6) / 2)
    assert lr[2000] == pytest.approx(1e-4) and lr[2999] == pytest.approx(1e-4)
    assert lr[3000] == lr[5999] == pytest.approx(1e-5 + (1e-4 - 1e-5) * (1 + math.cos(math.pi / 10)) / 2)
    after_warmup = lr[2000:]
    assert all(a >= b for a, b in zip(after_warmup, after_warmup[1:], strict=False))
    assert lr[-1] == pytest.approx(1e-5 + (1e-4 - 1e-5) * (1 + math.cos(math.pi * 9 / 10)) / 2)  # last epoch
    short = WarmupCosine(1e-4, 1e-5, 1e-6, 0, 10, 1)  # no warm-up, one epoch: lr throughout
    assert short(0) == pytest.approx(1.0)


def test_trainable_parts_and_weight_decay_groups(release):
    model = checkpoint.load(release).model
    mark_trainable(model)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(name.split(".")[0] in TRAINABLE for name in trainable)
    assert not any(p.requires_grad for p in model.llm.parameters())
    assert all(p.dtype == torch.float32 for p in model.parameters() if p.requires_grad)
    decay, no_decay = param_groups(model, 0.05)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"]) and all(p.ndim < 2 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(trainable)
    names = {id(p): n for n, p in model.named_parameters()}
    assert "llm_proj.weight" in {names[id(p)] for p in decay["params"]}
    assert {"llm_proj.bias", "ln_audio.weight"} <= {names[id(p)] for p in no_decay["params"]}


def test_labels_cover_the_answer_and_eos_and_align_with_the_splice(release, qa):
    loaded = checkpoint.load(release)
    model, tokenizer = loaded.model, loaded.tokenizer
    samples = read_csv(qa)[:2]  # two questions of different lengths
    batch = Collator(tokenizer, train=True)(samples)
    eos = tokenizer.prompt.eos_id
    for row, sample in enumerate(samples):
        question = tokenizer.prompt.encode(sample.question)
        answer = tokenizer.prompt.encode(sample.answer)[1:] + [eos]
        length = len(question) + len(answer)
        assert batch.prompt_ids[row, :length].tolist() == question + answer
        assert batch.prompt_mask[row].tolist() == [1] * length + [0] * (batch.prompt_ids.shape[1] - length)
        expected = [IGNORE_INDEX] * len(question) + answer
        expected += [IGNORE_INDEX] * (batch.prompt_ids.shape[1] - length)
        assert batch.labels[row].tolist() == expected
    assert batch.fbank.shape == (2, 4096, 128)

    # Every target sits where the LLM reads that very token: its embedding, at the spliced position.
    with torch.no_grad():
        tokens = model.project(
            model.query_audio(model.encode_audio(batch.fbank), batch.qformer_ids, batch.qformer_mask)
        )
        inputs = model.llm_inputs(tokens, batch.prompt_ids, batch.prompt_mask)
    targets = splice_labels(batch.labels, tokens.shape[1])
    assert targets.shape == inputs.attention_mask.shape
    table = model.llm.get_input_embeddings().weight
    positions = (targets != IGNORE_INDEX).nonzero().tolist()
    assert len(positions) == sum(len(tokenizer.prompt.encode(s.answer)) for s in samples)  # answer + EOS each
    for row, position in positions:
        expected = table[targets[row, position]].half().to(inputs.inputs_embeds.dtype)
        assert torch.equal(inputs.inputs_embeds[row, position], expected)
        assert inputs.attention_mask[row, position] == 1


def test_csv_rows_become_samples_with_tasks(qa, tmp_path):
    samples = read_csv(qa)
    assert len(samples) == 16 and {s.task for s in samples} == {OPEN, RATING}
    assert all(s.audio_path.is_file() and s.dataset == "csv" for s in samples)
    (tmp_path / "bad.csv").write_text("audio,question\nx.wav,Is it fast?\n")
    with pytest.raises(ValueError, match=r"missing columns \['answer'\]"):
        read_csv(tmp_path / "bad.csv")


@pytest.mark.skipif(not REAL_METADATA.is_dir(), reason="needs ../shared/metadatas")
def test_the_tables_feed_training_and_evaluation(tmp_path):
    config = DataConfig(metadata_dir=str(REAL_METADATA), audio_root=str(tmp_path), datasets=("Burgmuller", "PISA"))
    samples = training_samples(config)
    assert set(samples) == {"Burgmuller", "PISA"}
    assert all(s.split == "train" and s.audio_path.is_relative_to(tmp_path) for v in samples.values() for s in v)
    held_out = evaluation_samples(replace(config, eval_split="test", eval_samples=6))
    assert len(held_out) == 6 and all(s.split == "test" for s in held_out)
    assert [s.dataset for s in held_out] == ["Burgmuller", "PISA"] * 3
    with pytest.raises(ValueError, match="unknown datasets"):
        training_samples(replace(config, datasets=("Burgmuller", "nope")))


def test_processes_share_one_seeded_stream(qa):
    data = {"csv": read_csv(qa)}
    alone = StepBatches(data, None, batch_size=4, rank=0, world=1, seed=42)
    pair = [StepBatches(data, None, batch_size=2, rank=r, world=2, seed=42) for r in range(2)]
    streams = [iter(alone), *map(iter, pair)]
    for _ in range(10):  # past the end of the first epoch (16 samples)
        whole, first, second = (next(s) for s in streams)
        assert whole == first + second
    later = StepBatches(data, None, batch_size=4, rank=0, world=1, seed=42)
    later.start = 3
    again = iter(StepBatches(data, None, batch_size=4, rank=0, world=1, seed=42))
    skipped = [next(again) for _ in range(4)][-1]
    assert next(iter(later)) == skipped


# --- real runs ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_training_lowers_the_loss_and_writes_a_loadable_checkpoint(release, full_run):
    config, last = full_run
    records = read_metrics(Path(config.out_dir))
    evals = [r["eval_loss"] for r in records if "eval_loss" in r]
    assert len(evals) == 2 and evals[-1] < evals[0] - 0.05, evals
    assert sorted(losses(Path(config.out_dir))) == list(range(1, STEPS + 1))
    assert last.name == f"step-{STEPS:07d}"

    trained = checkpoint.load(replace(release, checkpoint=str(last)))
    initial = checkpoint.load(release)
    trained_state, initial_state = trained.model.state_dict(), initial.model.state_dict()
    assert not torch.equal(trained_state["llm_proj.weight"], initial_state["llm_proj.weight"])
    assert torch.equal(trained_state["audio_encoder.pos_embed"], initial_state["audio_encoder.pos_embed"])
    for key in initial_state:  # the frozen LLM is untouched
        if key.startswith("llm."):
            assert torch.equal(trained_state[key], initial_state[key]), key


@pytest.mark.slow
def test_a_resumed_run_continues_exactly(release, qa, full_run, tmp_path):
    config, _ = full_run
    half = tiny_config(release, qa, tmp_path, max_steps=STEPS // 2, save_every=STEPS // 2)
    train(half)
    assert (tmp_path / f"state-{STEPS // 2:07d}").is_dir()
    train(replace(half, max_steps=STEPS, save_every=STEPS))  # picks up state-0000004
    resumed, uninterrupted = losses(tmp_path), losses(Path(config.out_dir))
    assert sorted(resumed) == list(range(1, STEPS + 1))
    assert resumed == uninterrupted  # bit for bit: weights, optimizer, schedule, RNG and data order
    assert not (tmp_path / f"state-{STEPS // 2:07d}").exists()  # only the latest state is kept
    a = checkpoint.read_bridge(replace(release, checkpoint=str(tmp_path / f"step-{STEPS:07d}")))[1]
    b = checkpoint.read_bridge(replace(release, checkpoint=str(full_run[1])))[1]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_gradient_accumulation_with_checkpointing_averages_the_micro_batches(release, qa, full_run, tmp_path):
    config, _ = full_run
    accumulated = tiny_config(
        release, qa, tmp_path, gradient_accumulation_steps=2, gradient_checkpointing=True, max_steps=2, eval_every=0
    )
    train(accumulated)
    alone = losses(Path(config.out_dir))
    # Step 1 takes the micro-batches one process takes as steps 1 and 2, from the same weights.
    assert losses(tmp_path)[1] == pytest.approx((alone[1] + alone[2]) / 2, abs=0.02)
    assert abs(alone[1] - alone[2]) > 0.04  # the batches differ enough for that to mean something


@pytest.mark.slow
def test_lora_adapter_is_saved_and_merged_at_load(release, qa, tmp_path):
    config = tiny_config(
        release,
        qa,
        tmp_path,
        lora=LoRAConfig(enabled=True, r=4, alpha=8, target_modules=("q_proj", "v_proj")),
        max_steps=2,
        save_every=2,
        eval_every=0,
    )
    last = train(config)
    assert (last / checkpoint.CONVERTED_ADAPTER / "adapter_config.json").is_file()
    merged = checkpoint.load(replace(release, checkpoint=str(last))).model.llm
    base = checkpoint.load(release).model.llm
    key = "model.layers.0.self_attn.q_proj.weight"
    assert merged.state_dict().keys() == base.state_dict().keys()  # a plain LLaMA again
    assert not torch.equal(merged.state_dict()[key], base.state_dict()[key])
    key = "model.layers.0.self_attn.k_proj.weight"  # not a target module
    assert torch.equal(merged.state_dict()[key], base.state_dict()[key])


@pytest.mark.slow
def test_two_cpu_processes_train_save_and_resume(release, qa, full_run, tmp_path):
    config, _ = full_run
    two = tiny_config(release, qa, tmp_path / "out", max_steps=2, save_every=2, eval_every=0)
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(to_dict(two)))
    train = ["-m", "llaqo.training.train", "--config", str(path)]
    done = subprocess.run(two_process_launch() + train, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "out" / "state-0000002" / "random_states_1.pkl").is_file()  # two processes saved
    # Step 1 of two processes averages the two batches that one process takes as steps 1 and 2 (same start
    # weights; only dropout draws differ).
    alone = losses(Path(config.out_dir))
    assert losses(tmp_path / "out")[1] == pytest.approx((alone[1] + alone[2]) / 2, abs=0.02)
    assert abs(alone[1] - alone[2]) > 0.04  # the batches differ enough for that to mean something
    checkpoint.load(replace(release, checkpoint=str(tmp_path / "out" / "step-0000002")))
    # The same two processes resume from state-0000002 and go on to step 3, without redoing steps 1 and 2.
    path.write_text(yaml.safe_dump(to_dict(replace(two, max_steps=3, save_every=1))))
    done = subprocess.run(two_process_launch() + train, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    steps = [r["step"] for r in read_metrics(tmp_path / "out") if "loss" in r]
    assert steps == [1, 2, 3]
    checkpoint.load(replace(release, checkpoint=str(tmp_path / "out" / "step-0000003")))
