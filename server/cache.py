"""Response cache and automatic persisted queries (APQ), both bounded in-memory LRUs.

The build is immutable while the server runs, so the response to an identical
(query, variables, operation name) never changes: it is safe to serve from memory.
"""

from __future__ import annotations

import hashlib
import threading

import orjson
from cachetools import LRUCache


def request_key(query: str, variables: dict | None, operation: str | None) -> bytes:
    payload = orjson.dumps([query, variables, operation], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(payload, digest_size=16).digest()


def etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseCache:
    """Encoded response bodies by request key, bounded by total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self._lru: LRUCache[bytes, bytes] = LRUCache(maxsize=max(max_bytes, 1), getsizeof=len)
        self._lock = threading.Lock()
        self.max_bytes = max_bytes

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            return self._lru.get(key)

    def put(self, key: bytes, body: bytes) -> None:
        if len(body) > self.max_bytes // 8:
            return  # one huge answer must not flush everything else
        with self._lock:
            self._lru[key] = body

    @property
    def size(self) -> int:
        return int(self._lru.currsize)


class PersistedQueries:
    """sha256 hex -> query text (Apollo APQ)."""

    def __init__(self, max_entries: int) -> None:
        self._lru: LRUCache[str, str] = LRUCache(maxsize=max(max_entries, 1))
        self._lock = threading.Lock()

    def get(self, digest: str) -> str | None:
        with self._lock:
            return self._lru.get(digest)

    def put(self, digest: str, query: str) -> None:
        with self._lock:
            self._lru[digest] = query
