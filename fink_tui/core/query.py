"""A WHERE-style query language over Fink alerts, as astronomers write it in SQL and ADQL.

``class = 'SN candidate' AND mag < 19 AND dec > -30``, ``candidate.magpsf < 18``,
``diaSource.psfFlux > 5000 OR band IN ('g', 'r')``, ``objectId LIKE 'ZTF26%'``,
``DISTANCE(ra, dec, 239.06, -20.18) < 0.1`` (degrees, great circle; ADQL's
``DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', a, b))`` and
``CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', a, b, r)) = 1`` too).

A name is either one of the feed's short columns (:data:`COLUMNS`: read from the alert's
summary, which costs nothing) or an Avro path of the alert (``candidate.magpsf``,
``diaObject.nDiaSources``, ``xm.simbad_otype``). Paths are resolved against each alert's own
schema: a path that schema lacks is NULL, not an error. Their values are read with a reader
schema projected on just those paths (:func:`path_values`) — in the decoding process when the
pipeline is told to carry them (:attr:`Query.paths`), else once per alert, cached on it — and an
alert whose schema has none of the paths is not read at all.

SQL's three-valued logic: a comparison with NULL is unknown, and a row matches only when the
whole condition is true. :func:`compile_query` parses with Lark (LALR) and compiles the tree
once into closures; a mistake raises :class:`QueryError`, whose text names the column.
Nothing here imports Textual.
"""

from __future__ import annotations

import math
import operator
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from fink_tui.core.decode import Alert, SchemaInfo
from fink_tui.core.paths import PROJECTIONS_SIZE, carry_paths, schema_paths

GRAMMAR = r"""
start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> not_
    | predicate
?predicate: operand COMP operand -> compare
    | operand [NOT] _IN _LPAR operand (_COMMA operand)* _RPAR -> in_
    | operand [NOT] LIKE STRING -> like
    | operand _IS [NOT] _NULL -> is_null
    | operand [NOT] _BETWEEN operand _AND operand -> between
    | _LPAR or_expr _RPAR
?operand: NAME -> field
    | NAME _LPAR [operand (_COMMA operand)*] _RPAR -> call
    | literal
    | MINUS operand -> neg
?literal: NUMBER -> number
    | STRING -> string
    | TRUE -> true
    | FALSE -> false

_OR: /OR\b/i
_AND: /AND\b/i
_NOT: /NOT\b/i
NOT: /NOT\b/i
_IN: /IN\b/i
LIKE: /I?LIKE\b/i
_IS: /IS\b/i
_NULL: /NULL\b/i
_BETWEEN: /BETWEEN\b/i
TRUE: /TRUE\b/i
FALSE: /FALSE\b/i
COMP: "<=" | ">=" | "!=" | "<>" | "=" | "<" | ">"
MINUS: "-"
_LPAR: "("
_RPAR: ")"
_COMMA: ","
NAME: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/
NUMBER: /(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(?![A-Za-z0-9_.])/
STRING: /'([^']|'')*'/
%ignore /\s+/
"""

_KEYWORDS = {"OR", "AND", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "BETWEEN", "TRUE", "FALSE"}


def _keyword_priority(grammar: str) -> str:
    # Keywords win over NAME when both match the same word (``and`` is no column name).
    for word in ("_OR", "_AND", "_NOT", "NOT", "_IN", "LIKE", "_IS", "_NULL", "_BETWEEN"):
        grammar = grammar.replace(f"\n{word}: ", f"\n{word}.2: ", 1)
    return grammar.replace("\nTRUE: ", "\nTRUE.2: ").replace("\nFALSE: ", "\nFALSE.2: ")


_PARSER = Lark(_keyword_priority(GRAMMAR), parser="lalr", maybe_placeholders=True)

_EXPECTED = {
    "NUMBER": "a number",
    "STRING": "a 'string'",
    "NAME": "a column",
    "COMP": "a comparison (= != < <= > >=)",
    "_LPAR": "(",
    "_RPAR": ")",
    "_COMMA": ",",
    "_AND": "AND",
    "_OR": "OR",
    "_NOT": "NOT",
    "NOT": "NOT",
    "_IN": "IN",
    "LIKE": "LIKE",
    "_IS": "IS",
    "_NULL": "NULL",
    "_BETWEEN": "BETWEEN",
    "TRUE": "TRUE",
    "FALSE": "FALSE",
    "MINUS": "-",
}


