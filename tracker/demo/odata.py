"""The OData v3 query options the Legistar Web API accepts, as real clients send them.

Supported: ``$filter`` (a real parser with type checking), ``$orderby``, ``$top``, ``$skip`` and ``$select``.
Any other ``$`` option is rejected, as ASP.NET Web API does. Errors raise :class:`ODataError`, which the
server turns into HTTP 400 with a JSON ``{"Message": ...}`` body, the way Legistar answers a bad query
(python-legistar-scraper ``base.py`` ``search()`` reads that ``Message``).

``$filter`` grammar (OData v3 precedence: ``or`` < ``and`` < comparison < ``not``/primary)::

    MatterLastModifiedUtc gt datetime'2019-01-01T00:00:00' or MatterIntroDate gt datetime'2019-01-01'
    MatterBodyId eq 138 and substringof('Minutes', MatterTitle) and not (MatterStatusId eq 72)

Literals: integers, decimals, ``'strings'`` (``''`` escapes a quote), ``true``/``false``, ``null``,
``datetime'YYYY-MM-DD[THH:MM[:SS[.fff]]]'`` (no zone: Legistar dates are offset-less) and ``guid'...'``.
Functions: ``substringof``, ``startswith``, ``endswith``, ``tolower``, ``toupper``, ``trim``, ``length``,
``year``, ``month``, ``day``. Keywords and property names are case-sensitive, as in ODataLib.

Semantics follow SQL Server behind Legistar: string comparisons are case-insensitive (default collation),
a comparison with a null operand is false except ``eq null``/``ne null``. Like Web API's default
``MaxNodeCount`` of 100, a filter with too many nodes (a very long ``or`` chain) is rejected.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from tracker.demo.wire import BOOLEAN, COLLECTION, DATETIME, DECIMAL, GUID, INT, STRING, Entity

Row = Mapping[str, Any]
# filter_and_sort and page hand back the caller's own row objects.
R = TypeVar("R", bound=Row)
Predicate = Callable[[Row], bool]

DEFAULT_MAX_NODES = 100
SUPPORTED_OPTIONS = frozenset({"$filter", "$orderby", "$top", "$skip", "$select"})

_NUMERIC = frozenset({INT, DECIMAL, "Double", "Int64"})
_COMPARISONS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "eq": (operator.eq, "Equal"),
    "ne": (operator.ne, "NotEqual"),
    "gt": (operator.gt, "GreaterThan"),
    "ge": (operator.ge, "GreaterThanOrEqual"),
    "lt": (operator.lt, "LessThan"),
    "le": (operator.le, "LessThanOrEqual"),
}
_UNSUPPORTED_OPERATORS = frozenset({"add", "sub", "mul", "div", "mod", "has", "any", "all", "isof", "cast"})


class ODataError(ValueError):
    """A query option Legistar would refuse; ``str(error)`` is the ``Message`` of the 400 answer."""


# --------------------------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "ident", "string", "number", "typed", "(", ")", ",", "end"
    text: str
    pos: int
    prefix: str = ""  # for typed literals: "datetime", "guid", ...


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<typed>(?P<prefix>datetimeoffset|datetime|guid|time|binary|X)'(?P<typedbody>[^']*)')
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos] == "'":
                raise ODataError(f"There is an unterminated string literal at position {pos} in '{text}'.")
            raise ODataError(
                f"Syntax error: character '{text[pos]}' is not valid at position {pos} in '{text}'."
            )
        kind = m.lastgroup or ""
        if kind == "typedbody":  # pragma: no cover - lastgroup is the outer group
            kind = "typed"
        if m.group("typed") is not None:
            tokens.append(_Token("typed", m.group("typedbody"), pos, m.group("prefix")))
        elif m.group("string") is not None:
            tokens.append(_Token("string", m.group("string")[1:-1].replace("''", "'"), pos))
        elif m.group("number") is not None:
            tokens.append(_Token("number", m.group("number"), pos))
        elif m.group("ident") is not None:
            tokens.append(_Token("ident", m.group("ident"), pos))
        elif m.group("punct") is not None:
            tokens.append(_Token(m.group("punct"), m.group("punct"), pos))
        pos = m.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


# --------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class _Lit:
    edm: str  # Edm type, or "Null"
    value: Any


@dataclass(frozen=True, slots=True)
class _Prop:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class _Cmp:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Bool:
    op: str  # "and" | "or"
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    args: tuple[_Node, ...]
    pos: int


_Node = _Lit | _Prop | _Cmp | _Bool | _Not | _Call


class _Parser:
    """Recursive descent over the token list; counts nodes for the ``MaxNodeCount`` limit."""

    def __init__(self, text: str, max_nodes: int) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.nodes = 0
        self.max_nodes = max_nodes

    # helpers
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token.kind == "ident" and token.text in words:
            self.i += 1
            return token.text
        return None

    def count(self) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise ODataError(
                f"The node count limit of '{self.max_nodes}' has been exceeded. To increase the limit, "
                "set the 'MaxNodeCount' property on EnableQueryAttribute or ODataValidationSettings."
            )

    def expected(self, what: str) -> ODataError:
        return ODataError(f"{what} expected at position {self.peek().pos} in '{self.text}'.")

    # grammar
    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise self.expected("Expression")
        node = self.parse_or()
        if self.peek().kind != "end":
            token = self.peek()
            raise ODataError(f"Syntax error at position {token.pos} in '{self.text}'.")
        return node

    def parse_or(self) -> _Node:
        node = self.parse_and()
        while self.keyword("or"):
            self.count()
            node = _Bool("or", node, self.parse_and())
        return node

    def parse_and(self) -> _Node:
        node = self.parse_comparison()
        while self.keyword("and"):
            self.count()
            node = _Bool("and", node, self.parse_comparison())
        return node

    def parse_comparison(self) -> _Node:
        node = self.parse_unary()
        while True:
            token = self.peek()
            if token.kind == "ident" and token.text in _COMPARISONS:
                self.take()
                self.count()
                node = _Cmp(token.text, node, self.parse_unary())
            elif token.kind == "ident" and token.text in _UNSUPPORTED_OPERATORS:
                raise ODataError(f"The operator '{token.text}' is not supported at position {token.pos}.")
            else:
                return node

    def parse_unary(self) -> _Node:
        if self.keyword("not"):
            self.count()
            return _Not(self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> _Node:
        token = self.take()
        self.count()
        if token.kind == "(":
            node = self.parse_or()
            if self.take().kind != ")":
                self.i -= 1
                raise self.expected("')' or operator")
            return node
        if token.kind == "string":
            return _Lit(STRING, token.text)
        if token.kind == "number":
            return self.number(token)
        if token.kind == "typed":
            return self.typed(token)
        if token.kind == "ident":
            if token.text == "null":
                return _Lit("Null", None)
            if token.text in ("true", "false"):
                return _Lit(BOOLEAN, token.text == "true")
            if self.peek().kind == "(":
                return self.call(token)
            return _Prop(token.text, token.pos)
        self.i -= 1
        raise self.expected("Expression")

    def call(self, name: _Token) -> _Node:
        self.take()  # "("
        args: list[_Node] = []
        if self.peek().kind != ")":
            while True:
                args.append(self.parse_or())
                if self.peek().kind == ",":
                    self.take()
                    continue
                break
        if self.take().kind != ")":
            self.i -= 1
            raise self.expected("')' or ','")
        return _Call(name.text, tuple(args), name.pos)

    def number(self, token: _Token) -> _Lit:
        text = token.text
        suffix = text[-1].lower() if text[-1].isalpha() else ""
        body = text[:-1] if suffix else text
        if suffix in ("m", "d", "f") or "." in body or "e" in body.lower():
            return _Lit(DECIMAL, Decimal(body))
        if suffix == "l":
            return _Lit("Int64", int(body))
        value = int(body)
        if not -(2**31) <= value < 2**31:
            return _Lit("Int64", value)
        return _Lit(INT, value)

    def typed(self, token: _Token) -> _Lit:
        if token.prefix == "datetime":
            try:
                return _Lit(DATETIME, _parse_datetime_literal(token.text))
            except ValueError:
                pass
            raise ODataError(
                f"Unrecognized 'Edm.DateTime' literal 'datetime'{token.text}'' "
                f"at '{token.pos}' in '{self.text}'."
            )
        if token.prefix == "guid":
            if re.fullmatch(
                r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", token.text
            ):
                return _Lit(GUID, token.text.upper())
            raise ODataError(
                f"Unrecognized 'Edm.Guid' literal 'guid'{token.text}'' at '{token.pos}' in '{self.text}'."
            )
        raise ODataError(f"Literals of type '{token.prefix}' are not supported at position {token.pos}.")


_DT_LITERAL = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?")


def _parse_datetime_literal(text: str) -> datetime:
    """``YYYY-MM-DD[THH:MM[:SS[.fffffff]]]``; zones and offsets are not Edm.DateTime (OData v3)."""
    if not _DT_LITERAL.fullmatch(text):
        raise ValueError(text)
    if "." in text:  # Python takes at most 6 fraction digits
        head, frac = text.split(".")
        text = f"{head}.{frac[:6].ljust(6, '0')}"
    return datetime.fromisoformat(text)


@lru_cache(maxsize=1 << 17)
def parse_wire_datetime(value: str) -> datetime | None:
    """A Legistar date string from a row as a naive datetime; None when it is not a valid date."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------- compiler

