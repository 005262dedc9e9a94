"""The Lucene query syntax that Auth0's user search (``search_engine=v3``) accepts, parsed into a
small syntax tree. Pure: no I/O, no knowledge of which fields exist (domain/user_search.py checks
those and turns the tree into the domain query).

Grammar (a recursive-descent parser over a tokenizer that records every token's offset)::

    query    := or_expr EOF
    or_expr  := and_expr (("OR" | "||") and_expr)*
    and_expr := unary (("AND" | "&&")? unary)*         -- juxtaposition is AND
    unary    := ("NOT" | "!" | "-") unary | "+" unary | primary
    primary  := "(" or_expr ")"
              | FIELD ":" value                        -- field:value, field:"a phrase", field:pre*
              | FIELD ":" "*"                          -- the field exists
              | FIELD ":" range                        -- [a TO b], {a TO b}, [a TO *], ...
              | FIELD ":" "(" or_expr ")"              -- field:(a OR b): the field applies inside
              | "_exists_" ":" FIELD
              | value                                  -- a bare word or phrase
    range    := ("[" | "{") bound "TO" bound ("]" | "}")
    bound    := "*" | TERM | PHRASE

Precedence, tightest first: NOT, AND (explicit or implied), OR. (Lucene's classic parser has no
real precedence; this is what people expect and what ``a b OR c`` means in Auth0's examples.)

Terms follow Lucene: ``\\`` escapes any character; ``+``, ``-`` and ``&`` may appear inside a term
(``google-oauth2``, ``AT&T``) but ``-``/``+``/``!`` start one as an operator; a ``*`` may only end a
term (prefix search); ``?``, ``~``, ``^``, ``/`` (single-character wildcards, fuzzy, boost and
regular expressions) are refused rather than silently misread. Inside ``[...]``/``{...}`` a bound
runs to the next blank or closing bracket, so dates with colons need no escaping there.

Every error is a :class:`LuceneSyntaxError` carrying the 0-based offset where it was found.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

MAX_LENGTH = 1024
"""Longest query accepted, in characters."""

MAX_DEPTH = 20
"""Deepest nesting of parentheses and prefix operators accepted."""

EXISTS_FIELD = "_exists_"


class LuceneSyntaxError(ValueError):
    """The query is not valid syntax. ``position`` is the 0-based offset of the problem."""

    def __init__(self, detail: str, position: int):
        self.detail = detail
        self.position = position
        super().__init__(f"{detail} (at column {position + 1})")


# -- syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TermNode:
    """``field:value`` (``field`` None for a bare word). ``prefix`` for ``value*``; ``quoted`` for
    a ``"phrase"``. ``position`` is where the clause starts (the field, or the value if bare)."""

    field: str | None
    value: str
    prefix: bool
    quoted: bool
    position: int


@dataclass(frozen=True)
class RangeNode:
    """``field:[low TO high]``; a ``*`` bound is None. ``[`` / ``]`` include the bound, ``{`` /
    ``}`` exclude it."""

    field: str
    low: str | None
    high: str | None
    include_low: bool
    include_high: bool
    position: int


@dataclass(frozen=True)
class ExistsNode:
    """``field:*`` or ``_exists_:field``."""

    field: str
    position: int


@dataclass(frozen=True)
class NotNode:
    operand: Node
    position: int


@dataclass(frozen=True)
class BoolNode:
    op: Literal["AND", "OR"]
    operands: tuple[Node, ...]
    position: int


Node = TermNode | RangeNode | ExistsNode | NotNode | BoolNode


# -- tokens --------------------------------------------------------------------------------


class Tok(Enum):
    TERM = "term"
    PHRASE = "phrase"
    STAR = "'*'"
    COLON = "':'"
    LPAREN = "'('"
    RPAREN = "')'"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    PLUS = "'+'"
    MINUS = "'-'"
    RANGE_OPEN = "'[' or '{'"
    RANGE_CLOSE = "']' or '}'"
    TO = "TO"
    EOF = "the end of the query"


@dataclass(frozen=True)
class Token:
    kind: Tok
    text: str  # the value with escapes resolved (and the trailing * dropped for a prefix)
    position: int
    raw: str  # the characters as written
    prefix: bool = False

    def describe(self) -> str:
        if self.kind is Tok.EOF:
            return "the end of the query"
        return repr(_clip(self.raw))


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_BLANKS = frozenset(" \t\r\n\u3000")
# Characters that end a term (besides blanks); '-', '+', '&', '|' may continue one (Lucene).
_TERM_STOP = frozenset('()[]{}:"^~?/\\*!') | _BLANKS
_KEYWORDS = {"AND": Tok.AND, "OR": Tok.OR, "NOT": Tok.NOT}


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.i = 0
        self.tokens: list[Token] = []

    def run(self) -> list[Token]:
        text = self.text
        while True:
            self._skip_blanks()
            if self.i >= len(text):
                self.tokens.append(Token(Tok.EOF, "", self.i, ""))
                return self.tokens
            start = self.i
            ch = text[start]
            two = text[start : start + 2]
            if ch == "(":
                self._emit(Tok.LPAREN, start, 1)
            elif ch == ")":
                self._emit(Tok.RPAREN, start, 1)
            elif ch == ":":
                self._emit(Tok.COLON, start, 1)
            elif two == "&&":
                self._emit(Tok.AND, start, 2)
            elif two == "||":
                self._emit(Tok.OR, start, 2)
            elif ch == "!":
                self._emit(Tok.NOT, start, 1)
            elif ch == "+":
                self._emit(Tok.PLUS, start, 1)
            elif ch == "-":
                self._emit(Tok.MINUS, start, 1)
            elif ch == '"':
                self.tokens.append(self._phrase())
            elif ch in "[{":
                self._range(start)
            elif ch in "]}":
                raise LuceneSyntaxError(f"Unexpected {ch!r} without a matching range start", start)
            elif ch == "*":
                self._star(start)
            else:
                self._unsupported(ch, start)
                self.tokens.append(self._term())

    def _skip_blanks(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in _BLANKS:
            self.i += 1

    def _emit(self, kind: Tok, start: int, length: int) -> None:
        raw = self.text[start : start + length]
        self.tokens.append(Token(kind, raw, start, raw))
        self.i = start + length

    @staticmethod
    def _unsupported(ch: str, at: int) -> None:
        if ch == "?":
            raise LuceneSyntaxError("The '?' wildcard is not supported; use '*' at the end", at)
        if ch == "~":
            raise LuceneSyntaxError("Fuzzy and proximity searches ('~') are not supported", at)
        if ch == "^":
            raise LuceneSyntaxError("Boosts ('^') are not supported", at)
        if ch == "/":
            raise LuceneSyntaxError("Regular expressions ('/.../') are not supported", at)

    def _ends_term(self, at: int) -> bool:
        return at >= len(self.text) or self.text[at] in _BLANKS or self.text[at] in "():"

    def _star(self, start: int) -> None:
        if not self._ends_term(start + 1) and self.text[start + 1] not in "]}":
            raise LuceneSyntaxError(
                "A wildcard may only end a term: leading wildcards are not allowed", start
            )
        self._emit(Tok.STAR, start, 1)

    def _escape(self, at: int) -> str:
        """The character escaped by the backslash at ``at``."""
        if at + 1 >= len(self.text):
            raise LuceneSyntaxError("A '\\' at the end of the query escapes nothing", at)
        return self.text[at + 1]

    def _term(self) -> Token:
        text = self.text
        start = self.i
        out: list[str] = []
        prefix = False
        i = start
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                out.append(self._escape(i))
                i += 2
                continue
            if ch == "*":
                if not self._ends_term(i + 1):
                    raise LuceneSyntaxError(
                        "A wildcard may only end a term (prefix search, e.g. name:jo*)", i
                    )
                prefix = True
                i += 1
                break
            if ch in _TERM_STOP:
                if ch in "?~^/":
                    self._unsupported(ch, i)
                break
            out.append(ch)
            i += 1
        self.i = i
        raw = text[start:i]
        kind = _KEYWORDS.get(raw, Tok.TERM)
        return Token(kind, "".join(out), start, raw, prefix=prefix)

    def _phrase(self) -> Token:
        text = self.text
        start = self.i
        out: list[str] = []
        i = start + 1
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                out.append(self._escape(i))
                i += 2
                continue
            if ch == '"':
                self.i = i + 1
                if self.i < len(text) and text[self.i] in "~^":
                    self._unsupported(text[self.i], self.i)
                return Token(Tok.PHRASE, "".join(out), start, text[start : self.i])
            out.append(ch)
            i += 1
        raise LuceneSyntaxError("Unterminated quoted phrase: a closing '\"' is missing", start)

    def _range(self, start: int) -> None:
        """``[`` or ``{`` up to the matching ``]`` or ``}``, as range tokens."""
        text = self.text
        self._emit(Tok.RANGE_OPEN, start, 1)
        while True:
            self._skip_blanks()
            if self.i >= len(text):
                raise LuceneSyntaxError(
                    "Unterminated range: a closing ']' or '}' is missing", start
                )
            at = self.i
            ch = text[at]
            if ch in "]}":
                self._emit(Tok.RANGE_CLOSE, at, 1)
                return
            if ch == '"':
                self.tokens.append(self._phrase())
                continue
            if ch in "[{":
                raise LuceneSyntaxError(f"Unexpected {ch!r} inside a range", at)
            out: list[str] = []
            i = at
            while i < len(text) and text[i] not in _BLANKS and text[i] not in "]}":
                if text[i] == "\\":
                    out.append(self._escape(i))
                    i += 2
                    continue
                out.append(text[i])
                i += 1
            self.i = i
            raw = text[at:i]
            kind = Tok.TO if raw == "TO" else Tok.STAR if raw == "*" else Tok.TERM
            if kind is Tok.TERM and "*" in raw.replace("\\*", ""):
                raise LuceneSyntaxError("Wildcards are not allowed in range bounds", at)
            self.tokens.append(Token(kind, "".join(out), at, raw))


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an EOF token. Raises :class:`LuceneSyntaxError`."""
    return _Lexer(text).run()


