"""Evaluation: batching that changes no answer, scoring by task and category, the CLI, and two processes."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import two_process_launch
from test_train import tiny_config, write_tempo_qa  # tests/ is on sys.path under pytest's default import mode

from llaqo import checkpoint, decoding
from llaqo.protocol import Settings
from llaqo.training import evaluate, metrics
from llaqo.training.collate import Collator, read_csv
from llaqo.training.evaluate import Prediction, length_batches, predict, report
from llaqo.training.train import train

ROOT = Path(__file__).resolve().parents[1]
REAL_METADATA = ROOT.parent / "shared" / "metadatas"
GREEDY = Settings(mode="greedy", max_new_tokens=5)


@pytest.fixture(scope="module")
def qa(tmp_path_factory) -> Path:
    return write_tempo_qa(tmp_path_factory.mktemp("qa"), clips=6)


@pytest.fixture(scope="module")
def trained(release, qa, tmp_path_factory) -> Path:
    """A checkpoint after a few training steps."""
    return train(tiny_config(release, qa, tmp_path_factory.mktemp("run"), max_steps=3, save_every=3, eval_every=0))


def cli_args(release, qa: Path, checkpoint_dir: Path, out: Path) -> list[str]:
    return [
        "--csv",
        str(qa),
        "--checkpoint",
        str(checkpoint_dir),
        "--llm",
        release.llm,
        "--mode",
        "greedy",
        "--max-new-tokens",
        "5",
        "--batch-size",
        "4",
        "--bertscore-model",
        "none",
        "--out",
        str(out),
    ]


@pytest.mark.slow
def test_batches_hold_one_prompt_length_and_change_no_answer(release, qa):
    loaded = checkpoint.load(release)
    samples = read_csv(qa)
    batches = length_batches(samples, loaded.tokenizer, batch_size=4)
    assert sorted(i for rows in batches for i in rows) == list(range(len(samples)))
    for rows in batches:
        assert len(rows) <= 4
        assert len({len(loaded.tokenizer.prompt.encode(samples[i].question)) for i in rows}) == 1
    batched = predict(loaded.model, loaded.tokenizer, samples, GREEDY, batch_size=4, progress=False)
    alone = predict(loaded.model, loaded.tokenizer, samples, GREEDY, batch_size=1, progress=False)
    assert batched == alone
    assert all(isinstance(answer, str) for answer in batched)
    # The tiny random model's greedy words hardly depend on the audio, its logits do: compare those too.
    collator = Collator(loaded.tokenizer, train=False)
    model = loaded.model

    def logits(rows):
        batch = collator([samples[i] for i in rows])
        with torch.no_grad():
            return model(model.prepare(batch.fbank, batch.qformer_ids, batch.qformer_mask, batch.prompt_ids))

    together = logits(batches[0])
    apart = torch.cat([logits([i]) for i in batches[0]])
    torch.testing.assert_close(together, apart, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(apart[0], apart[1], atol=1e-3)  # different recordings, different logits


def test_unusable_audio_is_reported_and_the_rest_answered(release, qa, tmp_path):
    loaded = checkpoint.load(release)
    samples = read_csv(qa)[:4]
    samples[1] = replace(samples[1], audio_path=tmp_path / "missing.wav")
    answers = predict(loaded.model, loaded.tokenizer, samples, GREEDY, batch_size=4, progress=False)
    assert isinstance(answers[1], evaluate.AudioError) and "missing.wav" in str(answers[1])
    assert all(isinstance(answers[i], str) for i in (0, 2, 3))
    rambling = replace(samples[0], question="why " * 300)  # past the original's 256 positions
    (answer,) = predict(loaded.model, loaded.tokenizer, [rambling], Settings(mode="greedy"), progress=False)
    assert isinstance(answer, decoding.PromptTooLong)


def test_report_scores_each_task_with_its_metric():
    rows = [
        ("rating", "I'd say 4", "5", None),
        ("rating", "no idea", "3", None),
        ("difficulty", "level 7", "Difficulty 5", None),
        ("technique", "This is staccato.", "The technique is staccato", None),
        ("technique", "legato", "The technique is arpeggio", None),
        ("expertise", "A master.", "This is a student.", None),
        ("composer", "Chopin, surely", "Frédéric Chopin", None),
        ("open", "The dynamics are loud and clear", "The dynamics are clear", "dynamics"),
        ("rating", "3", "4", "dynamics"),
    ]
    predictions = [
        Prediction(i, "a.wav", "q", reference, prediction, task, "set", category)
        for i, (task, prediction, reference, category) in enumerate(rows)
    ]
    predictions.append(Prediction(9, "b.wav", "q", "2", None, "rating", "other", None, error="bad file"))
    result = report(predictions)
    scores = result["scores"]["all"]
    assert result["rows"] == 10 and result["failed"] == 1
    assert scores["rating"] == {
        "count": 4,
        "answered": 3,
        "mae": pytest.approx(1.0),
        "following_rate": pytest.approx(2 / 3),
    }
    assert scores["difficulty"]["mae"] == pytest.approx(2.0)
    technique = metrics.technique_scores(["This is staccato.", "legato"], [rows[3][2], rows[4][2]])
    assert scores["technique"]["f1"] == pytest.approx(technique.f1) and scores["technique"]["accuracy"] == 0.5
    assert scores["expertise"]["accuracy"] == 0.0 and scores["composer"]["accuracy"] == 1.0
    assert 0 < scores["open"]["rouge_l"] < 1 and scores["open"]["bertscore_f1"] is None
    assert set(result["scores"]["by_dataset"]) == {"set", "other"}
    assert set(result["scores"]["by_category"]) == {"dynamics"}
    assert set(result["scores"]["by_category"]["dynamics"]) == {"open", "rating"}
    assert result["scores"]["by_category"]["dynamics"]["rating"]["mae"] == pytest.approx(1.0)
    table = evaluate.markdown(result)
    assert "| category dynamics | rating | 1/1 | mae 1.0000, following_rate 1.0000 |" in table


@pytest.mark.slow
def test_cli_evaluates_a_trained_checkpoint(release, qa, trained, tmp_path):
    assert evaluate.main(cli_args(release, qa, trained, tmp_path)) == 0
    result = json.loads((tmp_path / evaluate.RESULTS_JSON).read_text())
    assert result["rows"] == 12 and result["failed"] == 0
    assert set(result["scores"]["all"]) == {"open", "rating"}
    assert result["scores"]["all"]["open"]["count"] == 6
    assert all(isinstance(row["prediction"], str) for row in result["predictions"])
    assert [row["index"] for row in result["predictions"]] == list(range(12))
    assert (tmp_path / evaluate.RESULTS_MD).read_text().startswith("Rows: 12")
    assert result["settings"]["mode"] == "greedy"


@pytest.mark.slow
def test_two_processes_shard_and_gather_the_same_answers(release, qa, trained, tmp_path):
    assert evaluate.main(cli_args(release, qa, trained, tmp_path / "one")) == 0
    command = two_process_launch()
    command += ["-m", "llaqo.training.evaluate", *cli_args(release, qa, trained, tmp_path / "two")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    one = json.loads((tmp_path / "one" / evaluate.RESULTS_JSON).read_text())
    two = json.loads((tmp_path / "two" / evaluate.RESULTS_JSON).read_text())
    assert two["predictions"] == one["predictions"]
    assert two["scores"] == one["scores"]


@pytest.mark.skipif(not REAL_METADATA.is_dir(), reason="needs ../shared/metadatas")
def test_a_dataset_without_its_audio_fails_clearly(release, tmp_path, capsys):
    args = ["--dataset", "Burgmuller", "--split", "test", "--metadata", str(REAL_METADATA)]
    args += ["--audio-root", str(tmp_path / "audio"), "--limit", "2", "--checkpoint", release.checkpoint]
    args += ["--audio-encoder", release.audio_encoder, "--llm", release.llm, "--qformer-tokenizer"]
    args += [release.qformer_tokenizer, "--bertscore-model", "none", "--out", str(tmp_path / "out")]
    assert evaluate.main(args) == evaluate.EXIT_NO_ANSWERS
    result = json.loads((tmp_path / "out" / evaluate.RESULTS_JSON).read_text())
    assert result["rows"] == result["failed"] == 2
    assert all("file not found" in row["error"] for row in result["predictions"])
    assert "no recording could be used" in capsys.readouterr().out
    assert evaluate.main(["--dataset", "Burgmuller", "--metadata", str(REAL_METADATA)]) == evaluate.EXIT_USAGE
