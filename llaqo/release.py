"""The released weights: which files LLaQo needs, whether they are here, and how to fetch them."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from llaqo.checkpoint import CheckpointError, is_converted, resolve_llm_dir
from llaqo.config import PathsConfig


@dataclass(frozen=True)
class Part:
    """One piece of the release: where it goes and where it comes from."""

    field: str
    """The PathsConfig field that points at it."""
    what: str
    repo: str
    files: tuple[str, ...] = ()
    """Files to take from the repo; empty means the whole repo (in one weight format, see weight_filter)."""

    @property
    def single_file(self) -> bool:
        """The part is one file of the repo, saved wherever the user's path says, under the user's name."""
        return self.field in ("checkpoint", "audio_encoder")

    def command(self, path: str) -> str:
        """The exact shell command that fetches this part to `path`."""
        target = Path(path)
        if self.single_file:
            (name,) = self.files
            fetch = f"hf download {self.repo} {name} --local-dir {target.parent}"
            return fetch if target.name == name else f"{fetch} && mv {target.parent / name} {target}"
        return f"hf download {self.repo} {' '.join(self.files)} --local-dir {target}".replace("  ", " ")


PARTS = (
    Part("checkpoint", "LLaQo checkpoint", "anusfoil/LLaQo-ckpts", ("checkpoint_2283000.pth",)),
    Part("audio_encoder", "AudioMAE ViT-B/16 (vit.pth)", "anusfoil/LLaQo-ckpts", ("vit.pth",)),
    Part("llm", "Vicuna-7B v1.5", "lmsys/vicuna-7b-v1.5"),
    Part("qformer_tokenizer", "BERT-mini tokenizer", "google/bert_uncased_L-4_H-256_A-4", ("config.json", "vocab.txt")),
)


@dataclass(frozen=True)
class PartStatus:
    part: Part
    path: str
    present: bool
    note: str = ""


def status(paths: PathsConfig) -> list[PartStatus]:
    """Which parts are present at `paths`. A converted checkpoint folder needs neither vit.pth nor BERT."""
    converted = is_converted(paths.checkpoint)
    out = []
    for part in PARTS:
        path = getattr(paths, part.field)
        if converted and part.field in ("audio_encoder", "qformer_tokenizer"):
            out.append(PartStatus(part, path, True, "inside the converted checkpoint"))
        elif part.field == "llm":
            try:
                folder = resolve_llm_dir(path)
                present = (folder / "tokenizer.model").is_file()
                out.append(PartStatus(part, path, present, "" if present else "tokenizer.model missing"))
            except CheckpointError:
                out.append(PartStatus(part, path, False))
        elif part.field == "qformer_tokenizer":
            present = (Path(path) / "vocab.txt").is_file() and (Path(path) / "config.json").is_file()
            out.append(PartStatus(part, path, present))
        else:
            out.append(PartStatus(part, path, Path(path).exists()))
    return out


def complete(paths: PathsConfig) -> bool:
    return all(s.present for s in status(paths))


class OfflineError(RuntimeError):
    """The Hugging Face hub cannot be reached."""


WEIGHT_FORMATS = ("*.safetensors", "*.bin")
"""The weight file patterns transformers loads, preferred first."""


def weight_filter(repo_files: list[str]) -> list[str] | None:
    """Ignore patterns that keep one weight format: a repository with both safetensors and .bin shards holds
    the same weights twice (13 GB each for Vicuna-7B), and transformers loads the safetensors."""
    from fnmatch import fnmatch

    present = [p for p in WEIGHT_FORMATS if any(fnmatch(f, p) for f in repo_files)]
    return present[1:] or None


def download(paths: PathsConfig) -> None:
    """Fetch every missing part with huggingface_hub. Raises OfflineError without a connection."""
    from huggingface_hub import hf_hub_download, list_repo_files, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    for entry in status(paths):
        if entry.present:
            continue
        part, target = entry.part, Path(entry.path)
        try:
            if part.single_file:
                # The repo's file name, saved under the name the user gave (e.g. --checkpoint some/dir/c.pth).
                target.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
                    Path(hf_hub_download(part.repo, part.files[0], local_dir=tmp)).replace(target)
            elif part.files:
                snapshot_download(part.repo, allow_patterns=list(part.files), local_dir=target)
            else:
                ignore = weight_filter(list_repo_files(part.repo))
                snapshot_download(part.repo, ignore_patterns=ignore, local_dir=target)
        except (OSError, HfHubHTTPError) as err:
            raise OfflineError(
                f"could not download {part.repo} ({type(err).__name__}): this machine cannot reach the "
                "Hugging Face hub. Fetch the files on a machine with internet (see ckpts/README.md) and copy "
                "them into ckpts/, then run `python -m llaqo doctor`."
            ) from err
