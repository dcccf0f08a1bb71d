"""Errors the data layer raises for bad requests; the API maps each ``code`` to a client error.

The codes are a fixed, documented set (README, "Error codes"); anything else that escapes a
resolver is an internal error and is masked.
"""

from __future__ import annotations

from typing import Any

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"


class DataError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class BadInput(DataError):
    code = BAD_USER_INPUT


class NotFound(DataError):
    code = NOT_FOUND
