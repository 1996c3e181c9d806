"""Tests of llaqo.training.data on a synthetic metadata folder, and a load of the real tables when ../shared has
them."""

from __future__ import annotations

import argparse
import csv
import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from llaqo.training import metrics
from llaqo.training.data import (
    DATASETS,
    NEUROPIANO,
    ORIGINAL_DATASETS,
    DatasetSpec,
    Mixture,
    Sample,
    check,
    load_dataset,
)
from llaqo.training.data import cli as data_cli
from llaqo.training.data.splits import SPLITS, assign_splits
from llaqo.training.data.tables import METADATA_ENV, load_datasets, resolve_metadata_dir
from llaqo.training.data.tasks import (
    COMPOSER,
    DIFFICULTY,
    EXPERTISE,
    OPEN,
    RATING,
    TECHNIQUE,
    infer_task,
)

REAL_METADATA = Path(__file__).resolve().parents[1].parent / "shared" / "metadatas"
CLUSTER = "/data/EECS-MachineListeningLab/datasets/LLaQo/Burgmuller/"
SCRATCH = "/data/scratch/acw630/PianoJudge/techniques/"
SAMPLE_RATE = 16000


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(SAMPLE_RATE // 10) / SAMPLE_RATE
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), SAMPLE_RATE)


@pytest.fixture
def metadata(tmp_path: Path) -> Path:
    """A metadata folder in the tables' schema: Burgmuller, PISA, expert_novice, techniques and NeuroPiano."""
    folder = tmp_path / "metadatas"
    write_csv(
        folder / "Burgmuller" / "audio_qa.csv",
        [
            {
                "": "0",
                "audio_path": CLUSTER + "b-01.wav",
                "split": "train",
                "Q": " Which difficulty level is the piece, in a scale of 9?",
                "A": "5 ",
            },
            {
                "": "1",
                "audio_path": CLUSTER + "b-01.wav",
                "split": "train",
                "Q": "What kind of performance might this be?",
                "A": "This is a student's performance.",
            },
            {"": "2", "audio_path": CLUSTER + "sub/b-02.wav", "split": "test", "Q": "What is wrong?", "A": "Bar 3."},
        ],
    )
    write_csv(
        folder / "PISA" / "Annotations_v2.csv",
        [
            {
                "filename": "7",
                "song": "x",
                "split": "train",
                "Q": "How would you rate the performance, in a scale of 5?",
                "A": "4",
            }
        ],
    )
    write_csv(
        folder / "expert_novice" / "evaluation_qa.csv",
        [
            {
                "piece_name": "Careless Love",
                "recording_number": "3",
                "split": "test",
                "Q": "How is the tempo?",
                "A": "Steady.",
            }
        ],
    )
    write_csv(
        folder / "techniques" / "audio_qa.csv",
        [
            {
                "audio_path": SCRATCH + f"t{i}.wav",
                "split": "val" if i % 4 == 0 else "train",
                "Q": "What is the primary piano technique used in this track?",
                "A": "Scales",
            }
            for i in range(8)
        ],
    )
    write_csv(
        folder / "NeuroPiano" / "audio_qa.csv",
        [
            {
                "fname": "u1_p1.wav",
                "q_eng": "Is the tempo kept constant?",
                "a_eng": "It rushes in bar 2.",
                "score": "3",
                "question_source_id": "9",
                "split": "train",
            },
            {
                "fname": "u1_p1.wav",
                "q_eng": "What's good about this performance?",
                "a_eng": "A clean attack.",
                "score": "5",
                "question_source_id": "1",
                "split": "eval",
            },
        ],
    )
    return folder