class QueryError(ValueError):
    """A query that does not parse or does not make sense; the text says where (1-based)."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.reason = message


class Kind:
    """What a short column holds (for checks when the query is compiled)."""

    NUMBER = "a number"
    TEXT = "text"
    TIME = "a time"


@dataclass(frozen=True)
class Column:
    """A short column: what it holds, and how it is read from an alert without decoding."""

    kind: str
    get: Callable[[Alert], Any]
    help: str


def _text(value: str) -> str | None:
    return value or None


COLUMNS: dict[str, Column] = {
    "time": Column(Kind.TIME, lambda a: a.summary.time, "time of the detection (UTC)"),
    "topic": Column(Kind.TEXT, lambda a: a.ref.topic, "Kafka topic"),
    "object": Column(
        Kind.TEXT, lambda a: _text(a.summary.object_id), "objectId / diaObjectId / ssObjectId"
    ),
    "source": Column(Kind.TEXT, lambda a: _text(a.summary.source_id), "candid / diaSourceId"),
    "class": Column(Kind.TEXT, lambda a: _text(a.summary.classification), "Fink's class"),
    "mag": Column(Kind.NUMBER, lambda a: a.summary.mag, "magnitude (ZTF magpsf)"),
    "flux": Column(Kind.NUMBER, lambda a: a.summary.flux, "flux in nJy (LSST psfFlux)"),
    "band": Column(Kind.TEXT, lambda a: _text(a.summary.band), "filter band (g, r, ...)"),
    "ra": Column(Kind.NUMBER, lambda a: a.summary.ra, "right ascension (degrees)"),
    "dec": Column(Kind.NUMBER, lambda a: a.summary.dec, "declination (degrees)"),
    "survey": Column(Kind.TEXT, lambda a: a.summary.survey, "ztf or lsst"),
    "partition": Column(Kind.NUMBER, lambda a: a.ref.partition, "Kafka partition"),
    "offset": Column(Kind.NUMBER, lambda a: a.ref.offset, "Kafka offset"),
}
"""The names a query reads from the summary (no decoding); any other name is an Avro path."""

Value = Callable[[Alert], Any]
Test = Callable[[Alert], bool | None]


@dataclass(frozen=True)
class _Operand:
    value: Value
    kind: str | None
    """A short column's or a literal's kind (None: an Avro path, known per alert)."""
    column: int
    text: str
    constant: bool = False


def _const(value: Any) -> Value:
    return lambda _a: value


# --- values and comparisons ------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as comparisons see it: NaN is NULL (as the summaries treat it)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _comparable(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, int | float):
        return isinstance(b, int | float)
    return type(a) is type(b) or (isinstance(a, str) and isinstance(b, str))


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: Callable[[Any, Any], bool], left: Value, right: Value) -> Test:
    def test(alert: Alert) -> bool | None:
        a, b = _plain(left(alert)), _plain(right(alert))
        if a is None or b is None or not _comparable(a, b):
            return None
        return bool(op(a, b))

    return test


def _connective(tests: list[Test], decisive: bool) -> Test:
    """AND (``decisive`` False: one false part decides) or OR (True), with SQL's unknown."""

    def test(alert: Alert) -> bool | None:
        unknown = False
        for part in tests:
            result = part(alert)
            if result is decisive:
                return decisive
            unknown = unknown or result is None
        return None if unknown else not decisive

    return test


def _and(tests: list[Test]) -> Test:
    return _connective(tests, False)


def _or(tests: list[Test]) -> Test:
    return _connective(tests, True)


def _not(inner: Test) -> Test:
    def test(alert: Alert) -> bool | None:
        result = inner(alert)
        return None if result is None else not result

    return test