_Getter = Callable[[Row], Any]


def _constant(value: Any) -> _Getter:
    return lambda row: value


@dataclass(frozen=True, slots=True)
class _Typed:
    edm: str
    get: _Getter


def _edm(name: str) -> str:
    return f"Edm.{name}"


class _Compiler:
    def __init__(self, text: str, entity: Entity) -> None:
        self.text = text
        self.entity = entity

    def compile(self, node: _Node) -> _Typed:
        if isinstance(node, _Lit):
            value = node.value
            if node.edm == STRING:
                value = value.casefold()
            return _Typed(node.edm, _constant(value))
        if isinstance(node, _Prop):
            return self.prop(node)
        if isinstance(node, _Cmp):
            return self.comparison(node)
        if isinstance(node, _Bool):
            left, right = self.boolean(node.left, node.op), self.boolean(node.right, node.op)
            lg, rg = left.get, right.get
            if node.op == "and":
                return _Typed(BOOLEAN, lambda row: bool(lg(row)) and bool(rg(row)))
            return _Typed(BOOLEAN, lambda row: bool(lg(row)) or bool(rg(row)))
        if isinstance(node, _Not):
            inner = self.boolean(node.operand, "Not")
            ig = inner.get
            return _Typed(BOOLEAN, lambda row: not ig(row))
        return self.call(node)

    def boolean(self, node: _Node, op: str) -> _Typed:
        typed = self.compile(node)
        if typed.edm not in (BOOLEAN, "Null"):
            raise ODataError(
                f"The operand for a binary operator '{op.title()}' is not of type 'Edm.Boolean'."
            )
        return typed

    def prop(self, node: _Prop) -> _Typed:
        edm = self.entity.fields.get(node.name)
        if edm is None:
            raise ODataError(
                f"Could not find a property named '{node.name}' on type 'Legistar.{self.entity.name}'."
            )
        name = node.name
        if edm == DATETIME:
            return _Typed(edm, lambda row: _dt(row.get(name)))
        if edm == STRING:
            return _Typed(edm, lambda row: _fold(row.get(name)))
        if edm == GUID:
            return _Typed(edm, lambda row: _upper(row.get(name)))
        return _Typed(edm, lambda row: row.get(name))

    def comparison(self, node: _Cmp) -> _Typed:
        left, right = self.compile(node.left), self.compile(node.right)
        pyop, kind = _COMPARISONS[node.op]
        compatible = (
            left.edm == right.edm
            or "Null" in (left.edm, right.edm)
            or (left.edm in _NUMERIC and right.edm in _NUMERIC)
        )
        if not compatible or COLLECTION in (left.edm, right.edm):
            raise ODataError(
                "A binary operator with incompatible types was detected. Found operand types "
                f"'{_edm(left.edm)}' and '{_edm(right.edm)}' for operator kind '{kind}'."
            )
        lg, rg, op = left.get, right.get, node.op

        def compare(row: Row) -> bool:
            a, b = lg(row), rg(row)
            if a is None or b is None:
                if op == "eq":
                    return a is None and b is None
                if op == "ne":
                    return not (a is None and b is None)
                return False
            return bool(pyop(a, b))

        return _Typed(BOOLEAN, compare)

    def call(self, node: _Call) -> _Typed:
        args = [self.compile(arg) for arg in node.args]
        types = tuple(arg.edm if arg.edm != "Null" else "*" for arg in args)
        spec = _FUNCTIONS.get(node.name)
        if spec is None:
            raise ODataError(f"Unknown function '{node.name}'.")
        params, result, impl = spec
        ok = len(types) == len(params) and all(t in ("*", p) for t, p in zip(types, params, strict=True))
        if not ok:
            signature = ", ".join(f"Edm.{p} Nullable=true" for p in params)
            raise ODataError(
                f"No function signature for the function with name '{node.name}' matches the specified "
                f"arguments. The function signatures considered are: {node.name}({signature})."
            )
        getters = [arg.get for arg in args]

        def apply(row: Row) -> Any:
            values = [g(row) for g in getters]
            if any(v is None for v in values):
                return None if result != BOOLEAN else False
            return impl(*values)

        return _Typed(result, apply)


