"""The overall answer on every perfbench dev take, with and without its score: does it start with a verdict, say
at most about 90 words before "Ask me about", name the top problem and where, and show no MIDI number (and no
dB or ms)? The checks are llaqo.lite.answers.overview.shortfalls, as tests/test_lite_overview.py runs them.

Usage: python bench/overview_voice.py [--perfbench ../shared/perfbench/dev] [--cache /tmp/llaqo-transkun-cache/lite]
Exits 1 when any answer falls short.
"""

from __future__ import annotations

import sys

from common import perfbench_args  # this folder is on the path of a script run from it
from lite_accuracy import cached_transcriber

from llaqo.lite.analysis import analyze
from llaqo.lite.answers import advice, overview
from llaqo.lite.answers.answers import answer
from llaqo.lite.answers.grounding import Citer
from llaqo.lite.answers.questions import parse
from llaqo.lite.answers.scope import resolve_scope

QUESTIONS = ("", "How was it?")


def main() -> None:
    args = perfbench_args(__doc__)
    transcriber = cached_transcriber(args.cache)
    print(f"{'performance':<36} {'score':>5} {'words':>5} {'top problem':>11}  shortfalls")
    failed = 0
    for folder in sorted(p for p in args.perfbench.iterdir() if p.is_dir()):
        for score in (folder / "score.mid", None):
            a = analyze(folder / "audio.flac", score, transcriber=transcriber)
            for question in QUESTIONS:
                said, doc = answer(a, question)
                text = " ".join(s.text for s in said)
                found = advice.problems(Citer(doc), resolve_scope(parse(question).scope, doc))
                top = found[0].topic if found else None
                short = overview.shortfalls(text, top)
                failed += bool(short)
                before = overview.words(text.partition("Ask me about")[0])
                print(
                    f"{folder.name:<36} {'yes' if score else 'no':>5} {before:>5} {top or '-':>11}  "
                    f"{'; '.join(short) or 'none'}"
                )
    print(f"answers falling short: {failed}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
