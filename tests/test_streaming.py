"""An AnswerStream knows only its rows, the scheduler that decodes them and a decode function: here a fake
scheduler stands in for the model, and llaqo.streaming loads without the coach."""

from __future__ import annotations

import subprocess
import sys
import threading

import torch

from llaqo.batching import Row
from llaqo.model.llaqo import LLMInputs
from llaqo.protocol import Settings
from llaqo.streaming import AnswerStream

EOS = 2
WORDS = {5: " Steady", 6: " tempo", 7: ",", 8: " well", 9: " done."}


def decode(ids: list[int]) -> str:
    return "".join(WORDS.get(i, "") for i in ids)


class FakeScheduler:
    """Pushes each row its planned ids from a thread, as the batching worker does."""

    def __init__(self, plans: list[list[int]]):
        self.plans = plans

    def submit(self, rows: list[Row]) -> list[Row]:
        def work():
            for row, plan in zip(rows, self.plans, strict=True):
                for token in plan:
                    row.push(token, EOS)
                row.finish()

        threading.Thread(target=work, daemon=True).start()
        return rows


def row(settings: Settings) -> Row:
    return Row(LLMInputs(torch.zeros(1, 4, 8), torch.ones(1, 4, dtype=torch.long)), settings)


def test_a_window_answer_streams_its_rows_tokens():
    settings = Settings(max_new_tokens=10)
    stream = AnswerStream(
        lambda: ([row(settings)], None), FakeScheduler([[5, 6, 7, 8, 9, EOS]]), decode, settings, (0.0, 10.24)
    )
    pieces = [p for p in stream if p]
    assert "".join(pieces) == stream.stats.text == "Steady tempo, well done."
    assert len(pieces) > 1 and stream.stats.tokens == 6 and stream.stats.heard_s == (0.0, 10.24)


def test_a_whole_recording_answer_lists_its_windows():
    settings = Settings(max_new_tokens=10, scope="whole")
    spans = [(0.0, 10.24), (10.24, 20.48), (20.48, 30.0)]
    plans = [[5, 6, EOS], [5, 6, EOS], [8, 9, EOS]]
    stream = AnswerStream(
        lambda: ([row(settings) for _ in plans], spans), FakeScheduler(plans), decode, settings, (0.0, 10.24)
    )
    assert "".join(stream) == "**0:00–0:20** Steady tempo\n**0:20–0:30** well done."
    assert stream.stats.heard_s == (0.0, 30.0)


def test_streaming_does_not_import_the_coach():
    code = "import sys, llaqo.streaming; assert 'llaqo.coach' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
