"""Relay-style connections over precomputed row lists (offset cursors)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np
import strawberry

from data import deadline
from data.errors import BadInput

MAX_PAGE = 100
DEFAULT_PAGE = 20
_PREFIX = "offset:"

T = TypeVar("T")


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(text)
        offset = int(text[len(_PREFIX) :])
        if offset < 0:
            raise ValueError(text)
    except (ValueError, UnicodeError, binascii.Error):
        raise BadInput("after is not a cursor this API issued", argument="after") from None
    return offset


def check_first(first: int | None, default: int = DEFAULT_PAGE) -> int:
    if first is None:
        return default
    if not 0 <= first <= MAX_PAGE:
        raise BadInput(f"first must be between 0 and {MAX_PAGE}", argument="first")
    return first


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


def _edges(root: Connection[T]) -> list[Edge[T]]:
    # Cursors only when asked for: most pages are read as ``nodes``.
    return [Edge(cursor=encode_cursor(root.start + i), node=node)
            for i, node in enumerate(root.nodes)]


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(resolver=_edges)
    page_info: PageInfo
    total_count: int
    nodes: list[T] = strawberry.field(description="The nodes of this page, without cursors.")
    start: strawberry.Private[int] = 0  # offset of the page's first node


def paginate(
    rows: Sequence[int] | np.ndarray,
    first: int | None,
    after: str | None,
    make: Callable[[np.ndarray], list[T]],
) -> Connection[T]:
    """One page of ``rows`` (already in their final order) as a connection of the nodes
    ``make`` builds from the page's rows (all at once, so it can gather their columns in one
    go)."""
    deadline.check()
    size = check_first(first)
    start = decode_cursor(after) + 1 if after is not None else 0
    window = np.asarray(rows[start : start + size], dtype=np.int64)
    nodes = make(window)
    return Connection(
        nodes=nodes,
        start=start,
        page_info=PageInfo(
            has_next_page=start + len(window) < len(rows),
            has_previous_page=start > 0,
            start_cursor=encode_cursor(start) if nodes else None,
            end_cursor=encode_cursor(start + len(nodes) - 1) if nodes else None,
        ),
        total_count=len(rows),
    )
