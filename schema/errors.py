"""Every error a client sees carries ``extensions.code`` from one fixed set (``data.errors``).

Codes are decided by where an error comes from, never by its wording:

- data-layer errors (``DataError``) and the API's own limits (``CodedError``) carry theirs;
- a ``GraphQLSyntaxError`` is a parse failure;
- whatever the validation step reports is a validation failure (coded as it leaves that step);
- an error located at a variable definition, before execution, or one graphql-core raises
  at an argument while it runs a field, is a bad input value;
- anything else that escapes a resolver is an internal error: logged with the request id and
  masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import structlog
from graphql import GraphQLSyntaxError, VariableDefinitionNode
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from data.errors import GRAPHQL_CODES, Code, DataError

# The names the rest of the code base imports.
BAD_USER_INPUT = Code.BAD_USER_INPUT
NOT_FOUND = Code.NOT_FOUND
PARSE_FAILED = Code.GRAPHQL_PARSE_FAILED
VALIDATION_FAILED = Code.GRAPHQL_VALIDATION_FAILED
INTERNAL = Code.INTERNAL_SERVER_ERROR
QUERY_TOO_COMPLEX = Code.QUERY_TOO_COMPLEX
QUERY_TOO_DEEP = Code.QUERY_TOO_DEEP
TOO_MANY_ALIASES = Code.TOO_MANY_ALIASES
TOO_MANY_TOKENS = Code.TOO_MANY_TOKENS
TIMEOUT = Code.TIMEOUT

# The codes a GraphQL response's errors can carry (README, "Error codes").
CODES: tuple[Code, ...] = tuple(code for code in Code if code in GRAPHQL_CODES)

log = structlog.get_logger("movies.errors")


class CodedError(GraphQLError):
    """A GraphQL error raised by the API itself with a code from ``data.errors.Code``."""

    def __init__(self, message: str, code: Code, nodes: object = None,
                 **extensions: object) -> None:
        super().__init__(message, nodes=nodes,  # type: ignore[arg-type]
                         extensions={"code": code, **extensions})


def _coded(error: GraphQLError) -> Code | None:
    code = (error.extensions or {}).get("code") if isinstance(error.extensions, dict) else None
    return Code(code) if code in GRAPHQL_CODES else None


def _set_code(error: GraphQLError, code: Code) -> None:
    error.extensions = {**(error.extensions or {}), "code": code}


def _at_variable(error: GraphQLError) -> bool:
    """Variable coercion reports its errors at the variable's definition, before any field
    runs (so without a path)."""
    return error.path is None and any(
        isinstance(node, VariableDefinitionNode) for node in error.nodes or ()
    )


def _code_for(error: GraphQLError) -> tuple[GraphQLError, Code]:
    original = error.original_error
    if isinstance(original, DataError):
        error.extensions = {"code": original.code, **original.extensions}
        return error, original.code
    code = _coded(error)
    if code is not None:
        return error, code
    if isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError):
        code = Code.GRAPHQL_PARSE_FAILED
    elif _at_variable(error):
        code = Code.BAD_USER_INPUT
    elif isinstance(original, GraphQLError) and original.nodes:
        # graphql-core coercing an argument as it runs a field (a null variable for a
        # non-null argument): located at what the client wrote.
        code = Code.BAD_USER_INPUT
    elif error.path is None and (original is None or isinstance(original, GraphQLError)):
        # graphql-core's own objections to the request outside any field (an operation it
        # cannot pick, incremental delivery asked of a synchronous server).
        code = Code.GRAPHQL_VALIDATION_FAILED
    else:
        log.error("internal error", path=error.path, exc_info=original or error)
        masked = GraphQLError(
            "Internal server error", nodes=error.nodes, path=error.path,
            extensions={"code": Code.INTERNAL_SERVER_ERROR},
        )
        return masked, Code.INTERNAL_SERVER_ERROR
    _set_code(error, code)
    return error, code


def code_validation_errors(errors: Iterable[GraphQLError] | None) -> None:
    """Everything the validation step reports is the document's fault: a validation failure
    unless a rule of ours already coded it (depth, aliases, spreads)."""
    for error in errors or ():
        if _coded(error) is None:
            _set_code(error, Code.GRAPHQL_VALIDATION_FAILED)


class ErrorCodes(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        code_validation_errors(self.execution_context.pre_execution_errors)

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:
            # Raised by another extension's hook (the parser runs in ``on_parse``, so syntax
            # and token-limit errors arrive here) instead of being returned in a result;
            # Strawberry reports the raised error as is, so code it on the way out.
            coded, _code = _code_for(error)
            raise coded from None
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        coded = [_code_for(error) for error in result.errors]
        result.errors = [error for error, _code in coded]
