"""The ``movies`` command's entry point, which imports the CLI only when it runs.

The server's workers are spawned processes, and a spawned process re-imports the script it was
started from: with the entry point here, that costs nothing, where importing the CLI (Typer,
Rich) cost every worker a quarter of a second before it could start.
"""

from __future__ import annotations


def main() -> None:
    from cli.main import app

    app()
