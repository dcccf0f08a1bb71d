"""GraphQL execution with a short path for plain leaf fields.

Most fields of a large answer (a page's titles, a cast's characters and names) are plain
attributes holding a scalar. graphql-core treats each like any other field: it builds a
resolve-info object, looks at arguments, calls Strawberry's resolver wrapper and completes
the value through the non-null and leaf steps, several microseconds a field. For a field
that has no resolver, no arguments and a scalar or enum type, this executor reads the
attribute and coerces it itself; anything it is not sure of (a null, an error, a value the
scalar refuses) goes the library's whole way, so answers and errors are the library's.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class PlainLeaf(NamedTuple):
    attribute: str
    type: GraphQLLeafType
    nullable: bool


def plain_leaves(parent_type: GraphQLObjectType) -> dict[str, PlainLeaf]:
    """The fields of ``parent_type`` that are plain attributes of a leaf type."""
    found: dict[str, PlainLeaf] = {}
    for name, field in parent_type.fields.items():
        if field.args:
            continue
        definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        resolve = field.resolve
        if (not isinstance(definition, StrawberryField) or not definition.is_basic_field
                or definition.default_resolver is not getattr
                or not getattr(resolve, "_is_default", False)):
            continue
        nullable = not isinstance(field.type, GraphQLNonNull)
        leaf = field.type if nullable else field.type.of_type
        if is_leaf_type(leaf):
            found[name] = PlainLeaf(definition.python_name, leaf, nullable)
    return found


# Per object type of a schema, computed the first time the type is executed; weak, so a
# schema that is dropped takes its entries with it.
_LEAVES: weakref.WeakKeyDictionary[GraphQLObjectType, dict[str, PlainLeaf]] = (
    weakref.WeakKeyDictionary())


class PlainLeafExecution(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Field middleware (a schema extension with a ``resolve`` hook) must see every field.
        manager = self.middleware_manager
        self.short_path = manager is None or not manager.middlewares

    def execute_field(self, parent_type: GraphQLObjectType, source: Any,
                      field_details_list: Any, path: Any, position_context: Any) -> Any:
        leaves = _LEAVES.get(parent_type)
        if leaves is None:
            leaves = _LEAVES[parent_type] = plain_leaves(parent_type)
        node = field_details_list[0].node
        leaf = leaves.get(node.name.value)
        if leaf is not None and self.short_path and not node.arguments:
            try:
                value = getattr(source, leaf.attribute)
                if value is None:
                    if leaf.nullable:
                        return None
                else:
                    coerced = leaf.type.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # the library's own path below reports it
                pass
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)
