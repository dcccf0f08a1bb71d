"""Which fields a query asks of the items of a list, so a page is gathered in one go.

Walks only the levels it is asked for (``edges { node { ... } }`` or ``nodes { ... }``),
visiting each fragment at most once per level, so its work is bounded by the query's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.types import Info

CONNECTION_PATHS = (("edges", "node"), ("nodes",))


def _fields(info: GraphQLResolveInfo, sets: Iterable[SelectionSetNode]) -> list[FieldNode]:
    """The fields of selection sets, fragments flattened (each fragment once)."""
    found: list[FieldNode] = []
    seen: set[str] = set()
    pending = list(sets)
    while pending:
        selection_set = pending.pop()
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                found.append(node)
            elif isinstance(node, InlineFragmentNode):
                pending.append(node.selection_set)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                seen.add(node.name.value)
                fragment = info.fragments.get(node.name.value)
                if fragment is not None:
                    pending.append(fragment.selection_set)
    return found


def requested(info: Info, paths: Sequence[Sequence[str]] = ((),)) -> set[str]:
    """Names of the fields selected at the end of any of ``paths`` below the current field."""
    # Strawberry's ``selected_fields`` would convert the whole subtree on every call.
    raw: GraphQLResolveInfo = info._raw_info
    names: set[str] = set()
    roots = [n.selection_set for n in raw.field_nodes if n.selection_set is not None]
    for path in paths:
        sets = roots
        for step in path:
            sets = [f.selection_set for f in _fields(raw, sets)
                    if f.name.value == step and f.selection_set is not None]
        names.update(f.name.value for f in _fields(raw, sets))
    return names
