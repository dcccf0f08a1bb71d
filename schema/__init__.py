"""The GraphQL schema: Strawberry types and resolvers that read only through ``data/``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.errors import ErrorCodes
from schema.query import Query


class MovieSchema(strawberry.Schema):
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
    )


def sdl() -> str:
    """The schema in SDL, as committed in schema.graphql."""
    return build_schema().as_str() + "\n"
