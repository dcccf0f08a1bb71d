"""Query limits checked before execution: tokens, fragment spreads, depth, aliases and a cost.

Every check is linear in the document: each fragment is summarised once and the summary is
reused wherever it is spread, so fragments that spread the previous one twice cost a visit per
fragment, not one per path (2**n). Each limit raises its own coded error.

The cost is computed like GitHub's node limit: every field that returns a list multiplies the
size of what is below it by the number of items it can return (``first`` or ``n`` as it will
execute: a literal, a variable, the variable's default, else the argument's default), and the
cost is the total number of nodes the query could return. Fields whose work does not grow with
their result (searches, the recommender) add a per-call weight measured by ``bench/cost.py``.
It is computed just before execution, with the request's variables, reported in the response,
and charged to one budget per HTTP request (a batch shares it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
    parse,
    value_from_ast_untyped,
)
from graphql.language import Lexer, TokenKind
from strawberry.extensions import SchemaExtension
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionResult

from data.errors import Code
from schema.errors import CodedError
from schema.pagination import DEFAULT_PAGE

# Size assumed for a list whose size no argument states (genres, keywords, namesakes, ...).
DEFAULT_LIST = 10
SIZE_ARGUMENTS = ("first", "n")
ARGUMENT_DEFAULTS = {"first": DEFAULT_PAGE, "n": 5}
# Fragment spreads an operation may expand to, counting each place a fragment is spread
# (a client's real queries use tens; doubling fragments reach 2**levels).
MAX_SPREADS = 500
# Selections in one selection set, its fragments' included: the standard overlap rule
# compares them pairwise.
MAX_WIDTH = 100
# Costs are reported saturated here: sizes from variables are unbounded JSON integers, and
# (2**62)**2 would not fit the 64-bit integers the response encoder (orjson) can write.
COST_CEILING = 2**53 - 1  # also the largest integer a JavaScript client reads exactly
PARSE_CACHE = 2048

# Per-call weight of the fields whose work is a scan or a model query rather than a slice of
# an index, in cost units (one unit ~ one node of a plain nested list). Measured on the sample
# build with ``uv run python -m bench.cost`` (seconds per call / seconds per node of a plain
# list; the mean of two runs' suggestions, rounded); re-measure there when the data layer
# changes.
FIELD_WEIGHTS: dict[tuple[str, str], int] = {
    ("Query", "searchMovies"): 1500,
    ("Query", "searchPeople"): 6000,
    ("Query", "recommendations"): 160,
    ("Query", "moviesLike"): 130,
    ("Movie", "similar"): 180,
}

last_cost: ContextVar[int | None] = ContextVar("last_cost", default=None)


def _saturate(value: int) -> int:
    return value if value < COST_CEILING else COST_CEILING


# --- tokens and parsing --------------------------------------------------------------------


def _over_limit_at(query: str, max_tokens: int) -> int | None:
    """Where the token after the first ``max_tokens`` starts (comments counted, like the
    parser's limit), or None when there are not that many. Reads at most that many."""
    lexer = Lexer(Source(query))
    count = 0
    previous = lexer.token
    try:
        while True:
            token = lexer.advance()
            skipped = previous.next
            while skipped is not None and skipped is not token:  # the comments in between
                count += 1
                if count > max_tokens:
                    return skipped.start
                skipped = skipped.next
            if token.kind is TokenKind.EOF:
                return None
            count += 1
            if count > max_tokens:
                return token.start
            previous = token
    except GraphQLSyntaxError:
        return None  # a lexical error before the limit


# Strings (block, complete, or unterminated up to the line's end) and comments, in the order
# the lexer would meet them; only comments are rewritten.
_STRING_OR_COMMENT = re.compile(
    r'"""(?:\\"""|[^"]|"(?!""))*(?:"""|\Z)|"(?:[^"\\\n\r]|\\.)*"?|#[^\n\r]*')


def hollow_comments(query: str) -> str:
    """``query`` with every comment's text removed, its ``#`` kept: the same tokens (a
    comment still counts as one) on the same lines, so the same document. The parser reads
    comments a character at a time in Python (200 KB of one comment took 215 ms); this is
    one regular-expression pass."""
    if "#" not in query:
        return query
    return _STRING_OR_COMMENT.sub(lambda m: "#" if m[0][0] == "#" else m[0], query)


def original_position(query: str, position: int) -> int:
    """Where ``position`` in ``hollow_comments(query)`` is in ``query`` (for errors)."""
    removed = 0
    for match in _STRING_OR_COMMENT.finditer(query):
        if match[0][0] != "#":
            continue
        if position <= match.start() - removed:  # at or before this comment's "#"
            break
        removed += len(match[0]) - 1
    return position + removed


@lru_cache(maxsize=PARSE_CACHE)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    hollowed = hollow_comments(query)
    try:
        return parse(hollowed, max_tokens=max_tokens)
    except GraphQLSyntaxError as error:
        # The parser reports its token limit as a syntax error: it is that limit when the
        # parser stopped exactly at the first token beyond it (checked on this path only).
        positions = list(error.positions or ())
        if positions and positions[0] == _over_limit_at(hollowed, max_tokens):
            raise CodedError(
                f"the document has more than {max_tokens} tokens: send a smaller query",
                Code.TOO_MANY_TOKENS, maxTokens=max_tokens,
            ) from None
        if hollowed is query or not positions:
            raise
        # The same error, placed in the document as sent (a comment may end the document).
        raise GraphQLSyntaxError(Source(query), original_position(query, positions[0]),
                                 error.message.removeprefix("Syntax Error: ")) from None


class TokenLimitedParser(SchemaExtension):
    """Parses with a token limit and an LRU cache of parsed documents (shared by workers'
    threads, keyed by the query text); too many tokens is ``TOO_MANY_TOKENS``."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            context.graphql_document = _parse(context.query, self.max_tokens)
        yield


# --- shape: fragment spreads, depth, aliases, width ----------------------------------------


@dataclass(frozen=True)
class Shape:
    """What the limits count in a selection set, with its fragments expanded."""

    depth: int = 0  # nested selection sets below, introspection excluded
    aliases: int = 0  # aliased fields, each place a fragment is spread counted
    spreads: int = 0  # fragment spreads, likewise
    top: int = 0  # selections it adds to the set it is in (its fragments' included)
    widest: int = 0  # the most selections of any one set nested inside

    def __add__(self, other: Shape) -> Shape:
        return Shape(max(self.depth, other.depth), self.aliases + other.aliases,
                     self.spreads + other.spreads, self.top + other.top,
                     max(self.widest, other.widest))


_EMPTY = Shape()


class ShapeWalker:
    """Summarises selection sets; each fragment is walked once and its ``Shape`` reused."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[str, Shape] = {}
        self.visits = 0  # selection sets walked: the work done, linear in the document

    def selection_set(self, selection_set: SelectionSetNode) -> Shape:
        self.visits += 1
        shape = _EMPTY
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                shape += Shape(aliases=int(node.alias is not None), top=1)
                if node.selection_set is not None:
                    inner = self.selection_set(node.selection_set)
                    # Introspection is not counted in depth (its type tree nests by design).
                    depth = 0 if node.name.value.startswith("__") else inner.depth + 1
                    shape += Shape(depth, inner.aliases, inner.spreads, 0,
                                   max(inner.widest, inner.top))
            elif isinstance(node, InlineFragmentNode):
                shape += self.selection_set(node.selection_set) + Shape(top=1)
            elif isinstance(node, FragmentSpreadNode):
                shape += self.fragment(node.name.value) + Shape(spreads=1, top=1)
        return shape

    def fragment(self, name: str) -> Shape:
        shape = self.memo.get(name)
        if shape is not None:
            return shape
        definition = self.fragments.get(name)
        if definition is None:
            return _EMPTY  # unknown fragments are the standard rules' business
        self.memo[name] = _EMPTY  # a cycle (rejected by the standard rules) adds nothing
        shape = self.memo[name] = self.selection_set(definition.selection_set)
        return shape


def operation_shapes(document: DocumentNode) -> tuple[ShapeWalker,
                                                      list[tuple[OperationDefinitionNode,
                                                                 Shape]]]:
    walker = ShapeWalker(document)
    shapes = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            shape = walker.selection_set(definition.selection_set)
            shapes.append((definition, replace(shape, widest=max(shape.widest, shape.top))))
    return walker, shapes


@dataclass(frozen=True)
class ShapeLimits:
    max_depth: int
    max_aliases: int
    max_spreads: int = MAX_SPREADS
    max_width: int = MAX_WIDTH


def shape_errors(document: DocumentNode, limits: ShapeLimits) -> list[CodedError]:
    """The coded errors of every operation over a limit (in linear time)."""
    try:
        _walker, shapes = operation_shapes(document)
    except RecursionError:
        return [CodedError("the document nests selections or fragments too deeply to check",
                           Code.QUERY_TOO_DEEP, maxDepth=limits.max_depth)]
    errors: list[CodedError] = []
    for operation, shape in shapes:
        name = operation.name.value if operation.name else "anonymous"
        if shape.spreads > limits.max_spreads:
            errors.append(CodedError(
                f"'{name}' expands more than {limits.max_spreads} fragment spreads: spread "
                "each fragment where it is needed, not again inside itself",
                Code.TOO_MANY_FRAGMENT_SPREADS, operation, maxSpreads=limits.max_spreads))
        if shape.depth > limits.max_depth:
            errors.append(CodedError(
                f"'{name}' nests {shape.depth} levels, more than the maximum of "
                f"{limits.max_depth}", Code.QUERY_TOO_DEEP, operation,
                maxDepth=limits.max_depth))
        if shape.aliases > limits.max_aliases:
            errors.append(CodedError(
                f"'{name}' has {_count(shape.aliases)} aliases, more than the maximum of "
                f"{limits.max_aliases}", Code.TOO_MANY_ALIASES, operation,
                maxAliases=limits.max_aliases))
        if shape.widest > limits.max_width:
            errors.append(CodedError(
                f"'{name}' selects {_count(shape.widest)} fields in one selection set "
                f"(its fragments' included), more than the maximum of {limits.max_width}",
                Code.QUERY_TOO_COMPLEX, operation, maxSelections=limits.max_width))
    return errors


def _count(value: int) -> str:
    return str(value) if value < 10**9 else "more than a billion"


class CheckedValidation(SchemaExtension):
    """The shape limits first, then the standard rules; the outcome cached per query text.

    The limits run before, not beside, the standard rules: some of those are quadratic in
    the fields they compare (OverlappingFieldsCanBeMerged took 5 s for 400 repeats of one
    field), so a document only reaches them once it is known to be small enough. Both depend
    on the document alone, which depends on the query text alone (the parser is cached the
    same way): keying by the text costs one string hash, where a cache keyed by the parsed
    document hashed its whole tree on every request. The cache is bounded: it starts afresh
    when full, and every copy of this extension shares it.
    """

    def __init__(self, limits: ShapeLimits, maxsize: int = 2048) -> None:
        super().__init__()
        self.limits = limits
        self.maxsize = maxsize
        self.outcomes: dict[tuple[str, tuple[type, ...]], list[GraphQLError]] = {}

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        rules = tuple(context.validation_rules)
        key = (context.query, rules) if context.query is not None else None
        errors = self.outcomes.get(key) if key is not None else None
        if errors is None:
            errors = list(shape_errors(document, self.limits)) or validate_document(
                context.schema._schema, document, rules)
            if key is not None:
                if len(self.outcomes) >= self.maxsize:
                    self.outcomes.clear()
                self.outcomes[key] = errors
        context.pre_execution_errors = list(errors)
        yield


# --- cost ----------------------------------------------------------------------------------


INT_MAX = 2**31 - 1  # GraphQL's Int is 32-bit


def _as_size(value: object) -> int | None:
    """A size argument as execution will see it: GraphQL's Int accepts integral floats from
    JSON (``100.0``) within 32 bits; any other float fails variable coercion, so it is not
    a size. Integers are taken as they are, however large (priced, then refused)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() \
            and abs(value) <= INT_MAX:
        return max(0, int(value))
    return None


class CostWalker:
    """Prices an operation; each fragment is priced once (per item of its parent) and reused.

    A fragment spread twice in one selection set executes once, so it is priced once there.
    """

    def __init__(self, schema: GraphQLSchema, document: DocumentNode,
                 operation: OperationDefinitionNode, variables: dict[str, Any]) -> None:
        self.schema = schema
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and definition.default_value is not None:
                self.variables[name] = value_from_ast_untyped(definition.default_value)
        self.memo: dict[tuple[str, str], tuple[int, int]] = {}
        self.visits = 0

    # A selection set is priced as (per parent, per item) where "per item" is only non-zero
    # directly below a connection (its edges/nodes) or an edge (its node): their cost is
    # multiplied by the connection's size; everything else once per parent.
    def selection_set(self, parent: Any, selection_set: SelectionSetNode | None,
                      where: str = "plain") -> tuple[int, int]:
        if selection_set is None or parent is None:
            return 0, 0
        self.visits += 1
        fields = getattr(parent, "fields", None) or {}
        fixed = per_item = 0
        spread: set[str] = set()
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                definition = fields.get(node.name.value)
                if definition is None:
                    continue  # unknown and introspection fields
                named = get_named_type(definition.type)
                if where == "connection" and node.name.value == "nodes":
                    per_item += self.selection_set(named, node.selection_set)[0]
                elif where == "connection" and node.name.value == "edges":
                    per_item += sum(self.selection_set(named, node.selection_set, "edge"))
                elif where == "edge" and node.name.value == "node":
                    per_item += self.selection_set(named, node.selection_set)[0]
                else:
                    fixed += self.field(parent, node, definition)
            elif isinstance(node, InlineFragmentNode):
                target = parent
                if node.type_condition is not None:
                    target = self.schema.get_type(node.type_condition.name.value) or parent
                a, b = self.selection_set(target, node.selection_set, where)
                fixed, per_item = fixed + a, per_item + b
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in spread:
                spread.add(node.name.value)
                a, b = self.fragment(node.name.value, where)
                fixed, per_item = fixed + a, per_item + b
        return _saturate(fixed), _saturate(per_item)

    def fragment(self, name: str, where: str) -> tuple[int, int]:
        key = (name, where)
        cost = self.memo.get(key)
        if cost is not None:
            return cost
        definition = self.fragments.get(name)
        if definition is None:
            return 0, 0
        self.memo[key] = (0, 0)  # cycles are rejected by the standard rules
        target = self.schema.get_type(definition.type_condition.name.value)
        cost = self.memo[key] = self.selection_set(target, definition.selection_set, where)
        return cost

    def field(self, parent: Any, node: FieldNode, definition: Any) -> int:
        field_type = definition.type
        if is_non_null_type(field_type):
            field_type = field_type.of_type
        named = get_named_type(field_type)
        weight = FIELD_WEIGHTS.get((parent.name, node.name.value), 0)
        if named.name.endswith("Connection"):
            size = self._size(node, definition)
            fixed, per_item = self.selection_set(named, node.selection_set, "connection")
            return _saturate(weight + fixed + size * (1 + per_item))
        if is_list_type(field_type):
            size = self._size(node, definition)
            return _saturate(weight + size * (1 + self.selection_set(named,
                                                                     node.selection_set)[0]))
        if node.selection_set is not None:
            return _saturate(weight + 1 + self.selection_set(named, node.selection_set)[0])
        return weight

    def _size(self, node: FieldNode, definition: Any) -> int:
        for argument in node.arguments or ():
            if argument.name.value not in SIZE_ARGUMENTS:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                size = _as_size(self.variables.get(value.name.value))
            else:
                size = _as_size(value_from_ast_untyped(value))
            if size is not None:
                return size
        for name, argument in (definition.args or {}).items():
            if name in SIZE_ARGUMENTS:
                default = argument.default_value
                return default if isinstance(default, int) else ARGUMENT_DEFAULTS[name]
        return DEFAULT_LIST


def _operation(document: DocumentNode,
               operation_name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return operations[0] if operations else None


def query_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
               values: dict[str, Any]) -> int:
    operation = _operation(document, operation_name)
    if operation is None:
        return 0
    walker = CostWalker(schema, document, operation, values)
    root = schema.get_root_type(operation.operation)
    return _saturate(1 + walker.selection_set(root, operation.selection_set)[0])


# --- one budget per request ----------------------------------------------------------------


@dataclass
class Budget:
    """Cost units left for the rest of one HTTP request (shared by a batch's operations)."""

    limit: int
    spent: int = 0


_budget: ContextVar[Budget | None] = ContextVar("cost_budget", default=None)


@contextmanager
def request_budget(max_cost: int) -> Iterator[Budget]:
    """Charge every operation run inside to one budget of ``max_cost``. The object is
    shared, so operations run in a copied context (a worker thread) charge it too."""
    budget = Budget(max_cost)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


class CostLimit(SchemaExtension):
    """Rejects an operation whose cost exceeds ``max_cost``, or what is left of the request's
    budget, before it executes.

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
            budget = _budget.get()
            error = None
            if cost > self.max_cost:
                error = CodedError(
                    f"query cost {cost} exceeds the maximum of {self.max_cost}: ask for fewer "
                    "items per list (first/n), fewer nested lists or fewer searches",
                    Code.QUERY_TOO_COMPLEX, cost=cost, maxCost=self.max_cost,
                )
            elif budget is not None and budget.spent + cost > budget.limit:
                left = budget.limit - budget.spent
                error = CodedError(
                    f"query cost {cost} exceeds the {left} left of the request's budget of "
                    f"{budget.limit}: the operations of a batch share one budget",
                    Code.BATCH_TOO_COMPLEX, cost=cost, maxCost=budget.limit, left=left,
                )
            elif budget is not None:
                budget.spent += cost
            if error is not None:
                context.result = ExecutionResult(data=None, errors=[error])
        yield


def extensions(
    *, max_depth: int, max_aliases: int, max_tokens: int, max_cost: int, introspection: bool,
    max_spreads: int = MAX_SPREADS, max_width: int = MAX_WIDTH,
) -> list[Callable[[], SchemaExtension]]:
    """Factories for the schema's extensions.

    The introspection rule's extension and the validation are built once and the factory
    hands out that one object: the rule class is made in ``__init__`` and validation
    outcomes are cached by rule class, so a fresh one per operation would miss the cache
    every time; the validation's cache lives on its object. Sharing is safe: neither holds
    per-operation state beyond what each thread's copy keeps.
    """
    shape = ShapeLimits(max_depth, max_aliases, max_spreads, max_width)
    factories: list[Callable[[], SchemaExtension]] = [partial(TokenLimitedParser, max_tokens)]
    if not introspection:
        factories.append(partial(_same, DisableIntrospection()))
    return [
        *factories,
        partial(CostLimit, max_cost),
        # One object, so its cache of outcomes is shared (``server.app.per_thread`` gives
        # each execution thread a shallow copy, which shares it too).
        partial(_same, CheckedValidation(shape, 2048)),
    ]


def _same(extension: SchemaExtension) -> SchemaExtension:
    return extension