def test_loads_rows_and_maps_cluster_paths_onto_the_root(metadata: Path, tmp_path: Path) -> None:
    root = tmp_path / "audio"
    samples = load_dataset(DATASETS["Burgmuller"], metadata, root)
    assert [s.audio_path for s in samples] == [
        root / "Burgmuller" / "b-01.wav",
        root / "Burgmuller" / "b-01.wav",
        root / "Burgmuller" / "sub" / "b-02.wav",
    ]
    assert samples[0].question == "Which difficulty level is the piece, in a scale of 9?"  # leading space gone
    assert samples[0].answer == "5"
    assert [s.task for s in samples] == [DIFFICULTY, OPEN, OPEN]
    assert {s.dataset for s in samples} == {"Burgmuller"}
    assert [s.split for s in load_dataset(DATASETS["Burgmuller"], metadata, root, splits=("test",))] == ["test"]


def test_tables_without_paths_follow_the_original_layout(metadata: Path, tmp_path: Path) -> None:
    root = tmp_path / "audio"
    (pisa,) = load_dataset(DATASETS["PISA"], metadata, root)
    assert pisa.audio_path == root / "PISA" / "processed_samples_audio" / "7.wav"
    assert pisa.task == RATING
    (novice,) = load_dataset(DATASETS["expert_novice"], metadata, root)
    assert novice.audio_path == root / "expert_novice" / "recordings_and_alignments" / "CarelessLove" / (
        "Careless Love-03.wav"
    )


def test_val_maps_to_valid_and_unknown_splits_are_refused(metadata: Path, tmp_path: Path) -> None:
    samples = load_dataset(DATASETS["techniques"], metadata, tmp_path)
    assert Counter(s.split for s in samples) == {"train": 6, "valid": 2}
    assert samples[0].audio_path == tmp_path / "techniques" / "t0.wav"
    with pytest.raises(ValueError, match="unknown splits"):
        load_dataset(DATASETS["techniques"], metadata, tmp_path, splits=("val",))


def test_a_path_outside_the_cluster_prefix_is_an_error(metadata: Path, tmp_path: Path) -> None:
    wrong = dataclasses.replace(DATASETS["Burgmuller"], cluster_prefix="/elsewhere/")
    with pytest.raises(ValueError, match="not under '/elsewhere/'"):
        load_dataset(wrong, metadata, tmp_path)
    escaping = dataclasses.replace(DATASETS["Burgmuller"], cluster_prefix="/data/EECS-MachineListeningLab/datasets/")
    row = {"audio_path": "/data/EECS-MachineListeningLab/datasets/../../etc/passwd"}
    with pytest.raises(ValueError, match="does not stay inside"):
        escaping.relative_audio_path(row)


def test_missing_table_and_missing_column_name_the_problem(metadata: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="crocus"):
        load_dataset(DATASETS["crocus"], metadata, tmp_path)
    renamed = dataclasses.replace(DATASETS["Burgmuller"], answer_column="answer")
    with pytest.raises(ValueError, match=r"lacks columns \['answer'\]"):
        load_dataset(renamed, metadata, tmp_path)


def test_neuropiano_rows_yield_a_comment_and_a_rating_with_categories(metadata: Path, tmp_path: Path) -> None:
    samples = load_dataset(NEUROPIANO, metadata, tmp_path)
    assert len(samples) == 4
    comment, rating, summary_comment, summary_rating = samples
    assert (comment.question, comment.answer, comment.category) == (
        "Is the tempo kept constant?",
        "It rushes in bar 2.",
        "rhythm and tempo",
    )
    assert rating.answer == "3" and rating.task == RATING and rating.category == "rhythm and tempo"
    assert "consistency of the tempo" in rating.question
    assert summary_comment.category == summary_rating.category == "summary"
    assert "overall performance" in summary_rating.question
    assert [s.split for s in samples] == ["train", "train", "test", "test"]  # eval is the held-out half
    assert comment.audio_path == tmp_path / "NeuroPiano" / "u1_p1.wav"


