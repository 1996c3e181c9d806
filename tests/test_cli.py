"""`python -m llaqo`: ask, doctor, download and convert, with clear errors instead of tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llaqo.cli import build_parser, coach_config, main


def paths_args(release) -> list[str]:
    return [
        "--checkpoint", release.checkpoint, "--audio-encoder", release.audio_encoder,
        "--llm", release.llm, "--qformer-tokenizer", release.qformer_tokenizer,
    ]  # fmt: skip


def test_ask_follow_ups_as_json(release, clip, capsys):
    questions = ["How was my pedalling?", "And the tempo?"]
    assert main(["ask", str(clip), *questions, "--max-new-tokens", "5", "--json", *paths_args(release)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["question"] for line in lines] == questions
    for line in lines:
        assert line["tokens"] == 5 and line["text"]
        assert line["time_to_first_token_s"] > 0 and line["tokens_per_s"] > 0
        assert line["heard_s"] == [0.0, 6.0]


def test_ask_streams_text_with_question_headers(release, clip, capsys):
    assert main(["ask", str(clip), "Q1?", "Q2?", "--max-new-tokens", "4", *paths_args(release)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "> Q1?" and out[2] == "> Q2?" and out[1] and out[3]


def test_ask_on_a_bad_file_says_what_is_wrong(release, tmp_path, capsys):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"\x00" * 1000)
    assert main(["ask", str(bad), "How was it?", *paths_args(release)]) == 2
    err = capsys.readouterr().err
    assert "broken.mp3: not a readable audio file" in err and "Traceback" not in err


def test_ask_without_weights_points_to_doctor(tmp_path, clip, capsys):
    missing = ["--checkpoint", str(tmp_path / "none.pth")]
    assert main(["ask", str(clip), "How was it?", "--backend", "llaqo", *missing]) == 2
    assert "python -m llaqo doctor" in capsys.readouterr().err


def test_ask_the_lite_coach_follow_ups_as_json(tmp_path, capsys):
    """--backend auto without weights answers with the Lite coach: one JSON line per question, in order, the
    second a follow-up of the first, and a score read with --score."""
    import soundfile

    from llaqo.lite import synth

    notes = synth.scale_notes(100, n=24)
    audio, score = tmp_path / "take.wav", tmp_path / "score.mid"
    soundfile.write(audio, synth.render(notes, 22050), 22050)
    synth.write_score(notes, score, 100)
    questions = ["How was my tempo in bars 2 to 3?", "And in bars 4-5?", "Rate it out of 10."]
    argv = ["ask", str(audio), *questions, "--json", "--score", str(score), "--checkpoint", str(tmp_path / "no.pth")]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["question"] for line in lines] == questions
    assert "bars 2-3" in lines[0]["text"] and "BPM" in lines[0]["text"]
    assert "bars 4-5" in lines[1]["text"] and "BPM" in lines[1]["text"]
    assert "out of 10" in lines[2]["text"]


def test_doctor_names_missing_files_and_commands(release, tmp_path, capsys):
    assert main(["doctor", *paths_args(release)]) == 0
    assert "All LLaQo weights are present" in capsys.readouterr().out
    assert main(["doctor", "--checkpoint", str(tmp_path / "checkpoint_2283000.pth")]) == 1
    out = capsys.readouterr().out
    assert f"MISSING LLaQo checkpoint             {tmp_path / 'checkpoint_2283000.pth'}" in out
    assert f"hf download anusfoil/LLaQo-ckpts checkpoint_2283000.pth --local-dir {tmp_path}" in out


def test_download_offline_fails_clearly(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "llaqo", "download", "--checkpoint", str(tmp_path / "c.pth")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot reach the Hugging Face hub" in result.stderr and "Traceback" not in result.stderr


def test_convert_then_ask_the_converted_folder(release, clip, tmp_path, capsys):
    out = tmp_path / "converted"
    assert main(["convert", "--out", str(out), *paths_args(release)]) == 0
    capsys.readouterr()
    args = ["ask", str(clip), "How was it?", "--max-new-tokens", "4", "--llm", release.llm]
    assert main([*args, *paths_args(release)]) == 0
    original = capsys.readouterr().out
    assert main([*args, "--checkpoint", str(out)]) == 0
    assert capsys.readouterr().out == original


def test_config_file_and_unknown_keys(release, clip, tmp_path, capsys):
    config = tmp_path / "coach.yaml"
    config.write_text(
        f"paths:\n  checkpoint: {release.checkpoint}\n  audio_encoder: {release.audio_encoder}\n"
        f"  llm: {release.llm}\n  qformer_tokenizer: {release.qformer_tokenizer}\ndtype: fp32\n"
    )
    assert main(["ask", str(clip), "How was it?", "--max-new-tokens", "3", "--config", str(config)]) == 0
    config.write_text("temprature: 0.5\n")
    assert main(["doctor", "--config", str(config)]) == 2
    assert "unknown CoachConfig keys: temprature" in capsys.readouterr().err


def test_shipped_config_matches_the_dataclass():
    from pathlib import Path

    from llaqo.coach import CoachConfig
    from llaqo.config import load_yaml

    config = load_yaml(CoachConfig, Path(__file__).resolve().parents[1] / "configs" / "llaqo.yaml")
    assert config == CoachConfig()


def fake_hub(monkeypatch, repo_files: dict[str, list[str]]) -> list[tuple]:
    """huggingface_hub without a network: each call is recorded and writes the files it would fetch."""
    from pathlib import Path

    import huggingface_hub
    from huggingface_hub.utils import filter_repo_objects

    calls = []

    def hf_hub_download(repo_id, filename, *, local_dir, **kwargs):
        calls.append(("file", repo_id, filename))
        assert filename in repo_files[repo_id], f"{repo_id} has no {filename}"
        path = Path(local_dir) / filename
        path.write_text(f"{repo_id}/{filename}")
        return str(path)

    def snapshot_download(repo_id, *, local_dir, allow_patterns=None, ignore_patterns=None, **kwargs):
        calls.append(("snapshot", repo_id, allow_patterns, ignore_patterns))
        for name in filter_repo_objects(
            repo_files[repo_id], allow_patterns=allow_patterns, ignore_patterns=ignore_patterns
        ):
            (Path(local_dir) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(local_dir) / name).write_text(f"{repo_id}/{name}")
        return str(local_dir)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(huggingface_hub, "list_repo_files", lambda repo_id, **kwargs: repo_files[repo_id])
    return calls


def test_download_to_custom_paths_takes_the_released_files_and_one_weight_format(tmp_path, monkeypatch, capsys):
    vicuna = ["config.json", "tokenizer.model", "pytorch_model.bin.index.json", "model.safetensors.index.json"]
    vicuna += [f"pytorch_model-0000{i}-of-00002.bin" for i in (1, 2)]
    vicuna += [f"model-0000{i}-of-00002.safetensors" for i in (1, 2)]
    calls = fake_hub(
        monkeypatch,
        {
            "anusfoil/LLaQo-ckpts": ["checkpoint_2283000.pth", "vit.pth"],
            "lmsys/vicuna-7b-v1.5": vicuna,
            "google/bert_uncased_L-4_H-256_A-4": ["config.json", "vocab.txt", "pytorch_model.bin"],
        },
    )
    where = {
        "checkpoint": tmp_path / "some" / "dir" / "c.pth",
        "audio-encoder": tmp_path / "enc" / "encoder.pth",
        "llm": tmp_path / "vicuna",
        "qformer-tokenizer": tmp_path / "bert",
    }
    assert main(["download", *(x for k, v in where.items() for x in (f"--{k}", str(v)))]) == 0
    assert calls[:2] == [
        ("file", "anusfoil/LLaQo-ckpts", "checkpoint_2283000.pth"),
        ("file", "anusfoil/LLaQo-ckpts", "vit.pth"),
    ]
    assert where["checkpoint"].read_text() == "anusfoil/LLaQo-ckpts/checkpoint_2283000.pth"
    assert where["audio-encoder"].read_text() == "anusfoil/LLaQo-ckpts/vit.pth"
    assert sorted(p.name for p in where["checkpoint"].parent.iterdir()) == ["c.pth"], "nothing left beside it"
    assert calls[3] == ("snapshot", "google/bert_uncased_L-4_H-256_A-4", ["config.json", "vocab.txt"], None)
    assert not any(where["llm"].glob("*.bin")), "the .bin shards are the safetensors' weights again"
    assert len(list(where["llm"].glob("*.safetensors"))) == 2 and (where["llm"] / "tokenizer.model").is_file()
    assert "All LLaQo weights are present" in capsys.readouterr().out


def test_download_takes_bin_weights_when_they_are_the_only_format():
    from llaqo.release import weight_filter

    shards = ["config.json", "tokenizer.model", "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json"]
    assert weight_filter(shards) is None
    assert weight_filter([*shards, "model-00001-of-00002.safetensors"]) == ["*.bin"]


def test_doctor_command_saves_the_released_file_under_the_given_name(tmp_path, capsys):
    target = tmp_path / "some" / "c.pth"
    assert main(["doctor", "--checkpoint", str(target)]) == 1
    command = (
        f"hf download anusfoil/LLaQo-ckpts checkpoint_2283000.pth --local-dir {target.parent}"
        f" && mv {target.parent / 'checkpoint_2283000.pth'} {target}"
    )
    assert command in capsys.readouterr().out


def ckpts_folder(release, folder):
    """The release laid out as ckpts/ (links to its parts)."""
    from pathlib import Path

    folder.mkdir()
    for name, target in (
        ("checkpoint_2283000.pth", release.checkpoint),
        ("vit.pth", release.audio_encoder),
        ("vit.json", Path(release.audio_encoder).with_suffix(".json")),
        ("vicuna-7b-v1.5", release.llm),
        ("bert-mini", release.qformer_tokenizer),
    ):
        (folder / name).symlink_to(Path(target).resolve())
    return folder


def test_one_weights_folder_flag_everywhere(release, clip, tmp_path, capsys):
    """--ckpts DIR names the weights folder for doctor, ask and the app alike."""
    from llaqo import launch

    folder = ckpts_folder(release, tmp_path / "weights")
    assert main(["doctor", "--ckpts", str(folder)]) == 0
    assert f"ok      LLaQo checkpoint             {folder / 'checkpoint_2283000.pth'}" in capsys.readouterr().out
    assert main(["ask", str(clip), "How was it?", "--max-new-tokens", "3", "--ckpts", str(folder)]) == 0
    assert capsys.readouterr().out.strip()
    assert main(["doctor", "--ckpts", str(tmp_path / "empty")]) == 1
    assert f"MISSING AudioMAE ViT-B/16 (vit.pth)  {tmp_path / 'empty' / 'vit.pth'}" in capsys.readouterr().out

    app_args = launch.build_parser().parse_args(["--ckpts", str(folder), "--backend", "auto"])
    assert (
        coach_config(app_args).paths
        == coach_config(build_parser().parse_args(["doctor", "--ckpts", str(folder)])).paths
    )
    with pytest.raises(SystemExit):
        main(["doctor", "--ckpts", str(folder), "--config", "configs/llaqo.yaml"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_backend_auto_picks_llaqo_only_with_complete_weights(release, tmp_path):
    from llaqo import launch
    from llaqo.config import PathsConfig

    folder = ckpts_folder(release, tmp_path / "weights")
    assert launch.use_llaqo("auto", PathsConfig.under(folder))
    assert not launch.use_llaqo("lite", PathsConfig.under(folder))
    (folder / "vit.pth").unlink()
    assert not launch.use_llaqo("auto", PathsConfig.under(folder)), "an incomplete release falls back to Lite"
    assert launch.use_llaqo("llaqo", PathsConfig.under(folder)), "asked for by name, LLaQo says what is missing"


def test_auth_needs_user_and_password(capsys):
    from llaqo import launch

    assert launch.build_parser().parse_args(["--auth", "teacher:s3:cret"]).auth == ("teacher", "s3:cret")
    with pytest.raises(SystemExit):
        launch.build_parser().parse_args(["--auth", "teacher"])
    assert "expected USER:PASS" in capsys.readouterr().err
