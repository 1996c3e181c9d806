"""Loading the original release formats, strictly, and our converted format."""

from __future__ import annotations

import gc
import shutil
import warnings
import weakref
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from llaqo import audio, checkpoint, decoding
from llaqo.config import BridgeConfig, PathsConfig
from llaqo.protocol import Settings
from llaqo.synthetic import ReleaseSizes, write_release


def run(loaded: checkpoint.LoadedLLaQo, clip: Path, question: str = "How was my pedalling?"):
    """logits of the prompt and 6 greedy ids."""
    fbank = audio.log_mel_window(audio.load_audio(clip))[None]
    ids = loaded.tokenizer(question)
    with torch.no_grad():
        inputs = loaded.model.prepare(fbank, ids.qformer_ids, ids.qformer_mask, ids.prompt_ids)
        logits = loaded.model(inputs)
        generated = decoding.generate(loaded.model.llm, inputs, Settings(max_new_tokens=6))
    return inputs, logits, generated


def test_load_infers_sizes_and_runs(release, clip):
    loaded = checkpoint.load(release)
    config = loaded.model.config
    sizes = ReleaseSizes()
    assert config.audio_encoder.embed_dim == sizes.audio_encoder.embed_dim
    assert config.audio_encoder.depth == sizes.audio_encoder.depth
    assert config.qformer.hidden_size == sizes.qformer.hidden_size
    assert config.qformer.num_layers == sizes.qformer.num_layers
    assert config.qformer.vocab_size == sizes.bert_vocab_size + 1  # [DEC] appended
    assert config.llm_hidden_size == sizes.llm["hidden_size"]
    inputs, logits, generated = run(loaded, clip)
    prompt = loaded.tokenizer("How was my pedalling?").prompt_ids
    assert prompt[0, 0].item() == 2, "the prompt starts with the id-2 </s> BOS"
    assert inputs.prompt_length == prompt.shape[1] + 2  # indicator + one audio token
    assert logits.shape == (1, inputs.prompt_length, sizes.llm["vocab_size"] + 2)
    assert torch.isfinite(logits).all()
    assert generated.shape == (1, 6)
    assert all(p.requires_grad is False for p in loaded.model.parameters())


def test_checkpoint_encoder_overrides_vit_pth(release, clip):
    """Only pos_embed may survive from vit.pth; the checkpoint's encoder weights win."""
    loaded = checkpoint.load(release)
    ckpt = torch.load(release.checkpoint, weights_only=True)["model"]
    vit = torch.load(release.audio_encoder, weights_only=True)["model"]
    encoder = loaded.model.audio_encoder
    assert torch.equal(encoder.cls_token, ckpt["audio_encoder.model.cls_token"])
    assert not torch.equal(encoder.cls_token, vit["cls_token"])
    assert torch.equal(encoder.pos_embed, vit["pos_embed"])


def test_only_the_first_query_reaches_the_llm_by_default(release):
    loaded = checkpoint.load(release)
    model = loaded.model
    queries = torch.randn(1, 32 * audio.N_SEGMENTS, model.config.qformer.hidden_size)
    assert model.project(queries).shape == (1, 1, model.config.llm_hidden_size)
    changed = queries.clone()
    changed[:, 1:] += 1.0
    assert torch.equal(model.project(queries), model.project(changed))


def test_all_queries_bridge(release, clip):
    loaded = checkpoint.load(release, bridge=BridgeConfig(llm_tokens="all_queries"))
    inputs, logits, _ = run(loaded, clip)
    prompt = loaded.tokenizer("How was my pedalling?").prompt_ids
    assert inputs.prompt_length == prompt.shape[1] + 1 + 32 * audio.N_SEGMENTS


def test_convert_and_reload_gives_identical_outputs(release, clip, tmp_path):
    original = run(checkpoint.load(release), clip)
    out = checkpoint.convert(release, tmp_path / "converted")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors", "qformer_tokenizer"]
    # The converted folder needs only the LLM besides: no vit.pth, no BERT folder.
    paths = PathsConfig(checkpoint=str(out), audio_encoder="/nonexistent", llm=release.llm, qformer_tokenizer="/no")
    reloaded = run(checkpoint.load(paths), clip)
    assert torch.equal(original[1], reloaded[1])
    assert torch.equal(original[2], reloaded[2])


def test_freeze_vit_checkpoint_takes_the_encoder_from_vit_pth(tmp_path, clip):
    paths = write_release(tmp_path, ReleaseSizes(freeze_vit=True))
    loaded = checkpoint.load(PathsConfig(**{k: str(v) for k, v in paths.items()}))
    vit = torch.load(paths["audio_encoder"], weights_only=True)["model"]
    assert torch.equal(loaded.model.audio_encoder.cls_token, vit["cls_token"])