def test_optional_tables_are_skipped_when_absent(metadata: Path, tmp_path: Path) -> None:
    (metadata / NEUROPIANO.csv).unlink()
    loaded = load_datasets([DATASETS["Burgmuller"], NEUROPIANO], metadata, tmp_path)
    assert list(loaded) == ["Burgmuller"]


def test_seeded_split_is_deterministic_grouped_and_order_free() -> None:
    recordings = [f"r{i}.wav" for i in range(200)]
    first = assign_splits(recordings, seed=3)
    assert first == assign_splits(list(reversed(recordings)) + recordings[:10], seed=3)
    assert first != assign_splits(recordings, seed=4)
    counts = Counter(first.values())
    assert (counts["train"], counts["valid"], counts["test"]) == (160, 20, 20)
    with pytest.raises(ValueError):
        assign_splits(recordings, fractions=(0.5, 0.2, 0.2))


def test_a_table_without_split_column_is_split_by_recording(metadata: Path, tmp_path: Path) -> None:
    rows = [{"path": f"/c/x/r{i % 50}.wav", "Q": "q", "A": "a"} for i in range(200)]
    write_csv(metadata / "custom" / "qa.csv", rows)
    spec = DatasetSpec("custom", "custom/qa.csv", "path", "/c/x/", split_column=None)
    samples = load_dataset(spec, metadata, tmp_path, seed=1)
    by_recording: dict[Path, set[str]] = {}
    for sample in samples:
        by_recording.setdefault(sample.audio_path, set()).add(sample.split)
    assert all(len(splits) == 1 for splits in by_recording.values())
    assert {s.split for s in samples} == set(SPLITS)
    assert [s.split for s in samples] == [s.split for s in load_dataset(spec, metadata, tmp_path, seed=1)]


def fake_samples(name: str, count: int) -> list[Sample]:
    return [Sample(Path(f"{name}/{i}.wav"), "q", str(i), name, "train", OPEN) for i in range(count)]


def test_mixture_draws_in_proportion_to_size_by_default() -> None:
    mixture = Mixture({"big": fake_samples("big", 300), "small": fake_samples("small", 100)}, num_samples=4000)
    share = Counter(s.dataset for s in mixture)["big"] / 4000
    assert abs(share - 0.75) < 0.03  # binomial sd is 0.007: 0.03 is over four sd


def test_mixture_follows_given_ratios() -> None:
    datasets = {"big": fake_samples("big", 300), "small": fake_samples("small", 100)}
    mixture = Mixture(datasets, ratios={"big": 1, "small": 3}, num_samples=4000)
    share = Counter(s.dataset for s in mixture)["small"] / 4000
    assert abs(share - 0.75) < 0.03
    with pytest.raises(ValueError, match="absent"):
        Mixture(datasets, ratios={"other": 1})


def test_mixture_is_seeded_and_sees_every_sample_before_repeating() -> None:
    datasets = {"a": fake_samples("a", 30), "b": fake_samples("b", 10)}
    first = list(Mixture(datasets, seed=5))
    assert first == list(Mixture(datasets, seed=5))
    assert first != list(Mixture(datasets, seed=6))
    one = Mixture({"a": datasets["a"]})
    epoch0 = list(one)
    assert sorted(s.answer for s in epoch0) == sorted(str(i) for i in range(30))  # each once
    one.set_epoch(1)
    assert list(one) != epoch0


def test_mixture_with_dataloader_workers_yields_the_same_epoch() -> None:
    mixture = Mixture({"a": fake_samples("a", 20), "b": fake_samples("b", 12)}, seed=2)
    loader = torch.utils.data.DataLoader(mixture, batch_size=4, num_workers=2, collate_fn=list)
    drawn = [sample for batch in loader for sample in batch]
    assert Counter(drawn) == Counter(mixture)


