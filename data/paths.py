"""Where the data lives: the embedded sample, the user's full files, the current build, and
TMDB's image host (the data's poster and profile paths are relative to it)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
SAMPLE_DIR = DATA_DIR / "sample"
RAW_DIR = DATA_DIR / "raw"
DEFAULT_BUILD = DATA_DIR / "build"

# TMDB's documented image base URL (https://developer.themoviedb.org/docs/image-basics).
TMDB_IMAGE_BASE_URL = "https://image.tmdb.org/t/p/"
