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

from tether.protocol.lucene.lexer import Tok, Token, tokenize
from tether.protocol.lucene.parser import parse
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

__all__ = [
    "EXISTS_FIELD",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "BoolNode",
    "ExistsNode",
    "LuceneSyntaxError",
    "Node",
    "NotNode",
    "RangeNode",
    "TermNode",
    "Tok",
    "Token",
    "parse",
    "tokenize",
]