def test_check_counts_rows_and_present_audio(metadata: Path, tmp_path: Path) -> None:
    root = tmp_path / "audio"
    write_wav(root / "Burgmuller" / "b-01.wav")
    write_wav(root / "techniques" / "t1.wav")
    report = check(root, metadata, [DATASETS["Burgmuller"], DATASETS["techniques"], DATASETS["crocus"], NEUROPIANO])
    burgmuller, techniques, crocus, neuropiano = report.datasets
    assert (burgmuller.rows, burgmuller.rows_with_audio, burgmuller.recordings, burgmuller.recordings_found) == (
        3,
        2,
        2,
        1,
    )
    assert burgmuller.missing_examples == (root / "Burgmuller" / "sub" / "b-02.wav",)
    assert (techniques.rows, techniques.rows_with_audio) == (8, 1)
    assert not crocus.table_found and not crocus.complete  # required table absent
    assert neuropiano.rows == 4 and neuropiano.rows_with_audio == 0
    assert not report.complete


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="llaqo")
    data_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_check_exit_codes(metadata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    root = tmp_path / "audio"
    root.mkdir()
    monkeypatch.delenv(METADATA_ENV, raising=False)
    assert run_cli(["data", "check", str(root)]) == data_cli.EXIT_USAGE
    assert METADATA_ENV in capsys.readouterr().out

    # Only Burgmuller's table, with all its audio: complete except for the ten required tables that are absent.
    only = tmp_path / "only"
    (only / "Burgmuller").mkdir(parents=True)
    (only / "Burgmuller" / "audio_qa.csv").write_bytes((metadata / "Burgmuller" / "audio_qa.csv").read_bytes())
    write_wav(root / "Burgmuller" / "b-01.wav")
    write_wav(root / "Burgmuller" / "sub" / "b-02.wav")
    monkeypatch.setenv(METADATA_ENV, str(only))
    assert run_cli(["data", "check", str(root)]) == data_cli.EXIT_INCOMPLETE
    out = capsys.readouterr().out
    assert "Burgmuller" in out and "table not found (optional)" in out and "PianoJudge" in out


def test_cli_check_is_complete_when_everything_is_there(tmp_path: Path, monkeypatch, capsys) -> None:
    metadata, root = tmp_path / "meta", tmp_path / "audio"
    for spec in ORIGINAL_DATASETS:
        row = {
            spec.audio_column: "",
            "split": "train",
            "Q": "q",
            "A": "a",
            "filename": "1",
            "audio_file": "f.wav",
            "piece_name": "P",
            "recording_number": "1",
        }
        if spec.audio_path_fn is None:
            row[spec.audio_column] = spec.cluster_prefix + "x.wav"
        write_csv(metadata / spec.csv, [row])
        write_wav(root / spec.name / spec.relative_audio_path(row))
    monkeypatch.setenv(METADATA_ENV, str(tmp_path / "elsewhere"))  # --metadata wins over the variable
    assert run_cli(["data", "check", str(root), "--metadata", str(metadata)]) == data_cli.EXIT_OK
    assert capsys.readouterr().out.rstrip().endswith("complete")


def test_resolve_metadata_dir_prefers_the_argument(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(METADATA_ENV, str(tmp_path))
    assert resolve_metadata_dir(None) == tmp_path
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_metadata_dir(tmp_path / "missing")


@pytest.mark.parametrize(
    ("question", "answer", "task"),
    [
        ("What piano technique is most noticeable?", "Octave", TECHNIQUE),
        ("Does this sound like a performance by a student or a master?", "A student.", EXPERTISE),
        ("Could you guess the composer of this piece?", "Chopin", COMPOSER),
        ("What kind of music is this piece and who is the composer?", "A Beethoven sonata.", OPEN),
        ("Rate the complexity of the piece in this track on a scale of 1 to 9.", "6", DIFFICULTY),
        ("What's difficult about the piece?", "The octaves.", OPEN),
        ("How would you rate the performance, in a scale of 5?", "4.5", RATING),
        ("How would you rate the tone production of this performance?", "Warm but thin at the top.", OPEN),
    ],
)
def test_infer_task(question: str, answer: str, task: str) -> None:
    assert infer_task(question, answer) == task


# Facts from ../shared/metadatas/README.md: rows and split sizes of each table.
README_ROWS = {
    "Burgmuller": (113, {"train": 88, "test": 25}),
    "PISA": (251, {"train": 216, "test": 35}),
    "PianoJudge": (1545, {"train": 1360, "test": 185}),
    "YCU-PPE-III": (7524, {"train": 6999, "test": 525}),
    "con_espressione": (4386, {"train": 3480, "test": 906}),
    "crocus": (614, {"train": 471, "test": 143}),
    "difficulty_cipi": (2211, {"train": 1332, "test": 423, "valid": 456}),
    "expert_novice": (3368, {"train": 3075, "test": 293}),
    "expressive_musical_gestures": (844, {"train": 764, "test": 80}),
    "music_shape_dataset": (11670, {"train": 10550, "test": 1120}),
    "techniques": (222, {"train": 177, "valid": 45}),
}


def test_real_tables_load_with_the_documented_sizes(tmp_path: Path) -> None:
    if not REAL_METADATA.is_dir():
        pytest.skip(f"the shared QA tables are not at {REAL_METADATA} (they live outside the repository)")
    root = tmp_path / "audio"
    loaded = load_datasets(ORIGINAL_DATASETS, REAL_METADATA, root)
    assert {name: (len(s), dict(Counter(x.split for x in s))) for name, s in loaded.items()} == README_ROWS
    for name, samples in loaded.items():
        assert all(s.audio_path.is_relative_to(root / name) and s.audio_path.suffix == ".wav" for s in samples)
        assert all(s.question and s.answer and s.question == s.question.strip() for s in samples)
    assert {s.task for s in loaded["techniques"]} == {TECHNIQUE}
    assert Counter(s.task for s in loaded["YCU-PPE-III"]) == {RATING: 2508, DIFFICULTY: 2508, OPEN: 2508}
    # The README's distinct-audio column, for tables whose audio is named by path.
    assert len({s.audio_path for s in loaded["PianoJudge"]}) == 1148
    assert len({s.audio_path for s in loaded["music_shape_dataset"]}) == 3949
    assert len({s.audio_path for s in loaded["expert_novice"]}) == 83


def test_cli_check_reports_a_malformed_table(metadata: Path, tmp_path: Path, capsys) -> None:
    write_csv(metadata / "Burgmuller" / "audio_qa.csv", [{"audio_path": "/elsewhere/x.wav", "split": "train"}])
    assert run_cli(["data", "check", str(tmp_path), "--metadata", str(metadata)]) == data_cli.EXIT_USAGE
    assert "lacks columns" in capsys.readouterr().out


def test_real_references_fit_the_metric_of_their_task(tmp_path: Path) -> None:
    """Each task's reference answers are scored perfectly against themselves: the evaluation can read them all."""
    if not REAL_METADATA.is_dir():
        pytest.skip(f"the shared QA tables are not at {REAL_METADATA} (they live outside the repository)")
    samples = [s for group in load_datasets(ORIGINAL_DATASETS, REAL_METADATA, tmp_path).values() for s in group]

    def answers(task: str) -> list[str]:
        return [s.answer for s in samples if s.task == task]

    assert len(answers(EXPERTISE)) == 1885  # PianoJudge 1148 + CIPI 737 student-or-master questions
    assert metrics.expertise_accuracy(answers(EXPERTISE), answers(EXPERTISE)) == 1.0
    assert metrics.composer_accuracy(answers(COMPOSER), answers(COMPOSER)) == 1.0
    assert len(metrics.technique_scores(answers(TECHNIQUE), answers(TECHNIQUE)).labels) == 7  # the README's 7 ways
    for task in (RATING, DIFFICULTY):
        assert metrics.rating_scores(answers(task), answers(task)).following_rate == 1.0
