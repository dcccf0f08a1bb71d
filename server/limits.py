"""Query limits checked before execution: depth, aliases, tokens and a node cost.

The cost is computed like GitHub's node limit: every field that returns a list multiplies the
size of what is below it by the number of items it can return (``first`` or ``n`` when given,
its default otherwise), and the cost is the total number of nodes the query could return. It is
computed during validation, with the request's variables, and reported in the response.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from graphql.language import IntValueNode
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.extensions.disable_introspection import DisableIntrospection

from schema.errors import QUERY_TOO_COMPLEX, CodedError
from schema.pagination import DEFAULT_PAGE

# Size assumed for a list whose size no argument states (genres, keywords, namesakes, ...).
DEFAULT_LIST = 10
SIZE_ARGUMENTS = ("first", "n")
ARGUMENT_DEFAULTS = {"first": DEFAULT_PAGE, "n": 5}

variables: ContextVar[dict[str, Any] | None] = ContextVar("variables", default=None)
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
    def __init__(self, context: ValidationContext, values: dict[str, Any]) -> None:
        self.schema = context.schema
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
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


def query_cost(context: ValidationContext, operation: OperationDefinitionNode,
               values: dict[str, Any]) -> int:
    root = context.schema.query_type
    return 1 + _Coster(context, values).selection(root, operation.selection_set, frozenset(), 1)


def cost_rule(max_cost: int) -> type[ValidationRule]:
    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            cost = query_cost(self.context, node, variables.get() or {})
            previous = last_cost.get() or 0
            last_cost.set(max(previous, cost))
            if cost > max_cost:
                self.report_error(
                    CodedError(
                        f"query cost {cost} exceeds the maximum of {max_cost}: ask for fewer "
                        "items per list (first/n) or fewer nested lists",
                        QUERY_TOO_COMPLEX,
                        cost=cost,
                        maxCost=max_cost,
                    )
                )

    return CostLimit


def extensions(
    *, max_depth: int, max_aliases: int, max_tokens: int, max_cost: int, introspection: bool
) -> list[SchemaExtension]:
    found: list[SchemaExtension] = [
        MaxTokensLimiter(max_token_count=max_tokens),
        QueryDepthLimiter(max_depth=max_depth),
        MaxAliasesLimiter(max_alias_count=max_aliases),
        AddValidationRules([cost_rule(max_cost)]),
    ]
    if not introspection:
        found.append(DisableIntrospection())
    return found


__all__ = ["GraphQLError", "extensions", "last_cost", "query_cost", "variables"]
