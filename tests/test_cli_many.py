"""`python -m llaqo ask FILE... --question Q`: one question about many recordings, and `--scope whole`."""

from __future__ import annotations

import json
import re

from llaqo.cli import main
from llaqo.synthetic import synth_piano


def paths_args(release) -> list[str]:
    return [
        "--checkpoint", release.checkpoint, "--audio-encoder", release.audio_encoder,
        "--llm", release.llm, "--qformer-tokenizer", release.qformer_tokenizer,
    ]  # fmt: skip


def test_one_question_about_many_recordings(release, tmp_path, capsys):
    takes = [str(synth_piano(tmp_path / f"take{i}.wav", seconds=2.0 + i, seed=i)) for i in range(3)]
    common = ["--question", "How was my pedalling?", "--max-new-tokens", "6", "--json", *paths_args(release)]
    assert main(["ask", *takes, *common]) == 0
    together = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["audio"] for a in together] == ["take0.wav", "take1.wav", "take2.wav"]
    for take, answer in zip(takes, together, strict=True):
        assert main(["ask", take, *common]) == 0
        alone = json.loads(capsys.readouterr().out)
        assert answer["text"] == alone["text"] and answer["tokens"] == alone["tokens"] == 6
        assert answer["question"] == "How was my pedalling?"


def test_whole_recording_scope(release, tmp_path, capsys):
    take = synth_piano(tmp_path / "long.wav", seconds=22.0, seed=4)
    args = ["ask", str(take), "How was it?", "--scope", "whole", "--stride", "6", "--max-new-tokens", "4"]
    assert main([*args, "--json", *paths_args(release)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["heard_s"] == [0.0, 22.0]
    spans = re.findall(r"^\*\*(\d+:\d\d)–(\d+:\d\d)\*\* ", answer["text"], flags=re.MULTILINE)
    assert spans[0][0] == "0:00" and spans[-1][1] == "0:22"


def test_a_stride_longer_than_the_window_is_refused(release, clip, capsys):
    args = ["ask", str(clip), "How was it?", "--scope", "whole", "--stride", "30", *paths_args(release)]
    assert main(args) == 2
    assert "stride" in capsys.readouterr().err


def test_no_question_is_refused(release, clip, capsys):
    assert main(["ask", str(clip), *paths_args(release)]) == 2
    assert "no question" in capsys.readouterr().err
