"""Every error a client sees carries ``extensions.code`` from one fixed set.

Data-layer errors keep their code and details; GraphQL syntax and validation errors get the
standard codes; anything else is an internal error: logged with the request id and masked.
"""

from __future__ import annotations

from collections.abc import Iterator

import structlog
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from data.errors import BAD_USER_INPUT, NOT_FOUND, DataError

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL = "INTERNAL_SERVER_ERROR"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
TIMEOUT = "TIMEOUT"

# The documented set (README, "Error codes").
CODES = (
    BAD_USER_INPUT, NOT_FOUND, PARSE_FAILED, VALIDATION_FAILED, QUERY_TOO_COMPLEX,
    QUERY_TOO_DEEP, TOO_MANY_ALIASES, TOO_MANY_TOKENS, TIMEOUT, INTERNAL,
)

log = structlog.get_logger("movies.errors")


class CodedError(GraphQLError):
    """A GraphQL error raised by the API itself with a code from ``CODES``."""

    def __init__(self, message: str, code: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def _code_for(error: GraphQLError) -> tuple[GraphQLError, str]:
    original = error.original_error
    if isinstance(original, DataError):
        error.extensions = {"code": original.code, **original.extensions}
        return error, original.code
    if isinstance(error.extensions, dict) and error.extensions.get("code") in CODES:
        return error, error.extensions["code"]
    # Variable coercion wraps its own GraphQLError (e.g. an unknown enum value): still the
    # client's mistake, not an internal error.
    if original is None or isinstance(original, GraphQLError):
        message = error.message
        if "maximum operation depth" in message:
            code = QUERY_TOO_DEEP
        elif "aliases found" in message:
            code = TOO_MANY_ALIASES
        elif "more than" in message and "tokens" in message:
            code = TOO_MANY_TOKENS
        elif message.startswith("Syntax Error"):
            code = PARSE_FAILED
        elif message.startswith("Variable '$") or "got invalid value" in message:
            code = BAD_USER_INPUT
        else:
            code = VALIDATION_FAILED
        error.extensions = {**(error.extensions or {}), "code": code}
        return error, code
    log.error("internal error", path=error.path, exc_info=original)
    masked = GraphQLError(
        "Internal server error", nodes=error.nodes, path=error.path,
        extensions={"code": INTERNAL},
    )
    return masked, INTERNAL


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:
            # Raised by another extension's hook (the parser cache parses in ``on_parse``, so
            # syntax and token-limit errors arrive here) instead of being returned in a
            # result; Strawberry reports the raised error as is, so code it on the way out.
            coded, _code = _code_for(error)
            raise coded from None
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        coded = [_code_for(error) for error in result.errors]
        result.errors = [error for error, _code in coded]
