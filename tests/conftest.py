"""Shared test fixtures: a tiny random LLaQo release in the original formats, and a synthesized clip."""

from __future__ import annotations

from pathlib import Path

import pytest

from llaqo.config import PathsConfig
from llaqo.synthetic import synth_piano, write_release


@pytest.fixture(scope="session")
def release(tmp_path_factory) -> PathsConfig:
    """A tiny random release, written once per test session."""
    paths = write_release(tmp_path_factory.mktemp("release"))
    return PathsConfig(**{k: str(v) for k, v in paths.items()})


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """Six seconds of synthesized stereo piano at 44.1 kHz."""
    return synth_piano(tmp_path_factory.mktemp("audio") / "clip.wav", seconds=6.0, channels=2)