def like_pattern(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """SQL LIKE as a regular expression: ``%`` any text, ``_`` one character."""
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def great_circle(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Angular distance in degrees between two positions in degrees (haversine)."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    h = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


# --- Avro paths (read in core/paths.py) ------------------------------------------------------

_HAS_PATH: OrderedDict[tuple[str, str], bool] = OrderedDict()


def unknown_paths(query: Query, schemas: Iterable[SchemaInfo]) -> list[str]:
    """The query's Avro paths that none of ``schemas`` has (a typo, most likely: such a path
    is NULL on every alert, so a comparison with it matches nothing)."""
    infos = list(schemas)
    missing = []
    for path in query.paths:
        found = False
        for info in infos:
            key = (info.fingerprint, path)
            has = _HAS_PATH.get(key)
            if has is None:
                has = _HAS_PATH[key] = bool(schema_paths(info.schema, (path,)))
                if len(_HAS_PATH) > 4 * PROJECTIONS_SIZE:
                    _HAS_PATH.popitem(last=False)
            if has:
                found = True
                break
        if not found and infos:
            missing.append(path)
    return missing


# --- the compiled query ----------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A compiled query: :meth:`matches` tells whether an alert satisfies it."""

    text: str
    paths: tuple[str, ...]
    """The Avro paths it reads (beyond the short columns), in the order written."""
    test: Test

    def matches(self, alert: Alert) -> bool:
        """Whether the condition is true for ``alert`` (unknown, as with NULL, is no match)."""
        if self.paths:
            carry_paths(alert, self.paths)
        try:
            return self.test(alert) is True
        except (ArithmeticError, ValueError, TypeError):  # odd values in an odd alert
            return False

    def carried(self, alert: Alert) -> bool:
        """Whether ``alert`` holds the values of the paths already (matching reads nothing)."""
        fields = alert.fields
        return not self.paths or (fields is not None and all(p in fields for p in self.paths))

    def __str__(self) -> str:
        return self.text


def compile_query(text: str) -> Query:
    """Parse and compile ``text``; raise :class:`QueryError` naming the column of a mistake."""
    if not text.strip():
        raise QueryError("empty query", 1)
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _explain(text, exc) from None
    compiler = _Compiler(text)
    test = compiler.test(tree.children[0])
    return Query(text.strip(), tuple(dict.fromkeys(compiler.paths)), test)


def search_or_query(text: str) -> Query | None:
    """What a filter box means by ``text``: a query, or None for text to search for (a plain
    word, or words that do not parse as a query). A query with a mistake raises
    :class:`QueryError`: one with an operator, a parenthesis or a quote is meant as a query."""
    if not text.strip():
        return None
    if looks_like_query(text):
        return compile_query(text)
    try:
        return compile_query(text)  # ``mag IS NULL`` has no operator but is a query
    except QueryError:
        return None


def looks_like_query(text: str) -> bool:
    """Whether ``text`` is meant as a query rather than a word to search for: it has an
    operator, a parenthesis or a quote in it. (``SN candidate`` is a search.)"""
    return any(c in text for c in "=<>!()'")


def _explain(text: str, exc: UnexpectedInput) -> QueryError:
    column = int(getattr(exc, "column", 0) or 0)
    if isinstance(exc, UnexpectedCharacters):
        here = text[exc.pos_in_stream :]
        word = re.match(r"[^\s(),]+", here)
        shown = word.group(0) if word else here[:1]
        if here[:1].isdigit() or (here[:1] == "." and here[1:2].isdigit()):
            return QueryError(f"expected a number, got {shown!r}", column)
        if here[:1] == "'":
            return QueryError("this 'string' is not closed", column)
        if here[:1] == '"':
            return QueryError("strings take single quotes: 'like this'", column)
        return QueryError(f"unexpected {shown!r}", column)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        expected = _expected(exc.expected)
        token = exc.token
        return QueryError(f"expected {expected}, got {str(token)!r}", int(token.column or column))
    if isinstance(exc, UnexpectedToken | UnexpectedEOF):
        expected = _expected(exc.expected)
        return QueryError(f"the query ends early: expected {expected}", len(text.rstrip()) + 1)
    return QueryError(str(exc).splitlines()[0], column or 1)


_VALUES = frozenset({"NUMBER", "STRING", "NAME", "MINUS", "TRUE", "FALSE"})


def _expected(names: Iterable[str]) -> str:
    wanted = set(names) - {"$END"}
    values = wanted & _VALUES if wanted & {"NUMBER", "NAME"} else set()
    words = sorted({_EXPECTED.get(n, n) for n in wanted - values})
    if values:
        words.append("a value (a number, a 'string' or a column)")
    if not words:
        return "the end"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


class _Compiler:
    """Turns a parse tree into closures, checking what can be checked before any alert."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.paths: list[str] = []

    # predicates

    def test(self, node: Tree[Token] | Token) -> Test:
        assert isinstance(node, Tree)
        kind = node.data
        kids = node.children
        if kind == "or_expr":
            return _or([self.test(k) for k in kids])
        if kind == "and_expr":
            return _and([self.test(k) for k in kids])
        if kind == "not_":
            return _not(self.test(kids[0]))
        if kind == "compare":
            return self._compare(kids)
        if kind == "in_":
            return self._in(kids)
        if kind == "like":
            return self._like(kids)
        if kind == "is_null":
            return self._is_null(kids)
        if kind == "between":
            return self._between(kids)
        first = self.operand(node)  # a bare value where a condition belongs
        raise QueryError(
            f"{first.text!r} is a value, not a condition: compare it (= < > ...)", first.column
        )

    def _compare(self, kids: list[Any]) -> Test:
        left, op, right = self.operand(kids[0]), kids[1], self.operand(kids[2])
        left, right = self._check(left, right), self._check(right, left)
        return _compare(_OPERATORS[str(op)], left.value, right.value)

    def _in(self, kids: list[Any]) -> Test:
        subject, negated = self.operand(kids[0]), kids[1] is not None
        choices = [self._check(self.operand(k), subject) for k in kids[2:]]
        for choice in choices:
            if not choice.constant:
                raise QueryError(f"IN takes numbers or 'strings', not {choice.text}", choice.column)
        values = [c.value(None) for c in choices]  # type: ignore[arg-type]
        read = subject.value

        def test(alert: Alert) -> bool | None:
            value = _plain(read(alert))
            if value is None:
                return None
            found = any(_comparable(value, v) and value == v for v in values)
            return found != negated

        return test

    def _like(self, kids: list[Any]) -> Test:
        subject, negated = self.operand(kids[0]), kids[1] is not None
        word, pattern = kids[2], kids[3]
        if subject.kind not in (None, Kind.TEXT):
            raise QueryError(f"{subject.text} is {subject.kind}: LIKE compares text", word.column)
        regex = like_pattern(_unquote(str(pattern)), str(word).upper() == "ILIKE")
        read = subject.value

        def test(alert: Alert) -> bool | None:
            value = read(alert)
            if value is None:
                return None
            if not isinstance(value, str):
                value = str(value)
            return (regex.fullmatch(value) is not None) != negated

        return test

    def _is_null(self, kids: list[Any]) -> Test:
        subject, negated = self.operand(kids[0]), kids[1] is not None
        read = subject.value
        return lambda alert: (_plain(read(alert)) is None) != negated

    def _between(self, kids: list[Any]) -> Test:
        subject, negated = self.operand(kids[0]), kids[1] is not None
        low = self._check(self.operand(kids[2]), subject)
        high = self._check(self.operand(kids[3]), subject)
        inside = _and(
            [
                _compare(operator.ge, subject.value, low.value),
                _compare(operator.le, subject.value, high.value),
            ]
        )
        return _not(inside) if negated else inside

    def _check(self, this: _Operand, other: _Operand) -> _Operand:
        """``this`` as it is compared with ``other``: a string compared with a time becomes a
        time; kinds that cannot be compared are a mistake at ``this``."""
        if this.kind is None or other.kind is None or this.kind == other.kind:
            return this
        if this.constant and this.kind == Kind.TEXT and other.kind == Kind.TIME:
            return _Operand(_const(_parse_time(this)), Kind.TIME, this.column, this.text, True)
        if this.constant:
            raise QueryError(
                f"{other.text} is {other.kind}, so compare it with {_example(other.kind)}, "
                f"not {this.text}",
                this.column,
            )
        return this

    # values

    def operand(self, node: Tree[Token] | Token) -> _Operand:
        assert isinstance(node, Tree)
        kind, kids = node.data, cast(list[Any], node.children)
        if kind == "field":
            return self._field(kids[0])
        if kind == "number":
            token = kids[0]
            # Ids are exact: 170028485706776685 is no float.
            whole = token.isdigit() and len(token) <= 1000
            value: float = int(token) if whole else float(token)
            return _Operand(_const(value), Kind.NUMBER, _column(token), str(token), True)
        if kind == "string":
            token = kids[0]
            return _Operand(_const(_unquote(token)), Kind.TEXT, _column(token), str(token), True)
        if kind in ("true", "false"):
            token = kids[0]
            return _Operand(_const(kind == "true"), "true or false", _column(token), token, True)
        if kind == "neg":
            minus, inner = kids[0], self.operand(kids[1])
            if inner.kind not in (None, Kind.NUMBER):
                raise QueryError(f"- goes before a number, not {inner.text}", _column(minus))
            read = inner.value

            def negative(alert: Alert) -> Any:
                value = _number(read(alert))
                return None if value is None else -value

            return _Operand(negative, Kind.NUMBER, _column(minus), f"-{inner.text}", inner.constant)
        if kind == "call":
            return self._call(kids)
        raise QueryError("a condition where a value belongs", _column(kids[0]))

    def _field(self, token: Token) -> _Operand:
        name, at = str(token), _column(token)
        column = COLUMNS.get(name)
        if column is not None:
            return _Operand(column.get, column.kind, at, name)
        if name.upper() in _KEYWORDS:
            raise QueryError(f"{name} is a keyword here, not a column", at)
        self.paths.append(name)
        return _Operand(lambda alert: (alert.fields or {}).get(name), None, at, name)

    def _call(self, kids: list[Any]) -> _Operand:
        name_token, args = kids[0], [a for a in kids[1:] if a is not None]
        name = str(name_token).upper()
        operands = [self.operand(a) for a in args]
        column = name_token.column
        if name == "POINT":
            _arity(name, operands, (3,), column)
            return _point(operands[1], operands[2], column)
        if name == "CIRCLE":
            _arity(name, operands, (4,), column)
            centre = _point(operands[1], operands[2], column)
            radius = self._numeric(operands[3])
            read_centre, read_radius = centre.value, radius.value

            def circle(alert: Alert) -> Any:
                at, r = read_centre(alert), _number(read_radius(alert))
                return None if at is None or r is None else (*at, r)

            return _Operand(circle, "a circle", column, "CIRCLE(...)")
        if name == "DISTANCE":
            _arity(name, operands, (2, 4), column)
            if len(operands) == 4:
                a = _point(operands[0], operands[1], column)
                b = _point(operands[2], operands[3], column)
            else:
                a, b = operands
                for p in (a, b):
                    if p.kind != "a point":
                        raise QueryError("DISTANCE takes POINT(...)s or ra, dec, ra, dec", p.column)
            read_a, read_b = a.value, b.value

            def distance(alert: Alert) -> Any:
                p, q = read_a(alert), read_b(alert)
                return None if p is None or q is None else great_circle(p[0], p[1], q[0], q[1])

            return _Operand(distance, Kind.NUMBER, column, "DISTANCE(...)")
        if name == "CONTAINS":
            _arity(name, operands, (2,), column)
            point, shape = operands
            if point.kind != "a point" or shape.kind != "a circle":
                raise QueryError("CONTAINS takes POINT(...), CIRCLE(...)", column)
            read_p, read_c = point.value, shape.value

            def contains(alert: Alert) -> Any:
                p, c = read_p(alert), read_c(alert)
                if p is None or c is None:
                    return None
                return 1 if great_circle(p[0], p[1], c[0], c[1]) <= c[2] else 0

            return _Operand(contains, Kind.NUMBER, column, "CONTAINS(...)")
        raise QueryError(
            f"no function {str(name_token)!r} (DISTANCE, POINT, CIRCLE, CONTAINS)", column
        )

    def _numeric(self, operand: _Operand) -> _Operand:
        if operand.kind not in (None, Kind.NUMBER):
            raise QueryError(f"expected a number, got {operand.text}", operand.column)
        return operand


def _arity(name: str, operands: list[_Operand], counts: tuple[int, ...], column: int) -> None:
    if len(operands) not in counts:
        want = " or ".join(str(n) for n in counts)
        raise QueryError(f"{name} takes {want} arguments, got {len(operands)}", column)


def _point(ra: _Operand, dec: _Operand, column: int) -> _Operand:
    """A position on the sky from two numbers (degrees)."""
    for part in (ra, dec):
        if part.kind not in (None, Kind.NUMBER):
            raise QueryError(f"expected a number for a position, got {part.text}", part.column)
    read_ra, read_dec = ra.value, dec.value

    def point(alert: Alert) -> Any:
        a, d = _number(read_ra(alert)), _number(read_dec(alert))
        return None if a is None or d is None else (a, d)

    return _Operand(point, "a point", column, "POINT(...)")


def _column(token: Any) -> int:
    """The 1-based column of a token."""
    return int(getattr(token, "column", None) or 1)


def _unquote(token: str) -> str:
    return token[1:-1].replace("''", "'")


def _example(kind: str) -> str:
    return {
        Kind.NUMBER: "a number",
        Kind.TEXT: "a 'string'",
        Kind.TIME: "a 'YYYY-MM-DD hh:mm:ss' time",
    }.get(kind, kind)


def _parse_time(operand: _Operand) -> datetime:
    text = _unquote(operand.text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(
            f"{operand.text} is not a time: write 'YYYY-MM-DD' or 'YYYY-MM-DD hh:mm:ss' (UTC)",
            operand.column,
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
