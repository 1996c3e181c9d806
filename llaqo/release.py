"""The released weights: which files LLaQo needs, whether they are here, and how to fetch them."""

from __future__ import annotations

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
    """Files to take from the repo; empty means the whole repo."""

    def command(self, path: str) -> str:
        """The exact shell command that fetches this part to `path`."""
        target = Path(path)
        if self.field in ("checkpoint", "audio_encoder"):
            return f"hf download {self.repo} {target.name} --local-dir {target.parent}"
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


def download(paths: PathsConfig) -> None:
    """Fetch every missing part with huggingface_hub. Raises OfflineError without a connection."""
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    for entry in status(paths):
        if entry.present:
            continue
        part, target = entry.part, Path(entry.path)
        try:
            if part.field in ("checkpoint", "audio_encoder"):
                hf_hub_download(part.repo, target.name, local_dir=target.parent)
            else:
                snapshot_download(part.repo, allow_patterns=list(part.files) or None, local_dir=target)
        except (OSError, HfHubHTTPError) as err:
            raise OfflineError(
                f"could not download {part.repo} ({type(err).__name__}): this machine cannot reach the "
                "Hugging Face hub. Fetch the files on a machine with internet (see ckpts/README.md) and copy "
                "them into ckpts/, then run `python -m llaqo doctor`."
            ) from err
