"""protocol/lucene.py: tokens, the tree it builds, precedence, and errors with their positions."""

from __future__ import annotations

import pytest

from tether.protocol.lucene import (
    MAX_DEPTH,
    MAX_LENGTH,
    BoolNode,
    ExistsNode,
    LuceneSyntaxError,
    Node,
    NotNode,
    RangeNode,
    TermNode,
    Tok,
    parse,
    tokenize,
)


def shape(node: Node) -> object:
    """The tree without positions, compact enough to write expectations by hand."""
    if isinstance(node, BoolNode):
        return (node.op, *(shape(o) for o in node.operands))
    if isinstance(node, NotNode):
        return ("NOT", shape(node.operand))
    if isinstance(node, ExistsNode):
        return ("EXISTS", node.field)
    if isinstance(node, RangeNode):
        return (
            node.field,
            ("[" if node.include_low else "{")
            + f"{node.low} TO {node.high}"
            + ("]" if node.include_high else "}"),
        )
    value = node.value + ("*" if node.prefix else "")
    return value if node.field is None else f"{node.field}={value}"


# -- terms, phrases, ranges ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('email:"a@b.c"', "email=a@b.c"),
        ("email:a@b.c", "email=a@b.c"),
        ("name:john*", "name=john*"),
        ("name : john", "name=john"),
        ("identities.connection:google-oauth2", "identities.connection=google-oauth2"),
        ("user_metadata.plan:pro", "user_metadata.plan=pro"),
        ("email.domain:example.com", "email.domain=example.com"),
        ("name:AT&T", "name=AT&T"),
        ("name:a+b", "name=a+b"),
        ("john", "john"),
        ("jo*", "jo*"),
        ('"John Smith"', "John Smith"),
        (r'name:"say \"hi\" \\ bye"', 'name=say "hi" \\ bye'),
        (r"user_id:auth0\|abc", "user_id=auth0|abc"),
        (r"last_ip:\:\:1", "last_ip=::1"),
        (r"name:a\*", "name=a*"),  # an escaped star is a literal star, not a prefix
        (r"name:\(x\)", "name=(x)"),
        ('name:"jo*"', "name=jo*"),  # no wildcards inside a phrase
        ("name:%_", "name=%_"),
        ("email:*", ("EXISTS", "email")),
        ("_exists_:email_verified", ("EXISTS", "email_verified")),
        ("_exists_:user_metadata.plan", ("EXISTS", "user_metadata.plan")),
        ("logins_count:[100 TO 200]", ("logins_count", "[100 TO 200]")),
        ("logins_count:{100 TO 200}", ("logins_count", "{100 TO 200}")),
        ("logins_count:[100 TO 200}", ("logins_count", "[100 TO 200}")),
        ("logins_count:[100 TO *]", ("logins_count", "[100 TO None]")),
        ("logins_count:[* TO 5]", ("logins_count", "[None TO 5]")),
        (
            "created_at:[2024-01-01T10:00:00Z TO 2024-02-01T00:00:00.000Z]",
            ("created_at", "[2024-01-01T10:00:00Z TO 2024-02-01T00:00:00.000Z]"),
        ),
        ('name:["a b" TO "c d"]', ("name", "[a b TO c d]")),
        ("logins_count:[ 1   TO   2 ]", ("logins_count", "[1 TO 2]")),
    ],
)
def test_clauses(q: str, expected: object) -> None:
    assert shape(parse(q)) == expected


def test_phrase_keeps_sql_and_lucene_characters_literally() -> None:
    node = parse('email:"x\' OR 1=1 --"')
    assert isinstance(node, TermNode)
    assert (node.field, node.value, node.quoted, node.prefix) == (
        "email",
        "x' OR 1=1 --",
        True,
        False,
    )
    node = parse('name:"a AND b OR (c) [d TO e] NOT f: *"')
    assert isinstance(node, TermNode) and node.value == "a AND b OR (c) [d TO e] NOT f: *"


