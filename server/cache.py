"""Response cache and automatic persisted queries (APQ), both bounded in-memory LRUs.

The build is immutable while the server runs, so the response to an identical
(query, variables, operation name) never changes: it is safe to serve from memory.

Both stores are bounded by the memory they hold, not by the length of what they hold: a
small body costs far more than its length once the bytes object, its key and the LRU's
bookkeeping are counted, so a bound on lengths alone lets many small entries grow without
limit. Each entry is charged its objects' ``sys.getsizeof`` plus a fixed bookkeeping cost,
and the number of entries is bounded as well.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
from cachetools import LRUCache

# What cachetools' LRUCache spends per entry beyond the key and value objects: a slot in each
# of its two dicts (data, sizes) and a node of its ordered dict, plus the int of the size.
# Measured with tracemalloc (tests/test_http.py holds the accounted size above the traced one).
ENTRY_OVERHEAD = 256


def request_key(query: str, variables: dict | None, operation: str | None) -> bytes:
    """The cache key of one operation. Raises orjson.JSONEncodeError for variables nested
    deeper than the encoder allows (the endpoint answers that as a bad request)."""
    payload = orjson.dumps([query, variables, operation], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(payload, digest_size=16).digest()


def etag(body: bytes, media_type: str = "") -> str:
    """A strong validator for one representation: the same body in another media type is
    another representation, so the media type is part of it."""
    digest = hashlib.blake2b(body, digest_size=12)
    digest.update(media_type.encode())
    return '"' + digest.hexdigest() + '"'


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Answer(NamedTuple):
    """One executed operation as sent: the application/json body, whether it holds errors,
    and for a request error (no ``data``) the application/graphql-response+json body and
    its status."""

    body: bytes
    errors: bool = False
    spec_body: bytes | None = None
    spec_status: int = 200


# Keys have fixed sizes: 16-byte digests for responses, 64 hex characters for APQ.
_KEY_BYTES = sys.getsizeof(bytes(16))
_DIGEST_BYTES = sys.getsizeof("0" * 64)


def answer_size(answer: Answer) -> int:
    size = _KEY_BYTES + sys.getsizeof(answer) + sys.getsizeof(answer.body) + ENTRY_OVERHEAD
    if answer.spec_body is not None:
        size += sys.getsizeof(answer.spec_body)
    return size


def query_size(query: str) -> int:
    return _DIGEST_BYTES + sys.getsizeof(query) + ENTRY_OVERHEAD


class _Bounded:
    """An LRU bounded by entries and by the memory its entries hold (see module doc)."""

    def __init__(self, max_bytes: int, max_entries: int, sizeof: Callable[[Any], int]) -> None:
        self.max_bytes = max(max_bytes, 1)
        self.max_entries = max(max_entries, 1)
        self._sizeof = sizeof
        self._lru: LRUCache = LRUCache(maxsize=self.max_bytes, getsizeof=sizeof)
        self._lock = threading.Lock()

    def _get(self, key: object) -> Any:
        with self._lock:
            return self._lru.get(key)

    def _put(self, key: object, value: object) -> None:
        if self._sizeof(value) > self.max_bytes // 8:
            return  # one huge entry must not flush everything else
        with self._lock:
            self._lru[key] = value
            while len(self._lru) > self.max_entries:
                self._lru.popitem()

    @property
    def size(self) -> int:
        """Bytes held, as accounted."""
        return int(self._lru.currsize)

    def __len__(self) -> int:
        return len(self._lru)


class ResponseCache(_Bounded):
    """Answers by request key."""

    def __init__(self, max_bytes: int, max_entries: int = 100_000) -> None:
        super().__init__(max_bytes, max_entries, answer_size)

    def get(self, key: bytes) -> Answer | None:
        return self._get(key)

    def put(self, key: bytes, answer: Answer) -> None:
        self._put(key, answer)


class PersistedQueries(_Bounded):
    """sha256 hex -> query text (Apollo APQ), bounded by entries and bytes."""

    def __init__(self, max_entries: int, max_bytes: int = 16 * 1024 * 1024) -> None:
        super().__init__(max_bytes, max_entries, query_size)

    def get(self, digest: str) -> str | None:
        return self._get(digest)

    def put(self, digest: str, query: str) -> None:
        self._put(digest, query)