# -- parser --------------------------------------------------------------------------------

_CLAUSE_START = frozenset(
    {Tok.TERM, Tok.PHRASE, Tok.LPAREN, Tok.NOT, Tok.PLUS, Tok.MINUS, Tok.STAR}
)


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.k = 0
        self.depth = 0
        self.group_field: str | None = None  # inside field:( ... )

    @property
    def peek(self) -> Token:
        return self.tokens[self.k]

    def next(self) -> Token:
        token = self.tokens[self.k]
        if token.kind is not Tok.EOF:
            self.k += 1
        return token

    def expect(self, kind: Tok, what: str) -> Token:
        token = self.peek
        if token.kind is not kind:
            raise LuceneSyntaxError(f"Expected {what} but found {token.describe()}", token.position)
        return self.next()

    def enter(self, at: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LuceneSyntaxError(f"The query nests deeper than {MAX_DEPTH} levels", at)

    def query(self) -> Node:
        if self.peek.kind is Tok.EOF:
            raise LuceneSyntaxError("The query is empty", 0)
        node = self.or_expr()
        token = self.peek
        if token.kind is not Tok.EOF:
            if token.kind is Tok.RPAREN:
                raise LuceneSyntaxError("Unexpected ')' without a matching '('", token.position)
            raise LuceneSyntaxError(f"Unexpected {token.describe()}", token.position)
        return node

    def or_expr(self) -> Node:
        start = self.peek.position
        operands = [self.and_expr()]
        while self.peek.kind is Tok.OR:
            op = self.next()
            self.clause_follows(op)
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolNode("OR", tuple(operands), start)

    def and_expr(self) -> Node:
        start = self.peek.position
        operands = [self.unary()]
        while True:
            if self.peek.kind is Tok.AND:
                op = self.next()
                self.clause_follows(op)
            elif self.peek.kind not in _CLAUSE_START:
                break
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else BoolNode("AND", tuple(operands), start)

    def clause_follows(self, op: Token) -> None:
        if self.peek.kind not in _CLAUSE_START:
            raise LuceneSyntaxError(
                f"Expected a clause after {op.raw!r} but found {self.peek.describe()}",
                self.peek.position,
            )

    def unary(self) -> Node:
        token = self.peek
        if token.kind in (Tok.NOT, Tok.MINUS, Tok.PLUS):
            self.next()
            self.enter(token.position)
            self.clause_follows(token)
            operand = self.unary()
            self.depth -= 1
            return operand if token.kind is Tok.PLUS else NotNode(operand, token.position)
        return self.primary()

    def primary(self) -> Node:
        token = self.peek
        if token.kind is Tok.LPAREN:
            return self.group()
        if token.kind is Tok.STAR:
            raise LuceneSyntaxError(
                "A lone '*' needs a field (field:* asks whether the field exists)", token.position
            )
        if token.kind is Tok.TERM and self.tokens[self.k + 1].kind is Tok.COLON:
            return self.field_clause()
        if token.kind in (Tok.TERM, Tok.PHRASE):
            self.next()
            return TermNode(
                self.group_field,
                token.text,
                token.prefix,
                token.kind is Tok.PHRASE,
                token.position,
            )
        if token.kind is Tok.COLON:
            raise LuceneSyntaxError("Expected a field name before ':'", token.position)
        if token.kind is Tok.RANGE_OPEN:
            raise LuceneSyntaxError(
                "A range needs a field, e.g. logins_count:[1 TO 5]", token.position
            )
        raise LuceneSyntaxError(
            f"Expected a term, a phrase or '(' but found {token.describe()}", token.position
        )

    def group(self) -> Node:
        open_ = self.next()
        self.enter(open_.position)
        first = self.peek
        if first.kind is Tok.RPAREN:
            raise LuceneSyntaxError("Empty parentheses", first.position)
        node = self.or_expr()
        token = self.peek
        if token.kind is not Tok.RPAREN:
            if token.kind is Tok.EOF:
                raise LuceneSyntaxError("Missing ')' for the '(' here", open_.position)
            raise LuceneSyntaxError(f"Expected ')' but found {token.describe()}", token.position)
        self.next()
        self.depth -= 1
        return node

    def field_clause(self) -> Node:
        name = self.next()
        self.next()  # the colon
        field = name.text
        if name.prefix or name.text != name.raw or not field:
            raise LuceneSyntaxError(f"Invalid field name {name.describe()}", name.position)
        if self.group_field is not None:
            raise LuceneSyntaxError(
                f"A field inside the group of field {self.group_field!r}", name.position
            )
        value = self.peek
        if field == EXISTS_FIELD:
            if value.kind is not Tok.TERM or value.prefix or not value.text:
                raise LuceneSyntaxError(
                    f"Expected a field name after '{EXISTS_FIELD}:' but found {value.describe()}",
                    value.position,
                )
            self.next()
            return ExistsNode(value.text, value.position)
        if value.kind in (Tok.TERM, Tok.PHRASE):
            self.next()
            return TermNode(
                field, value.text, value.prefix, value.kind is Tok.PHRASE, name.position
            )
        if value.kind is Tok.STAR:
            self.next()
            return ExistsNode(field, name.position)
        if value.kind is Tok.RANGE_OPEN:
            return self.range(field, name.position)
        if value.kind is Tok.LPAREN:
            self.group_field = field
            try:
                return self.group()
            finally:
                self.group_field = None
        raise LuceneSyntaxError(
            f"Expected a value after '{field}:' but found {value.describe()}", value.position
        )

    def range(self, field: str, position: int) -> RangeNode:
        open_ = self.next()
        low = self.bound()
        self.expect(Tok.TO, "'TO' between the bounds of a range")
        high = self.bound()
        close = self.expect(Tok.RANGE_CLOSE, "']' or '}' to end the range")
        return RangeNode(field, low, high, open_.raw == "[", close.raw == "]", position)

    def bound(self) -> str | None:
        token = self.peek
        if token.kind is Tok.STAR:
            self.next()
            return None
        if token.kind in (Tok.TERM, Tok.PHRASE):
            self.next()
            return token.text
        raise LuceneSyntaxError(
            f"Expected a range bound (a value or '*') but found {token.describe()}",
            token.position,
        )


def parse(text: str) -> Node:
    """The syntax tree of the Lucene query ``text``.

    Raises :class:`LuceneSyntaxError` (with the offset) for bad syntax, an empty query, a query
    longer than :data:`MAX_LENGTH` or nested deeper than :data:`MAX_DEPTH`, a NUL character or a
    lone surrogate.
    """
    if len(text) > MAX_LENGTH:
        raise LuceneSyntaxError(f"The query is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    for at, ch in enumerate(text):
        # No database stores a NUL in text (PostgreSQL refuses it), nor half a surrogate pair.
        if ch == "\x00":
            raise LuceneSyntaxError("A NUL character is not allowed", at)
        if "\ud800" <= ch <= "\udfff":
            raise LuceneSyntaxError("Invalid character (a lone surrogate)", at)
    return _Parser(tokenize(text)).query()
