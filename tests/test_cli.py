"""`python -m llaqo`: ask, doctor, download and convert, with clear errors instead of tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

from llaqo.cli import main


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