def test_positions_point_at_each_clause() -> None:
    node = parse("name:jo*  AND  (email:x OR -blocked:true)")
    assert isinstance(node, BoolNode)
    first, group = node.operands
    assert isinstance(first, TermNode) and first.position == 0
    assert isinstance(group, BoolNode)
    email, negated = group.operands
    assert isinstance(email, TermNode) and email.position == 16
    assert isinstance(negated, NotNode) and negated.position == 27
    assert isinstance(negated.operand, TermNode) and negated.operand.position == 28


# -- boolean structure ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("a AND b", ("AND", "a", "b")),
        ("a && b", ("AND", "a", "b")),
        ("a b", ("AND", "a", "b")),  # implicit AND
        ("a OR b", ("OR", "a", "b")),
        ("a || b", ("OR", "a", "b")),
        ("NOT a", ("NOT", "a")),
        ("!a", ("NOT", "a")),
        ("-a", ("NOT", "a")),
        ("+a", "a"),
        ("a -b", ("AND", "a", ("NOT", "b"))),
        ("a +b", ("AND", "a", "b")),
        ("a NOT b", ("AND", "a", ("NOT", "b"))),
        ("NOT NOT a", ("NOT", ("NOT", "a"))),
        # precedence: NOT over AND over OR
        ("a OR b AND c", ("OR", "a", ("AND", "b", "c"))),
        ("a AND b OR c", ("OR", ("AND", "a", "b"), "c")),
        ("a b OR c", ("OR", ("AND", "a", "b"), "c")),
        ("a OR b c", ("OR", "a", ("AND", "b", "c"))),
        ("NOT a AND b", ("AND", ("NOT", "a"), "b")),
        ("NOT a OR b", ("OR", ("NOT", "a"), "b")),
        ("(a OR b) AND c", ("AND", ("OR", "a", "b"), "c")),
        ("a AND (b OR c)", ("AND", "a", ("OR", "b", "c"))),
        ("NOT (a OR b)", ("NOT", ("OR", "a", "b"))),
        ("((a))", "a"),
        ("a OR b OR c", ("OR", "a", "b", "c")),
        ("a AND b AND c", ("AND", "a", "b", "c")),
        # lower-case keywords are words, as in Lucene
        ("a and b", ("AND", "a", "and", "b")),
        ("a or b", ("AND", "a", "or", "b")),
        (r"\AND", "AND"),
        ('"NOT"', "NOT"),
        (
            "email_verified:false OR NOT _exists_:email_verified",
            ("OR", "email_verified=false", ("NOT", ("EXISTS", "email_verified"))),
        ),
        # field groups: the field applies to every bare term inside
        (
            "identities.connection:(github OR google-oauth2)",
            ("OR", "identities.connection=github", "identities.connection=google-oauth2"),
        ),
        ("name:(jo* -john)", ("AND", "name=jo*", ("NOT", "name=john"))),
        ("name:(a) b", ("AND", "name=a", "b")),
    ],
)
def test_boolean_structure(q: str, expected: object) -> None:
    assert shape(parse(q)) == expected


