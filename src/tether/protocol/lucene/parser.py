"""The recursive-descent parser over ``tokenize`` (the grammar is in the package's docstring)."""

from __future__ import annotations

from tether.protocol.lucene.lexer import Tok, Token, tokenize
from tether.protocol.lucene.tree import (
    EXISTS_FIELD,
    MAX_DEPTH,
    MAX_LENGTH,
    BoolNode,
    ExistsNode,
    LuceneSyntaxError,
    Node,
    NotNode,
    RangeNode,
    TermNode,
)

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
