"""Query limits checked before execution: depth, aliases, tokens and a node cost.

The cost is computed like GitHub's node limit: every field that returns a list multiplies the
size of what is below it by the number of items it can return (``first`` or ``n`` when given,
its default otherwise), and the cost is the total number of nodes the query could return. It is
computed just before execution, with the request's variables, and reported in the response.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar
from functools import partial
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from graphql.language import IntValueNode
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.types import ExecutionResult

from schema.errors import QUERY_TOO_COMPLEX, CodedError
from schema.pagination import DEFAULT_PAGE

# Size assumed for a list whose size no argument states (genres, keywords, namesakes, ...).
DEFAULT_LIST = 10
SIZE_ARGUMENTS = ("first", "n")
ARGUMENT_DEFAULTS = {"first": DEFAULT_PAGE, "n": 5}
# Costs are reported saturated here: sizes from variables are unbounded JSON integers, and
# (2**62)**2 would not fit the 64-bit integers the response encoder (orjson) can write.
COST_CEILING = 2**53 - 1  # also the largest integer a JavaScript client reads exactly

last_cost: ContextVar[int | None] = ContextVar("last_cost", default=None)


def _size(field: FieldNode, values: dict[str, Any]) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value not in SIZE_ARGUMENTS:
            continue
        node = argument.value
        if isinstance(node, IntValueNode):
            return max(0, int(node.value))
        if isinstance(node, VariableNode):
            value = values.get(node.name.value)
            if isinstance(value, int):
                return max(0, value)
    return None


class _Coster:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode,
                 values: dict[str, Any]) -> None:
        self.schema = schema
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.values = values

    def selection(self, parent: Any, selection_set: SelectionSetNode | None, seen: frozenset[str],
                  multiplier: int) -> int:
        if selection_set is None or parent is None:
            return 0
        total = 0
        fields = getattr(parent, "fields", None) or {}
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                definition = fields.get(node.name.value)
                if definition is None:
                    continue  # unknown fields are the validator's business
                total += self.field(node, definition, seen, multiplier)
            elif isinstance(node, InlineFragmentNode):
                target = parent
                if node.type_condition is not None:
                    target = self.schema.get_type(node.type_condition.name.value) or parent
                total += self.selection(target, node.selection_set, seen, multiplier)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # cycles are rejected by the standard rules
                target = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection(target, fragment.selection_set, seen | {name}, multiplier)
        return total

    def field(self, node: FieldNode, definition: Any, seen: frozenset[str], multiplier: int) -> int:
        field_type = definition.type
        if is_non_null_type(field_type):
            field_type = field_type.of_type
        named = get_named_type(field_type)
        is_connection = named.name.endswith("Connection")
        if is_connection or is_list_type(field_type):
            stated = _size(node, self.values)
            size = stated if stated is not None else self._default_size(definition)
            items = multiplier * size
            if is_connection:
                return items + self._connection(named, node.selection_set, seen, items)
            return items + self.selection(named, node.selection_set, seen, items)
        if node.selection_set is not None:
            return multiplier + self.selection(named, node.selection_set, seen, multiplier)
        return 0

    def _connection(self, connection: Any, selection_set: SelectionSetNode | None,
                    seen: frozenset[str], multiplier: int) -> int:
        """Below a connection, edges/nodes are already counted by the connection's size."""
        if selection_set is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode) and node.name.value in ("edges", "nodes"):
                definition = connection.fields[node.name.value]
                item = get_named_type(definition.type)
                if node.name.value == "edges":
                    for edge_field in (node.selection_set.selections if node.selection_set else ()):
                        if isinstance(edge_field, FieldNode) and edge_field.name.value == "node":
                            node_type = get_named_type(item.fields["node"].type)
                            total += self.selection(
                                node_type, edge_field.selection_set, seen, multiplier
                            )
                else:
                    total += self.selection(item, node.selection_set, seen, multiplier)
            elif not isinstance(node, FieldNode):
                total += self.selection(connection, SelectionSetNode(selections=(node,)), seen,
                                        multiplier)
        return total

    @staticmethod
    def _default_size(definition: Any) -> int:
        for name, argument in (definition.args or {}).items():
            if name in SIZE_ARGUMENTS:
                default = argument.default_value
                return default if isinstance(default, int) else ARGUMENT_DEFAULTS[name]
        return DEFAULT_LIST


def query_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
               values: dict[str, Any]) -> int:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if not operations:
        return 0
    coster = _Coster(schema, document, values)
    cost = 1 + coster.selection(schema.query_type, operations[0].selection_set, frozenset(), 1)
    return min(cost, COST_CEILING)


class CostLimit(SchemaExtension):
    """Rejects an operation whose node cost exceeds ``max_cost`` before it executes.

    It runs at execution time rather than as a validation rule because the cost depends on
    the variables, while parsing and validation results are cached per query text.
    """

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            cost = query_cost(context.schema._schema, context.graphql_document,
                              context.operation_name, context.variables or {})
            last_cost.set(cost)
            if cost > self.max_cost:
                context.result = ExecutionResult(data=None, errors=[CodedError(
                    f"query cost {cost} exceeds the maximum of {self.max_cost}: ask for fewer "
                    "items per list (first/n) or fewer nested lists",
                    QUERY_TOO_COMPLEX, cost=cost, maxCost=self.max_cost,
                )])
        yield


def extensions(
    *, max_depth: int, max_aliases: int, max_tokens: int, max_cost: int, introspection: bool
) -> list[Callable[[], SchemaExtension]]:
    """Factories for the schema's extensions.

    The validation-rule extensions are built once and the factory hands out that one object:
    their rule classes are made in ``__init__``, and the validation cache is keyed by rule
    class, so a fresh instance per operation would miss the cache every time. Sharing is safe
    because operations execute synchronously, one at a time per process.
    """
    rules: list[SchemaExtension] = [
        QueryDepthLimiter(max_depth=max_depth),
        MaxAliasesLimiter(max_alias_count=max_aliases),
    ]
    if not introspection:
        rules.append(DisableIntrospection())
    return [
        partial(MaxTokensLimiter, max_token_count=max_tokens),
        *[partial(_same, rule) for rule in rules],
        partial(CostLimit, max_cost),
        partial(ParserCache, maxsize=2048),
        partial(ValidationCache, maxsize=2048),
    ]


def _same(extension: SchemaExtension) -> SchemaExtension:
    return extension