def test_hub_cache_layout(release, clip, tmp_path):
    cache = tmp_path / "hub" / "models--lmsys--vicuna-7b-v1.5"
    snapshot = cache / "snapshots" / "de56c35b1763eaae20f4d60efd64af0a9091ebe5"
    shutil.copytree(release.llm, snapshot)
    (cache / "refs").mkdir()
    (cache / "refs" / "main").write_text("de56c35b1763eaae20f4d60efd64af0a9091ebe5")
    for llm in (cache, tmp_path / "hub"):
        assert checkpoint.resolve_llm_dir(llm) == snapshot
    a = run(checkpoint.load(replace(release, llm=str(cache))), clip)
    b = run(checkpoint.load(release), clip)
    assert torch.equal(a[1], b[1])


def edited_checkpoint(release: PathsConfig, tmp_path: Path, edit) -> PathsConfig:
    blob = torch.load(release.checkpoint, weights_only=True)
    edit(blob["model"])
    path = tmp_path / "edited.pth"
    torch.save(blob, path)
    return replace(release, checkpoint=str(path))


def test_missing_key_is_named(release, tmp_path):
    paths = edited_checkpoint(release, tmp_path, lambda s: s.pop("llm_proj.bias"))
    with pytest.raises(checkpoint.CheckpointError, match=r"missing keys: llm_proj\.bias"):
        checkpoint.load(paths)


def test_unexpected_key_is_named_but_rotary_buffers_are_ignored(release, tmp_path):
    def add(state):
        state["Qformer.cls.predictions.bias"] = torch.zeros(3)
        state["llm_model.model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.zeros(4)

    with pytest.raises(checkpoint.CheckpointError, match=r"unexpected keys: Qformer\.cls\.predictions\.bias$"):
        checkpoint.load(edited_checkpoint(release, tmp_path, add))


def test_shape_mismatch_is_named(release, tmp_path):
    def widen(state):
        state["ln_audio.weight"] = torch.ones(state["ln_audio.weight"].shape[0] + 1)

    with pytest.raises(checkpoint.CheckpointError, match=r"shape mismatches: ln_audio\.weight"):
        checkpoint.load(edited_checkpoint(release, tmp_path, widen))


def test_unreadable_and_absent_files(release, tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(checkpoint.CheckpointError, match="not a readable PyTorch checkpoint"):
        checkpoint.load(replace(release, checkpoint=str(bad)))
    with pytest.raises(checkpoint.CheckpointError, match="not found"):
        checkpoint.load(replace(release, checkpoint=str(tmp_path / "absent.pth")))
    with pytest.raises(checkpoint.CheckpointError, match="no LLM found"):
        checkpoint.resolve_llm_dir(tmp_path)


def test_pickle_payloads_are_refused(release, tmp_path):
    """weights_only=True: a checkpoint that would run code on load is rejected, not executed."""

    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"model": {"x": Payload()}}, path)
    with pytest.raises(checkpoint.CheckpointError, match="not a readable PyTorch checkpoint"):
        checkpoint.load(replace(release, checkpoint=str(path)))


def test_the_bridge_file_tensors_are_released_before_the_llm_loads(release, monkeypatch):
    """Memory: the checkpoint's state dict is copied into the model and dropped, never kept beside the LLM."""
    read, load_llm = checkpoint.read_bridge, checkpoint.load_llm
    refs, alive_at_llm_load = [], []

    def reading(*args, **kwargs):
        config, state, folder = read(*args, **kwargs)
        refs.extend(weakref.ref(t) for t in state.values())
        return config, state, folder

    def loading_llm(*args, **kwargs):
        gc.collect()
        alive_at_llm_load.append(sum(r() is not None for r in refs))
        return load_llm(*args, **kwargs)

    monkeypatch.setattr(checkpoint, "read_bridge", reading)
    monkeypatch.setattr(checkpoint, "load_llm", loading_llm)
    checkpoint.load(release)
    assert refs and alive_at_llm_load == [0]


def test_the_loaded_model_holds_each_weight_once_in_its_dtype(release):
    """No tensor outlives loading but the model's own, no two parameters share or copy a storage, and an fp16
    LLM keeps no fp32 copy (the bridge is fp32 by design)."""

    def alive() -> dict[int, torch.Tensor]:
        gc.collect()
        # type(), not isinstance(): a weak proxy left by an earlier test raises when its object is gone.
        return {id(o): o for o in gc.get_objects() if issubclass(type(o), torch.Tensor)}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gc.get_objects() meets deprecated torch attributes
        before = alive()
        loaded = checkpoint.load(release, llm_dtype=torch.float16)
        after = alive()
    model = loaded.model
    tensors = list(model.parameters()) + list(model.buffers())
    storages = [t.untyped_storage().data_ptr() for t in tensors]
    assert len(set(storages)) == len(storages)
    # Inference tensors are left out: earlier tests' scheduler threads may still be decoding meanwhile.
    new = [t for i, t in after.items() if i not in before and not t.is_inference()]
    assert [t for t in new if t.untyped_storage().data_ptr() not in set(storages)] == []
    assert {p.dtype for p in model.llm.parameters()} == {torch.float16}
