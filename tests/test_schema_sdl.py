"""The committed schema.graphql must be exactly what the code's schema prints."""

from __future__ import annotations

from pathlib import Path

from schema import sdl

SDL = Path(__file__).resolve().parents[1] / "schema.graphql"
REGENERATE = (
    "uv run python -c \"from schema import sdl; open('schema.graphql','w').write(sdl())\""
)


def test_committed_sdl_matches_schema() -> None:
    assert SDL.is_file(), f"schema.graphql is missing; generate it with: {REGENERATE}"
    committed = SDL.read_text(encoding="utf-8")
    assert committed == sdl(), (
        f"schema.graphql is out of date with the code; regenerate it with: {REGENERATE}"
    )