def _dt(value: Any) -> datetime | None:
    return parse_wire_datetime(value) if isinstance(value, str) else None


def _fold(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) else None


def _upper(value: Any) -> str | None:
    return value.upper() if isinstance(value, str) else None


_FUNCTIONS: dict[str, tuple[tuple[str, ...], str, Callable[..., Any]]] = {
    "substringof": ((STRING, STRING), BOOLEAN, lambda needle, hay: needle in hay),
    "startswith": ((STRING, STRING), BOOLEAN, lambda s, prefix: s.startswith(prefix)),
    "endswith": ((STRING, STRING), BOOLEAN, lambda s, suffix: s.endswith(suffix)),
    "tolower": ((STRING,), STRING, lambda s: s),  # values are already case-folded
    "toupper": ((STRING,), STRING, lambda s: s),
    "trim": ((STRING,), STRING, lambda s: s.strip()),
    "length": ((STRING,), INT, len),
    "year": ((DATETIME,), INT, lambda d: d.year),
    "month": ((DATETIME,), INT, lambda d: d.month),
    "day": ((DATETIME,), INT, lambda d: d.day),
}


@lru_cache(maxsize=256)
def compile_filter(text: str, entity: Entity, max_nodes: int = DEFAULT_MAX_NODES) -> Predicate:
    """Parse and type-check a ``$filter`` expression against ``entity``; return a row predicate (cached)."""
    node = _Parser(text, max_nodes).parse()
    typed = _Compiler(text, entity).compile(node)
    if typed.edm not in (BOOLEAN, "Null"):
        raise ODataError("The $filter expression must evaluate to a single boolean value.")
    get = typed.get
    return lambda row: bool(get(row))