def test_tokens_carry_offsets() -> None:
    tokens = tokenize('name:"x y" AND logins_count:[1 TO *]')
    assert [(t.kind, t.position) for t in tokens] == [
        (Tok.TERM, 0),
        (Tok.COLON, 4),
        (Tok.PHRASE, 5),
        (Tok.AND, 11),
        (Tok.TERM, 15),
        (Tok.COLON, 27),
        (Tok.RANGE_OPEN, 28),
        (Tok.TERM, 29),
        (Tok.TO, 31),
        (Tok.STAR, 34),
        (Tok.RANGE_CLOSE, 35),
        (Tok.EOF, 36),
    ]


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "position", "words"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("name:)", 5, "Expected a value after 'name:'"),
        ("name:", 5, "Expected a value"),
        ("name:jo*hn", 7, "wildcard"),
        ("*john", 0, "leading wildcard"),
        ("name:*john", 5, "leading wildcard"),
        ("*", 0, "needs a field"),
        ("*:*", 0, "needs a field"),
        ("name:jo?n", 7, "'?'"),
        ("name:john~", 9, "Fuzzy"),
        ('name:"john smith"~2', 17, "Fuzzy"),
        ("name:john^2", 9, "Boost"),
        ("name:/jo.*/", 5, "Regular expressions"),
        ('name:"unterminated', 5, "Unterminated quoted phrase"),
        ("name:x\\", 6, "escapes nothing"),
        ("a AND", 5, "after 'AND'"),
        ("a OR", 4, "after 'OR'"),
        ("OR a", 0, "Expected a term"),
        ("AND a", 0, "Expected a term"),
        ("NOT", 3, "after 'NOT'"),
        ("a -", 3, "after '-'"),
        ("(a", 0, "Missing ')'"),
        ("((a) OR b", 0, "Missing ')'"),
        ("a)", 1, "without a matching '('"),
        ("()", 1, "Empty parentheses"),
        ("(a b c", 0, "Missing ')'"),
        (":a", 0, "field name"),
        ("a:b:c", 3, "Unexpected"),
        ("]", 0, "range start"),
        ("[1 TO 2]", 0, "needs a field"),
        ("logins_count:[1 2]", 16, "'TO'"),
        ("logins_count:[1 TO 2", 13, "Unterminated range"),
        ("logins_count:[1 TO ]", 19, "range bound"),
        ("logins_count:[1 TO 2 3]", 21, "']' or '}'"),
        ("logins_count:[1* TO 2]", 14, "Wildcards are not allowed in range"),
        ("logins_count:[[1 TO 2]", 14, "inside a range"),
        ("_exists_:", 9, "field name after '_exists_:'"),
        ('_exists_:"email"', 9, "field name"),
        ("_exists_:em*", 9, "field name"),
        ("na*:x", 0, "Invalid field name"),
        (r"n\ame:x", 0, "Invalid field name"),
        ("name:(email:x)", 6, "inside the group"),
        ("name:a\x00", 6, "NUL"),
        ('name:"\x00"', 6, "NUL"),
        ("name:\udc80x", 5, "surrogate"),
        ("name:([a TO b])", 6, "needs a field"),
    ],
)
def test_errors_say_where(q: str, position: int, words: str) -> None:
    with pytest.raises(LuceneSyntaxError) as caught:
        parse(q)
    assert caught.value.position == position, caught.value
    assert words.lower() in caught.value.detail.lower()
    assert f"column {position + 1}" in str(caught.value)


def test_length_limit() -> None:
    parse("name:" + "a" * (MAX_LENGTH - 5))
    with pytest.raises(LuceneSyntaxError, match="longer than"):
        parse("name:" + "a" * (MAX_LENGTH - 4))


def test_depth_limit_for_parentheses_and_prefix_operators() -> None:
    parse("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)
    with pytest.raises(LuceneSyntaxError, match="deeper") as caught:
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    assert caught.value.position == MAX_DEPTH
    parse("NOT " * MAX_DEPTH + "a")
    with pytest.raises(LuceneSyntaxError, match="deeper"):
        parse("NOT " * (MAX_DEPTH + 1) + "a")
    with pytest.raises(LuceneSyntaxError, match="deeper"):
        parse("-" * 200 + "a")


def test_a_long_flat_query_is_fine() -> None:
    q = " OR ".join(f"name:n{i}" for i in range(70))
    node = parse(q)
    assert isinstance(node, BoolNode) and len(node.operands) == 70


@pytest.mark.parametrize(
    "q",
    [
        'email:"x\' OR 1=1 --"',
        "name:'; DROP TABLE users; --",
        "name:%",
        "name:_",
        "\x00",
        "name:\x00",
        "\u3000a\u3000",
        "a" * 10 + "\\" * 2,
        "((((((((((",
        "))))))",
        '"""',
        "[[[[",
        "{}",
        ":::::",
        "!!!!a",
        "&&",
        "||",
        "\\",
    ],
)
def test_hostile_input_parses_or_fails_cleanly(q: str) -> None:
    try:
        parse(q)
    except LuceneSyntaxError as exc:
        assert 0 <= exc.position <= len(q)
