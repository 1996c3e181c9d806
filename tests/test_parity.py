"""Parity with the original LLaQo on reference fixtures (see ../shared/parity/README.md).

Each fixture folder was produced by running the original implementation on tiny random weights.
Folders come from LLAQO_PARITY_FIXTURES (colon-separated), default ../shared/parity/visible.
The fixture is loaded through the same public path a user takes: checkpoint.load on the four files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from conftest import VLLM_CPU_FLAGS, VLLM_CPU_HEAD_SIZES, VLLM_PYTHON, head_size, vllm_unavailable, widen_heads

from llaqo import audio, checkpoint, decoding
from llaqo.cli import main
from llaqo.config import PathsConfig
from llaqo.protocol import Settings
from llaqo.vllm_engine import LocalServer

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "parity" / "visible"
FEATURES = 1e-5
LOGITS = 1e-4


def fixture_dirs() -> list[Path]:
    listed = os.environ.get("LLAQO_PARITY_FIXTURES")
    dirs = [Path(p) for p in listed.split(":") if p] if listed else [DEFAULT]
    return [d for d in dirs if (d / "expected.pt").is_file()]


FIXTURES = fixture_dirs()
pytestmark = pytest.mark.skipif(
    not FIXTURES,
    reason="no parity fixture found: set LLAQO_PARITY_FIXTURES or provide ../shared/parity/visible",
)


class Case:
    """One fixture, loaded and run once; the tests compare its stages."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.expected = torch.load(folder / "expected.pt", weights_only=True)
        meta_file = folder / "meta.json"
        self.meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        self.question = (folder / "question.txt").read_text().rstrip("\n")
        paths = PathsConfig(
            checkpoint=str(folder / "checkpoint.pth"),
            audio_encoder=str(folder / "vit.pth"),
            llm=str(folder / "llm"),
            qformer_tokenizer=str(folder / "bert"),
        )
        self.loaded = checkpoint.load(paths)
        model = self.loaded.model
        # The original filled the [PAD] and <AUDIO> rows randomly at load; the fixture recorded its draw.
        if "llm_added_rows_ids" in self.expected:
            rows = self.expected["llm_added_rows_ids"]
            with torch.no_grad():
                model.llm.get_input_embeddings().weight[rows] = self.expected["llm_added_rows_embed"]
                model.llm.get_output_embeddings().weight[rows] = self.expected["llm_added_rows_lm_head"]
        self.recording = audio.load_audio(folder / "performance.wav")
        self.fbank = audio.log_mel_window(self.recording)[None]
        self.ids = self.loaded.tokenizer(self.question)
        with torch.no_grad():
            self.audio = model.encode_audio(self.fbank)
            self.pre_ln = model.audio_encoder(audio.split_segments(self.fbank))
            self.queries = model.query_audio(self.audio, self.ids.qformer_ids, self.ids.qformer_mask)
            self.projected = model.project(self.queries)
            self.inputs = model.llm_inputs(self.projected, self.ids.prompt_ids)
            self.logits = model(self.inputs)

    def settings(self, kind: str, mode: str) -> Settings:
        """The fixture's generation call: its max_length (prompt included) and repetition penalty."""
        passed = self.meta.get("generate", {}).get("llm_generate_kwargs_as_passed", {}).get(kind, {})
        new_tokens = passed["max_length"] - self.inputs.prompt_length if "max_length" in passed else None
        return Settings(
            mode=mode,
            max_new_tokens=new_tokens or self.expected[f"{kind}_ids"].shape[1],
            repetition_penalty=passed.get("repetition_penalty", 1.5),
        )

    def generate(self, kind: str, mode: str) -> torch.Tensor:
        with torch.no_grad():
            return decoding.generate(self.loaded.model.llm, self.inputs, self.settings(kind, mode))


@pytest.fixture(scope="module", params=FIXTURES, ids=[f.name for f in FIXTURES])
def case(request) -> Case:
    return Case(request.param)


def close(actual: torch.Tensor, expected: torch.Tensor, tol: float) -> None:
    assert actual.shape == expected.shape, f"shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    diff = (actual.float() - expected.float()).abs().max().item()
    assert diff <= tol, f"max abs diff {diff:.3e} > {tol:.0e}"


def test_waveform(case):
    expected = case.expected["waveform_32k_head"]
    wave = audio.normalize(audio.resample(case.recording.wave, case.recording.sample_rate))
    close(wave[:, : expected.shape[1]], expected, FEATURES)


def test_fbank(case):
    close(case.fbank, case.expected["fbank"], FEATURES)


