"""Parity with the original LLaQo on reference fixtures (see ../shared/parity/README.md).

Each fixture folder was produced by running the original implementation on tiny random weights.
Folders come from LLAQO_PARITY_FIXTURES (colon-separated), default ../shared/parity/visible.
The fixture is loaded through the same public path a user takes: checkpoint.load on the four files.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch
from conftest import VLLM_CPU_FLAGS, VLLM_CPU_HEAD_SIZES, VLLM_PYTHON, head_size, vllm_unavailable, widen_heads

from llaqo import audio, checkpoint, decoding
from llaqo.batching import BatchConfig, Row, Scheduler
from llaqo.cli import main
from llaqo.config import PathsConfig
from llaqo.protocol import Settings
from llaqo.vllm_engine import LocalServer

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "parity" / "visible"

# Tolerances from fp32 rounding, so that the tests hold on any CPU's kernels (AVX-512/AMX, AVX2, scalar:
# `ATEN_CPU_CAPABILITY=default|avx2`). A sum of n terms in any order errs by at most n*u times the sum of the
# magnitudes (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 3.4; u = 2**-24); two
# implementations that sum in different orders, ours and the original, so differ by at most n*eps (eps = 2u).
# A value that passes through several reductions in turn (a matmul's inner dimension, an attention's keys, a
# filter's taps) accumulates their lengths: each stage's tolerance is eps times that total times the tensor's
# magnitude (its largest absolute value; LayerNorms keep activations near it). The bound is loose for random
# rounding (errors grow like sqrt(n) on average), yet an implementation error (a wrong weight, order or
# scale) moves these tensors by 1e-2 or more, far above it. Token ids are compared exactly.
EPS32 = torch.finfo(torch.float32).eps  # 2**-23
EPS16 = torch.finfo(torch.float16).eps  # 2**-10: one fp16 rounding step, relative


def resample_terms(sample_rate: int) -> int:
    """Terms in one resampled sample: torchaudio's sinc kernel spans 2 * ceil(6 * orig / (0.99 * min)) + orig
    input samples, with the rates divided by their gcd (lowpass_filter_width 6, rolloff 0.99, its defaults)."""
    if sample_rate == audio.SAMPLE_RATE:
        return 0
    g = math.gcd(sample_rate, audio.SAMPLE_RATE)
    orig, new = sample_rate // g, audio.SAMPLE_RATE // g
    return 2 * math.ceil(6 * orig / (0.99 * min(orig, new))) + orig


def encoder_terms(cfg) -> int:
    """Terms summed along the path of one AudioMAE output: the patch projection, then per block
    norm1, qkv, q.k over a head, softmax and attention over the tokens, proj, norm2, fc1, fc2."""
    time, freq = cfg.img_size
    tokens = (time // cfg.patch_size) * (freq // cfg.patch_size) + 1
    d = cfg.embed_dim
    block = d + d + d // cfg.num_heads + 2 * tokens + d + d + d + cfg.mlp_hidden
    return cfg.patch_size**2 + cfg.depth * block + d  # + the final norm


def qformer_terms(cfg, encoder_cfg, text_tokens: int) -> int:
    """Terms along one Q-Former output: per layer self-attention over queries and text, cross-attention to
    one segment's tokens (every cross_attention_freq-th layer), the feed-forward and its norms."""
    time, freq = encoder_cfg.img_size
    tokens = (time // encoder_cfg.patch_size) * (freq // encoder_cfg.patch_size) + 1
    h, head = cfg.hidden_size, cfg.hidden_size // cfg.num_heads
    attention = h + head + 2 * (cfg.num_query_tokens + text_tokens) + h + h
    cross = cfg.encoder_width + head + 2 * tokens + h + h
    ffn = h + cfg.intermediate_size + h
    crossing = len(range(0, cfg.num_layers, cfg.cross_attention_freq))
    return cfg.num_layers * (attention + ffn) + crossing * cross


def llm_terms(cfg, prompt_length: int) -> int:
    """Terms along one logit: per decoder layer RMSNorm, q/k/v, q.k over a head, softmax and attention over the
    prompt, o_proj, RMSNorm, gate/up, down; then the final norm and the LM head."""
    d, head = cfg.hidden_size, cfg.hidden_size // cfg.num_attention_heads
    layer = d + d + head + 2 * prompt_length + d + d + d + cfg.intermediate_size
    return cfg.num_hidden_layers * layer + d + d


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
        self.terms = self.count_terms()

    def count_terms(self) -> dict[str, int]:
        """Summed reduction lengths along each stage's path, from the fixture's own sizes (see EPS32)."""
        cfg = self.loaded.model.config
        wave = resample_terms(self.recording.sample_rate) + math.ceil(math.log2(self.recording.wave.numel()))
        # kaldi fbank: the frame's mean (cascade-summed: log2 of its samples), the FFT (log2(n) butterflies) and
        # the power (2 terms): "spectrum"; then the widest mel band (at most n/2 + 1 bins): "mel".
        n_fft = 2 ** math.ceil(math.log2(audio.WIN_LENGTH))
        spectrum = 2 * wave + math.ceil(math.log2(audio.WIN_LENGTH)) + int(math.log2(n_fft)) + 2
        mel = n_fft // 2 + 1
        fbank = spectrum + mel
        encoder = fbank + encoder_terms(cfg.audio_encoder)
        audio_ = encoder + cfg.audio_encoder.embed_dim  # ln_audio
        queries = audio_ + qformer_terms(cfg.qformer, cfg.audio_encoder, self.ids.qformer_ids.shape[1])
        projected = queries + cfg.qformer.hidden_size
        logits = projected + llm_terms(self.loaded.model.llm.config, self.inputs.prompt_length)
        return {"wave": wave, "spectrum": spectrum, "mel": mel, "fbank": fbank, "encoder": encoder,
                "audio": audio_, "queries": queries, "projected": projected, "logits": logits}  # fmt: skip

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


def tolerance(expected: torch.Tensor, terms: int, fp16: bool = False) -> float:
    """eps * terms * the tensor's magnitude (see EPS32). fp16: the original cast the tensor to fp16, where an
    fp32 difference can tip a value across a rounding boundary, one fp16 step (EPS16 relative) apart."""
    return (EPS32 * terms + (EPS16 if fp16 else 0.0)) * expected.float().abs().max().item()


def fbank_tolerance(case: Case) -> torch.Tensor:
    """Per log-mel value: the mel sum's rounding, plus the spectrum's relative to this band's share of its frame.

    The FFT's rounding is bounded in norm over the whole frame, |dX| <= eps * spectrum terms * |X| (Higham, ch.
    24), and need not fall where the band's energy is: by Cauchy-Schwarz over the band's bins (mel weights <= 1),
    dE_band <= 2 sqrt(E_band) |dX|, so the log moves by 2 eps terms sqrt(E_frame / E_band). A band 40 dB under
    its frame is 100 times as sensitive as the frame (the values Intel's and AMD's kernels differ on most)."""
    energy = case.expected["fbank"].double().exp()  # kaldi floors each band at eps: its log, -15.94, at the least
    spread = (energy.sum(-1, keepdim=True) / energy).sqrt()  # the frame's energy: its bands' sum
    return EPS32 * (case.terms["mel"] + 2 * case.terms["spectrum"] * spread)


def close(actual: torch.Tensor, expected: torch.Tensor, tol: float | torch.Tensor) -> None:
    """|actual - expected| <= tol everywhere; tol a number, or a tensor of expected's shape (one per value)."""
    assert actual.shape == expected.shape, f"shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    diff = (actual.double() - expected.double()).abs()
    excess = diff / torch.as_tensor(tol, dtype=torch.float64)
    worst = excess.argmax()
    assert excess.flatten()[worst] <= 1, (
        f"max abs diff {diff.flatten()[worst].item():.3e} > "
        f"{torch.as_tensor(tol, dtype=torch.float64).expand_as(diff).flatten()[worst].item():.3e}"
    )


def test_tolerances_are_far_below_an_implementation_error(case):
    """The derived bounds stay under 1% of each tensor's magnitude, where a wrong weight, order or scale lands."""
    e = case.expected
    for key, terms in (("audio_patch_embeds", "audio"), ("qformer_output", "queries"), ("llm_logits", "logits")):
        assert tolerance(e[key], case.terms[terms], fp16=key == "llm_logits") < 0.01 * e[key].abs().max().item()
    # A log-energy: 1e-2 is a 1% error in an energy. Bands that hold at least 1% of their frame's energy (the
    # ones a wrong window, scale or mel matrix moves) are held to that.
    energy = e["fbank"].double().exp()
    strong = energy / energy.sum(-1, keepdim=True) >= 0.01
    assert fbank_tolerance(case)[strong].max() < 1e-2


def test_waveform(case):
    expected = case.expected["waveform_32k_head"]
    wave = audio.normalize(audio.resample(case.recording.wave, case.recording.sample_rate))
    # At the whole waveform's magnitude, not the head's: the mean removed from every sample sums all of them.
    close(wave[:, : expected.shape[1]], expected, tolerance(wave, case.terms["wave"]))


def test_fbank(case):
    # The log turns the energies' relative error into an absolute one, so the tolerance is not scaled by the
    # fbank's magnitude; it grows as a band's share of its frame shrinks (fbank_tolerance).
    close(case.fbank, case.expected["fbank"], fbank_tolerance(case))


def test_encoder_output(case):
    expected = case.expected["audio_patch_embeds"]
    close(case.audio, expected, tolerance(expected, case.terms["audio"]))
    first = case.expected["patch_embedding_pre_ln_seg0_first16"]
    close(case.pre_ln[:1, : first.shape[1]], first, tolerance(first, case.terms["encoder"]))


def test_qformer_inputs_and_output(case):
    assert torch.equal(case.ids.qformer_ids.repeat(audio.N_SEGMENTS, 1), case.expected["qformer_input_ids"])
    assert torch.equal(case.ids.qformer_mask.repeat(audio.N_SEGMENTS, 1), case.expected["qformer_attention_mask"])
    expected = case.expected["qformer_output"]
    close(case.queries, expected, tolerance(expected, case.terms["queries"]))


def test_llm_inputs(case):
    assert torch.equal(case.ids.prompt_ids, case.expected["llm_prompt_input_ids"])
    projected, embeds = case.expected["llm_proj_output"], case.expected["llm_inputs_embeds"]
    close(case.projected, projected, tolerance(projected, case.terms["projected"]))
    # The original cast the spliced inputs to fp16.
    close(case.inputs.inputs_embeds, embeds, tolerance(embeds, case.terms["projected"], fp16=True))
    assert torch.equal(case.inputs.attention_mask, case.expected["llm_attention_mask"])


def test_logits(case):
    expected = case.expected["llm_logits"]
    # The LLM reads the fp16-cast inputs: one fp16 step there moves the logits by about as much, relatively.
    close(case.logits, expected, tolerance(expected, case.terms["logits"], fp16=True))


@pytest.mark.parametrize("kind", ["greedy", "greedy_norep"])
def test_greedy_ids(case, kind):
    if f"{kind}_ids" not in case.expected:
        pytest.skip(f"fixture {case.folder.name} has no {kind}_ids")
    ids = case.generate(kind, "greedy")
    assert ids.tolist() == case.expected[f"{kind}_ids"].tolist()
    texts = case.meta.get("generate", {}).get("texts", {})
    if kind in texts:
        assert case.loaded.tokenizer.decode(ids[0].tolist()) == texts[kind][0]


@pytest.mark.parametrize("kind", ["greedy", "greedy_norep"])
def test_greedy_ids_with_the_static_cache(case, kind):
    """The engine's static KV cache (CUDA's default; on the CPU its eager path) gives the fixture's ids too."""
    if f"{kind}_ids" not in case.expected:
        pytest.skip(f"fixture {case.folder.name} has no {kind}_ids")
    llm = case.loaded.model.llm
    scheduler = Scheduler(llm, BatchConfig(kv_cache="static", warm_up=()), eos_id=case.loaded.tokenizer.prompt.eos_id)
    row = Row(case.inputs, case.settings(kind, "greedy"))
    scheduler.run([row])
    assert scheduler.cache_shapes and row.ids == case.expected[f"{kind}_ids"][0].tolist()


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
