"""Where the data lives: the embedded sample, the user's full files, and the current build."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
SAMPLE_DIR = DATA_DIR / "sample"
RAW_DIR = DATA_DIR / "raw"
DEFAULT_BUILD = DATA_DIR / "build"
