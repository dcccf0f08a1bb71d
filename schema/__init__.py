"""The GraphQL schema: Strawberry types and resolvers that read only through ``data/``."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.errors import ErrorCodes
from schema.execution import PlainLeafExecution
from schema.query import Query

# GraphQL names cannot contain "?", so this stops at the end of the suggestion list.
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class MovieSchema(strawberry.Schema):
    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        """With suggestions disabled, drop every "Did you mean ...?", not only the one for
        fields that Strawberry strips: enum values, arguments, types and input fields would
        otherwise spell out the schema that disabled introspection hides."""
        error.message = _SUGGESTION.sub("", error.message)

    def process_errors(self, errors: list, execution_context: object = None) -> None:
        """Expected errors are the client's; internal ones are logged by ErrorCodes."""


def build_schema(
    extensions: Sequence[Callable[[], SchemaExtension]] = (),
    config: StrawberryConfig | None = None,
) -> strawberry.Schema:
    return MovieSchema(
        query=Query,
        extensions=[*extensions, ErrorCodes],
        config=config or StrawberryConfig(),
        execution_context_class=PlainLeafExecution,
    )


def sdl() -> str:
    """The schema in SDL, as committed in schema.graphql."""
    return build_schema().as_str() + "\n"
