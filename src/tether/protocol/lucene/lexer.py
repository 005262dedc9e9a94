"""The tokenizer: Lucene's terms, phrases, operators and ranges, each token with its offset."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tether.protocol.lucene.tree import LuceneSyntaxError

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