def test_encoder_output(case):
    close(case.audio, case.expected["audio_patch_embeds"], FEATURES)
    first = case.expected["patch_embedding_pre_ln_seg0_first16"]
    close(case.pre_ln[:1, : first.shape[1]], first, FEATURES)


def test_qformer_inputs_and_output(case):
    assert torch.equal(case.ids.qformer_ids.repeat(audio.N_SEGMENTS, 1), case.expected["qformer_input_ids"])
    assert torch.equal(case.ids.qformer_mask.repeat(audio.N_SEGMENTS, 1), case.expected["qformer_attention_mask"])
    close(case.queries, case.expected["qformer_output"], FEATURES)


def test_llm_inputs(case):
    assert torch.equal(case.ids.prompt_ids, case.expected["llm_prompt_input_ids"])
    close(case.projected, case.expected["llm_proj_output"], FEATURES)
    close(case.inputs.inputs_embeds, case.expected["llm_inputs_embeds"], FEATURES)
    assert torch.equal(case.inputs.attention_mask, case.expected["llm_attention_mask"])


def test_logits(case):
    close(case.logits, case.expected["llm_logits"], LOGITS)


@pytest.mark.parametrize("kind", ["greedy", "greedy_norep"])
def test_greedy_ids(case, kind):
    if f"{kind}_ids" not in case.expected:
        pytest.skip(f"fixture {case.folder.name} has no {kind}_ids")
    ids = case.generate(kind, "greedy")
    assert ids.tolist() == case.expected[f"{kind}_ids"].tolist()
    texts = case.meta.get("generate", {}).get("texts", {})
    if kind in texts:
        assert case.loaded.tokenizer.decode(ids[0].tolist()) == texts[kind][0]


def test_beam_ids(case):
    ids = case.generate("beam", "faithful")
    assert ids.tolist() == case.expected["beam_ids"].tolist()
    texts = case.meta.get("generate", {}).get("texts", {})
    if "beam" in texts:
        assert case.loaded.tokenizer.decode(ids[0].tolist()) == texts["beam"][0]


@pytest.mark.parametrize("flag, kind", [("--greedy", "greedy"), ("--faithful", "beam")])
def test_cli_prints_the_fixture_text(case, capsys, flag, kind):
    """`python -m llaqo ask performance.wav "$(cat question.txt)" --greedy|--faithful --max-new-tokens N`."""
    texts = case.meta.get("generate", {}).get("texts", {})
    if kind not in texts:
        pytest.skip(f"fixture {case.folder.name} records no {kind} text")
    assert main(cli_argv(case, flag, kind)) == 0
    assert capsys.readouterr().out == texts[kind][0] + "\n"


def cli_argv(case, flag: str, kind: str) -> list[str]:
    settings = case.settings(kind, "greedy")
    folder = case.folder
    argv = ["ask", str(folder / "performance.wav"), case.question, flag]
    argv += ["--max-new-tokens", str(settings.max_new_tokens), "--repetition-penalty", str(settings.repetition_penalty)]
    argv += ["--checkpoint", str(folder / "checkpoint.pth"), "--audio-encoder", str(folder / "vit.pth")]
    return argv + ["--llm", str(folder / "llm"), "--qformer-tokenizer", str(folder / "bert")]


@pytest.mark.vllm
@pytest.mark.slow
def test_cli_prints_the_fixture_text_through_vllm(case, capsys, tmp_path):
    """`ask ... --greedy --llm-engine vllm --vllm-url URL`, on a vLLM server for the fixture's LLM.

    vLLM's CPU engine takes heads of 32 or more dims; a fixture's narrower heads are served widened with zeros
    (the same function, conftest.widen_heads), under the same folder name. The CLI reads the fixture's own."""
    reason = vllm_unavailable()
    if reason:
        pytest.skip(reason)
    texts = case.meta.get("generate", {}).get("texts", {})
    if "greedy" not in texts:
        pytest.skip(f"fixture {case.folder.name} records no greedy text")
    llm = case.folder / "llm"
    if head_size(llm) not in VLLM_CPU_HEAD_SIZES:
        llm = widen_heads(llm, tmp_path / "widened" / llm.name)
    with LocalServer(VLLM_PYTHON, llm, tmp_path / "vllm.log", *VLLM_CPU_FLAGS) as server:
        assert main([*cli_argv(case, "--greedy", "greedy"), "--llm-engine", "vllm", "--vllm-url", server.url]) == 0
    assert capsys.readouterr().out == texts["greedy"][0] + "\n"