# --------------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class QueryOptions:
    """Validated OData query options of one request."""

    filter: str | None = None
    orderby: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    top: int | None = None
    skip: int = 0
    select: tuple[str, ...] | None = None

    @property
    def cache_key(self) -> tuple[object, ...]:
        """What determines the filtered, sorted (unpaged) result."""
        return (self.filter, self.orderby)


def parse_options(
    query: Mapping[str, str], entity: Entity, max_nodes: int = DEFAULT_MAX_NODES
) -> QueryOptions:
    """Validate the ``$`` options of a query string (other parameters are ignored, as Legistar does)."""
    for key in query:
        if key.startswith("$") and key not in SUPPORTED_OPTIONS:
            raise ODataError(f"The query parameter '{key}' is not supported.")
    text = query.get("$filter")
    if text is not None:
        compile_filter(text, entity, max_nodes)  # validate now (the compiled predicate is cached)
    return QueryOptions(
        filter=text,
        orderby=_parse_orderby(query.get("$orderby"), entity),
        top=_parse_count(query, "$top"),
        skip=_parse_count(query, "$skip") or 0,
        select=_parse_select(query.get("$select"), entity),
    )


def _parse_count(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not re.fullmatch(r"\s*\d+\s*", raw):
        raise ODataError(
            f"Invalid value '{raw}' for {name} query option found. "
            f"The {name} query option requires a non-negative integer value."
        )
    return int(raw)


def _parse_orderby(text: str | None, entity: Entity) -> tuple[tuple[str, bool], ...]:
    if text is None:
        return ()
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise ODataError(f"Syntax error at position 0 in '{text}'.")
        name = words[0]
        edm = entity.fields.get(name)
        if edm is None:
            raise ODataError(f"Could not find a property named '{name}' on type 'Legistar.{entity.name}'.")
        if edm == COLLECTION:
            raise ODataError(
                f"The $orderby expression must evaluate to a single value of primitive type: {name}."
            )
        keys.append((name, len(words) == 2 and words[1] == "desc"))
    return tuple(keys)


def _parse_select(text: str | None, entity: Entity) -> tuple[str, ...] | None:
    if text is None or text.strip() in ("", "*"):
        return None
    names = tuple(name.strip() for name in text.split(","))
    for name in names:
        if name not in entity.fields:
            raise ODataError(f"Could not find a property named '{name}' on type 'Legistar.{entity.name}'.")
    return names


def _sort_key(name: str, edm: str) -> Callable[[Row], tuple[int, Any]]:
    """Nulls first (SQL Server), strings case-insensitive, dates by value."""
    if edm == DATETIME:
        return lambda row: (0, datetime.min) if (v := _dt(row.get(name))) is None else (1, v)
    if edm == STRING:
        return lambda row: (0, "") if (v := row.get(name)) is None else (1, v.casefold())
    return lambda row: (0, 0) if (v := row.get(name)) is None else (1, v)


def filter_and_sort(
    rows: Sequence[R], entity: Entity, options: QueryOptions, max_nodes: int = DEFAULT_MAX_NODES
) -> list[R]:
    """Apply ``$filter`` and ``$orderby`` (rows must come ordered by key: the default order)."""
    result: list[R] = list(rows)
    if options.filter is not None:
        predicate = compile_filter(options.filter, entity, max_nodes)
        result = [row for row in result if predicate(row)]
    for name, descending in reversed(options.orderby):  # stable sorts, last key first
        result.sort(key=_sort_key(name, entity.fields[name]), reverse=descending)
    return result


def page(rows: Sequence[Row], options: QueryOptions, page_cap: int) -> list[Row]:
    """Apply ``$skip``/``$top`` with the server's page cap, then ``$select``."""
    top = page_cap if options.top is None else min(options.top, page_cap)
    chunk = list(rows[options.skip : options.skip + top])
    if options.select is not None:
        names = options.select
        chunk = [{name: row.get(name) for name in names} for row in chunk]
    return chunk
