"""`python -m llaqo evaluate`: answer a test set with the model and score it with the authors' protocol.

Each row is scored by its task (``llaqo.training.data.tasks``): ratings by MAE and prompt-following rate,
difficulty by MAE, techniques by macro P/R/F1 of the last word, student/master and composer by accuracy, and
open questions by BLEU-1..4, METEOR, ROUGE-L and BERTScore-F1 (when bert-score and roberta-large are on this
machine). Scores are given for all rows, per dataset, and per NeuroPiano category. Results go to
``results.json`` (scores and every answer) and ``results.md`` (a table).

Under ``accelerate launch`` each process answers every P-th row and the main process gathers and scores them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate import PartialState
from accelerate.utils import gather_object
from tqdm import tqdm

from llaqo import checkpoint
from llaqo.audio import AudioError
from llaqo.config import PathsConfig
from llaqo.decoding import PromptTooLong, generate
from llaqo.model.llaqo import LLaQo
from llaqo.model.tokenizers import QuestionTokenizer
from llaqo.protocol import Settings
from llaqo.training import metrics
from llaqo.training.collate import Collator, read_csv
from llaqo.training.data import DATASETS, SPLITS, Sample, load_dataset, resolve_metadata_dir
from llaqo.training.data.tables import METADATA_ENV
from llaqo.training.data.tasks import COMPOSER, DIFFICULTY, EXPERTISE, OPEN, RATING, TECHNIQUE

log = logging.getLogger(__name__)

EXIT_OK, EXIT_NO_ANSWERS, EXIT_USAGE = 0, 1, 2
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
UNANSWERABLE = (AudioError, PromptTooLong)
"""Errors that concern one row (an unusable recording, a question too long for the original's budget)."""


@dataclass
class Prediction:
    """One answered row. ``prediction`` is None when the recording could not be used (``error`` says why)."""

    index: int
    audio: str
    question: str
    reference: str
    prediction: str | None
    task: str
    dataset: str
    category: str | None = None
    error: str | None = None


# --- answering ------------------------------------------------------------------------------------------------


def length_batches(samples: Sequence[Sample], tokenizer: QuestionTokenizer, batch_size: int) -> list[list[int]]:
    """Row indices in batches of questions with the same LLM token count, so no batch needs padding and each
    row is decoded exactly as it would be alone (the original splice has no room for left padding)."""
    groups: dict[int, list[int]] = defaultdict(list)
    for index, sample in enumerate(samples):
        groups[len(tokenizer.prompt.encode(sample.question))].append(index)
    return [rows[i : i + batch_size] for rows in groups.values() for i in range(0, len(rows), batch_size)]


@torch.no_grad()
def answer_batch(
    model: LLaQo, tokenizer: QuestionTokenizer, collator: Collator, samples: list[Sample], settings: Settings
) -> list[str]:
    """Answers for samples whose questions have one LLM token count. Raises UNANSWERABLE errors."""
    device = model.audio_indicator_token.device
    batch = collator(samples).to(device)
    inputs = model.prepare(batch.fbank, batch.qformer_ids, batch.qformer_mask, batch.prompt_ids)
    ids = generate(model.llm, inputs, settings)
    return [tokenizer.decode(row.tolist()) for row in ids]


def predict(
    model: LLaQo,
    tokenizer: QuestionTokenizer,
    samples: Sequence[Sample],
    settings: Settings,
    *,
    batch_size: int = 8,
    start_s: float = 0.0,
    progress: bool = True,
) -> list[str | Exception]:
    """The model's answer to every sample, in order; the error (AudioError, PromptTooLong) in place of a row that
    cannot be answered."""
    collator = Collator(tokenizer, train=False, start_s=start_s)
    answers: list[str | Exception] = [AudioError("not answered")] * len(samples)
    bar = tqdm(total=len(samples), desc="evaluate", disable=not progress)
    for rows in length_batches(samples, tokenizer, batch_size):
        try:
            texts = answer_batch(model, tokenizer, collator, [samples[i] for i in rows], settings)
        except UNANSWERABLE:
            texts = []  # find the unusable rows one by one, and answer the others
            for i in rows:
                try:
                    texts += answer_batch(model, tokenizer, collator, [samples[i]], settings)
                except UNANSWERABLE as err:
                    log.warning("row %d: %s", i, err)
                    texts.append(err)
        for i, text in zip(rows, texts, strict=True):
            answers[i] = text
        bar.update(len(rows))
    bar.close()
    return answers


# --- scoring --------------------------------------------------------------------------------------------------


def _rating(predictions: list[str], references: list[str]) -> dict[str, Any]:
    scores = metrics.rating_scores(predictions, references)
    return {"mae": scores.mae, "following_rate": scores.following_rate}


def _classification(predictions: list[str], references: list[str]) -> dict[str, Any]:
    scores = metrics.technique_scores(predictions, references)
    return {"precision": scores.precision, "recall": scores.recall, "f1": scores.f1, "accuracy": scores.accuracy}


def _feedback(bertscore_model: str | None) -> Callable[[list[str], list[str]], dict[str, Any]]:
    def score(predictions: list[str], references: list[str]) -> dict[str, Any]:
        scores = metrics.feedback_scores(predictions, references, bertscore_model)
        bleu = {f"bleu{n}": value for n, value in enumerate(scores.bleu, start=1)}
        return {**bleu, "meteor": scores.meteor, "rouge_l": scores.rouge_l, "bertscore_f1": scores.bertscore_f1}

    return score


def task_metrics(bertscore_model: str | None) -> dict[str, Callable[[list[str], list[str]], dict[str, Any]]]:
    """Task -> scorer of (predictions, references), as the authors' evaluation scripts."""
    return {
        RATING: _rating,
        DIFFICULTY: _rating,
        TECHNIQUE: _classification,
        EXPERTISE: lambda p, r: {"accuracy": metrics.expertise_accuracy(p, r)},
        COMPOSER: lambda p, r: {"accuracy": metrics.composer_accuracy(p, r)},
        OPEN: _feedback(bertscore_model),
    }


def score(predictions: Sequence[Prediction], bertscore_model: str | None = None) -> dict[str, dict[str, Any]]:
    """Task -> {"count", "answered", metric: value}. Rows without an answer count, but are not scored."""
    scorers = task_metrics(bertscore_model)
    by_task: dict[str, list[Prediction]] = defaultdict(list)
    for row in predictions:
        by_task[row.task].append(row)
    out = {}
    for task, rows in by_task.items():
        answered = [row for row in rows if row.prediction is not None]
        values: dict[str, Any] = {"count": len(rows), "answered": len(answered)}
        if answered:
            values |= scorers[task]([r.prediction for r in answered], [r.reference for r in answered])
        out[task] = values
    return out


def report(predictions: Sequence[Prediction], bertscore_model: str | None = None) -> dict[str, Any]:
    """Scores for all rows, per dataset and per category (NeuroPiano), plus every prediction."""

    def grouped(key: Callable[[Prediction], str | None]) -> dict[str, Any]:
        groups: dict[str, list[Prediction]] = defaultdict(list)
        for row in predictions:
            if (name := key(row)) is not None:
                groups[name].append(row)
        return {name: score(rows, bertscore_model) for name, rows in groups.items()}

    return {
        "rows": len(predictions),
        "failed": sum(row.prediction is None for row in predictions),
        "scores": {
            "all": score(predictions, bertscore_model),
            "by_dataset": grouped(lambda row: row.dataset),
            "by_category": grouped(lambda row: row.category),
        },
        "predictions": [dataclasses.asdict(row) for row in predictions],
    }


def _format(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def markdown(results: dict[str, Any]) -> str:
    """The scores as one Markdown table: group, task, rows, then each metric as `name value`."""
    lines = [
        f"Rows: {results['rows']} (without an answer: {results['failed']})",
        "",
        "| group | task | rows | scores |",
        "|---|---|---|---|",
    ]
    scores = results["scores"]
    sections = [("all", scores["all"])]
    sections += [(f"dataset {name}", tasks) for name, tasks in scores["by_dataset"].items()]
    sections += [(f"category {name}", tasks) for name, tasks in scores["by_category"].items()]
    for group, tasks in sections:
        for task, values in tasks.items():
            shown = ", ".join(f"{k} {_format(v)}" for k, v in values.items() if k not in ("count", "answered"))
            lines.append(f"| {group} | {task} | {values['answered']}/{values['count']} | {shown} |")
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """results.json and results.md in out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULTS_JSON).write_text(json.dumps(results, indent=2) + "\n")
    (out / RESULTS_MD).write_text(markdown(results))
    return out / RESULTS_JSON, out / RESULTS_MD


# --- the whole run --------------------------------------------------------------------------------------------


def process_state() -> PartialState:
    """This process's place among those `accelerate launch` (or torchrun) started. Without any accelerator,
    accelerate only joins the processes into one group when told it is on the CPU."""
    return PartialState(cpu=not torch.accelerator.is_available())


def evaluate(
    model: LLaQo,
    tokenizer: QuestionTokenizer,
    samples: Sequence[Sample],
    settings: Settings,
    *,
    batch_size: int = 8,
    start_s: float = 0.0,
    bertscore_model: str | None = None,
) -> dict[str, Any] | None:
    """Answer and score `samples`. Under several processes each answers every P-th row; the main process
    returns the report and the others None."""
    state = process_state()
    mine = list(range(state.process_index, len(samples), state.num_processes))
    answers = predict(
        model,
        tokenizer,
        [samples[i] for i in mine],
        settings,
        batch_size=batch_size,
        start_s=start_s,
        progress=state.is_local_main_process,
    )
    rows = [_prediction(i, samples[i], answer) for i, answer in zip(mine, answers, strict=True)]
    if state.num_processes > 1:
        rows = gather_object(rows)
    if not state.is_main_process:
        return None
    return report(sorted(rows, key=lambda row: row.index), bertscore_model)


def _prediction(index: int, sample: Sample, answer: str | Exception) -> Prediction:
    failed = isinstance(answer, Exception)
    return Prediction(
        index=index,
        audio=str(sample.audio_path),
        question=sample.question,
        reference=sample.answer,
        prediction=None if failed else answer,
        task=sample.task,
        dataset=sample.dataset,
        category=sample.category,
        error=str(answer) if failed else None,
    )


def load_samples(args: argparse.Namespace) -> list[Sample]:
    """The rows to evaluate: a CSV, or one dataset's split; cut to --limit."""
    if args.csv is not None:
        samples = read_csv(args.csv, split=args.split)
    else:
        if args.audio_root is None:
            raise FileNotFoundError("--dataset needs --audio-root DIR (one folder per dataset, see `data check`)")
        metadata = resolve_metadata_dir(args.metadata)
        samples = load_dataset(DATASETS[args.dataset], metadata, Path(args.audio_root), splits=(args.split,))
    return samples[: args.limit] if args.limit is not None else samples


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``evaluate`` to the top-level CLI's subparsers."""
    parser = subparsers.add_parser("evaluate", help="answer a test set and score it with the authors' metrics")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=sorted(DATASETS), help="a QA table (see `data check`)")
    source.add_argument("--csv", type=Path, help="a CSV with columns audio, question, answer (optional: category)")
    parser.add_argument("--split", choices=SPLITS, default="test", help="split of --dataset (default: test)")
    parser.add_argument("--metadata", metavar="DIR", help=f"folder of the QA tables; default: ${METADATA_ENV}")
    parser.add_argument("--audio-root", metavar="DIR", help="audio root for --dataset, one folder per dataset")
    parser.add_argument("--limit", type=int, help="evaluate the first N rows only")
    defaults = PathsConfig()
    parser.add_argument("--checkpoint", default=defaults.checkpoint, help="LLaQo .pth, or a folder in our format")
    parser.add_argument("--audio-encoder", default=defaults.audio_encoder, help="AudioMAE vit.pth")
    parser.add_argument("--llm", default=defaults.llm, help="Vicuna folder (plain or hub-cache layout)")
    parser.add_argument("--qformer-tokenizer", default=defaults.qformer_tokenizer, help="BERT tokenizer folder")
    parser.add_argument(
        "--mode",
        choices=("faithful", "greedy", "beam", "sample"),
        default="faithful",
        help="decoding; faithful is the original's beam search (default)",
    )
    parser.add_argument("--max-new-tokens", type=int, help="default: the original's 256 positions with the prompt")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--start-s", type=float, default=0.0, help="start of the 40.96 s window heard, in seconds")
    parser.add_argument(
        "--bertscore-model",
        default=metrics.BERTSCORE_MODEL,
        help="roberta-large name or folder for BERTScore; 'none' skips it",
    )
    parser.add_argument("--device", help="default: this process's accelerator device (cuda if present, else cpu)")
    parser.add_argument("--out", type=Path, help="folder for results.json and results.md (default: runs/eval/NAME)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Evaluate as the flags say; exit 0, 1 when no row's recording could be used, 2 when the data or the weights
    cannot be used."""
    try:
        return _run(args)
    finally:
        # Under several processes, leave together and close the group: a process that exits while the group's
        # threads still run aborts ("terminate called without an active exception"; 1 launch in 3 here).
        state = process_state()
        if state.num_processes > 1:
            state.wait_for_everyone()
            state.destroy_process_group()


def _run(args: argparse.Namespace) -> int:
    try:
        samples = load_samples(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}")
        return EXIT_USAGE
    if not samples:
        print(f"error: no rows to evaluate in {args.csv or f'{args.dataset} ({args.split})'}")
        return EXIT_USAGE
    state = process_state()
    device = torch.device(args.device) if args.device else state.device
    paths = PathsConfig(args.checkpoint, args.audio_encoder, args.llm, args.qformer_tokenizer)
    try:
        loaded = checkpoint.load(paths, device=device)
    except (checkpoint.CheckpointError, OSError) as err:
        print(f"error: {err}")
        return EXIT_USAGE
    settings = Settings(mode=args.mode, max_new_tokens=args.max_new_tokens)
    bertscore = None if args.bertscore_model.lower() == "none" else args.bertscore_model
    results = evaluate(
        loaded.model,
        loaded.tokenizer,
        samples,
        settings,
        batch_size=args.batch_size,
        start_s=args.start_s,
        bertscore_model=bertscore,
    )
    if results is None:
        return EXIT_OK
    name = args.csv.stem if args.csv is not None else f"{args.dataset}-{args.split}"
    results["source"] = str(args.csv) if args.csv is not None else f"{args.dataset}/{args.split}"
    results["settings"] = dataclasses.asdict(settings)
    json_path, md_path = write(results, args.out or Path("runs/eval") / name)
    print(markdown(results), end="")
    print(f"wrote {json_path} and {md_path}")
    if results["failed"] == results["rows"]:
        print("error: no recording could be used; see the warnings above (is --audio-root right?)")
        return EXIT_NO_ANSWERS
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """`python -m llaqo.training.evaluate ...`: `python -m llaqo evaluate ...` for `accelerate launch -m`."""
    parser = argparse.ArgumentParser(prog="python -m llaqo.training.evaluate")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["evaluate", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
