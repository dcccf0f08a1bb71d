"""The error codes a client can see, and the errors the data layer raises for bad requests.

``Code`` is the one registry of codes (README, "Error codes"): every ``extensions.code`` in a
response is one of them. It lives in the lowest layer so that the data layer, the schema and
the HTTP endpoint all name codes from the same place. Anything else that escapes a resolver
is an internal error and is masked.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Code(StrEnum):
    # Raised by resolvers and the data layer.
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    TIMEOUT = "TIMEOUT"
    # The GraphQL document itself.
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # Limits checked before execution.
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    BATCH_TOO_COMPLEX = "BATCH_TOO_COMPLEX"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    TOO_MANY_FRAGMENT_SPREADS = "TOO_MANY_FRAGMENT_SPREADS"
    # Anything unexpected (masked).
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    # The HTTP request around the GraphQL one.
    BAD_REQUEST = "BAD_REQUEST"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    SERVER_BUSY = "SERVER_BUSY"


# Codes the transport answers with before (or instead of) running GraphQL. NOT_FOUND is both:
# an unknown title, and /graphql without a query where GraphiQL is off.
TRANSPORT_CODES = frozenset({
    Code.BAD_REQUEST, Code.PAYLOAD_TOO_LARGE, Code.UNSUPPORTED_MEDIA_TYPE,
    Code.METHOD_NOT_ALLOWED, Code.BATCH_TOO_LARGE, Code.PERSISTED_QUERY_NOT_FOUND,
    Code.NOT_FOUND, Code.NOT_ACCEPTABLE, Code.REQUEST_TIMEOUT, Code.SERVER_BUSY,
})
# Codes carried in a GraphQL response's ``errors``.
GRAPHQL_CODES = frozenset(set(Code) - TRANSPORT_CODES | {Code.NOT_FOUND})
# Answers with these codes may differ next time (or depend on the rest of the request), so
# they are never cached.
UNCACHEABLE = frozenset({Code.INTERNAL_SERVER_ERROR, Code.TIMEOUT, Code.BATCH_TOO_COMPLEX})

# The names the rest of the code base imports.
BAD_USER_INPUT = Code.BAD_USER_INPUT
NOT_FOUND = Code.NOT_FOUND
BAD_REQUEST = Code.BAD_REQUEST
PAYLOAD_TOO_LARGE = Code.PAYLOAD_TOO_LARGE
UNSUPPORTED_MEDIA_TYPE = Code.UNSUPPORTED_MEDIA_TYPE
METHOD_NOT_ALLOWED = Code.METHOD_NOT_ALLOWED
BATCH_TOO_LARGE = Code.BATCH_TOO_LARGE
PERSISTED_QUERY_NOT_FOUND = Code.PERSISTED_QUERY_NOT_FOUND
NOT_ACCEPTABLE = Code.NOT_ACCEPTABLE
REQUEST_TIMEOUT = Code.REQUEST_TIMEOUT
SERVER_BUSY = Code.SERVER_BUSY
TIMEOUT = Code.TIMEOUT
INTERNAL = Code.INTERNAL_SERVER_ERROR


class DataError(Exception):
    code: Code = Code.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class BadInput(DataError):
    code = Code.BAD_USER_INPUT


class NotFound(DataError):
    code = Code.NOT_FOUND
