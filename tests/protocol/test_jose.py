"""protocol/jose.py: RS256 signing, and verification that refuses every forged token.

The forged tokens are built by hand (base64url JSON and hmac/hashlib), not by a JOSE library,
so nothing on the signing side can quietly refuse to make them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import joserfc.jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.jwk import RSAKey

from tether.protocol import jose

ISSUER = "https://id.example.test/"
AUDIENCE = "https://api.example.test/"
NOW = 1_700_000_000


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "auth0|0123456789abcdef01234567",
        "aud": AUDIENCE,
        "iat": NOW,
        "exp": NOW + 600,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def rsa_token(pem: bytes, header: dict[str, Any], body: dict[str, Any], digest: Any) -> str:
    """A JWS signed with RSASSA-PKCS1-v1_5 by hand, whatever the header claims."""
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    signing_input = f"{b64json(header)}.{b64json(body)}"
    signature = private.sign(signing_input.encode("ascii"), padding.PKCS1v15(), digest)
    return f"{signing_input}.{b64url(signature)}"


def hs256_token(secret: bytes, header: dict[str, Any], body: dict[str, Any]) -> str:
    signing_input = f"{b64json(header)}.{b64json(body)}"
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def public_pem(key: jose.PrivateKey) -> bytes:
    private = serialization.load_pem_private_key(key.pem, password=None)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def verify(token: Any, key: jose.PrivateKey, **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "now": NOW}
    options.update(kwargs)
    return jose.verify(token, [key.public_jwk()], **options)


def rejected(token: Any, key: jose.PrivateKey, **kwargs: Any) -> str:
    with pytest.raises(jose.TokenRejected) as info:
        verify(token, key, **kwargs)
    return info.value.reason


# -- signing and the happy path ------------------------------------------------------------


def test_sign_then_verify_round_trip(our_key: jose.PrivateKey) -> None:
    token = our_key.sign(claims(scope="read:things"))
    assert verify(token, our_key) == claims(scope="read:things")


def test_signed_header_names_rs256_our_kid_and_the_type(our_key: jose.PrivateKey) -> None:
    header = jose.unverified_header(our_key.sign(claims(), typ="at+jwt"))
    assert header == {"alg": "RS256", "kid": our_key.kid, "typ": "at+jwt"}


def test_a_token_signed_by_hand_with_our_key_verifies(our_key: jose.PrivateKey) -> None:
    """The hand-made signer below is a real RS256 signer, so its refusals elsewhere mean something."""
    token = rsa_token(our_key.pem, {"alg": "RS256", "kid": our_key.kid}, claims(), hashes.SHA256())
    assert verify(token, our_key)["sub"] == claims()["sub"]


def test_verify_picks_the_key_named_by_kid_among_several(
    our_key: jose.PrivateKey, other_pem: bytes
) -> None:
    other = jose.PrivateKey.from_pem("other-kid", other_pem)
    token = other.sign(claims())
    jwks = [our_key.public_jwk(), other.public_jwk()]
    assert jose.verify(token, jwks, issuer=ISSUER, audience=AUDIENCE, now=NOW)["iss"] == ISSUER


def test_audience_may_be_any_of_several_and_token_aud_may_be_a_list(
    our_key: jose.PrivateKey,
) -> None:
    token = our_key.sign(claims(aud=[AUDIENCE, ISSUER + "userinfo"]))
    assert verify(token, our_key, audience=ISSUER + "userinfo")
    assert verify(token, our_key, audience=["https://other.test/", AUDIENCE])
    assert verify(our_key.sign(claims()), our_key, audience=["x", AUDIENCE])


def test_audience_none_skips_the_audience_check(our_key: jose.PrivateKey) -> None:
    token = our_key.sign(claims(aud="https://someone-else.test/"))
    assert verify(token, our_key, audience=None)["aud"] == "https://someone-else.test/"


def test_expiry_is_inclusive_and_leeway_extends_it(our_key: jose.PrivateKey) -> None:
    token = our_key.sign(claims(exp=NOW))
    assert verify(token, our_key, now=NOW)
    assert rejected(token, our_key, now=NOW + 1) == "expired"
    assert verify(token, our_key, now=NOW + 30, leeway=30)
    assert rejected(token, our_key, now=NOW + 31, leeway=30) == "expired"


# -- forged and wrong tokens ---------------------------------------------------------------


def test_alg_none_is_rejected(our_key: jose.PrivateKey) -> None:
    for alg in ("none", "None", "NONE"):
        token = f"{b64json({'alg': alg, 'kid': our_key.kid, 'typ': 'JWT'})}.{b64json(claims())}."
        assert rejected(token, our_key) == "alg"


def test_alg_none_with_a_garbage_signature_is_rejected(our_key: jose.PrivateKey) -> None:
    token = f"{b64json({'alg': 'none', 'kid': our_key.kid})}.{b64json(claims())}.{b64url(b'x')}"
    assert rejected(token, our_key) == "alg"


def test_hs256_signed_with_our_public_pem_is_rejected(our_key: jose.PrivateKey) -> None:
    """The classic key-confusion attack: HMAC keyed with the RSA public key everyone can read."""
    pem = public_pem(our_key)
    for secret in (pem, pem.strip(), pem.decode().replace("\n", "").encode()):
        token = hs256_token(secret, {"alg": "HS256", "kid": our_key.kid, "typ": "JWT"}, claims())
        assert rejected(token, our_key) == "alg"


def test_hs256_signed_with_our_jwk_modulus_is_rejected(our_key: jose.PrivateKey) -> None:
    jwk = our_key.public_jwk()
    for secret in (jwk["n"].encode(), base64.urlsafe_b64decode(jwk["n"] + "==")):
        token = hs256_token(secret, {"alg": "HS256", "kid": our_key.kid}, claims())
        assert rejected(token, our_key) == "alg"


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "RS384", "RS512", "PS256", "ES256"])
def test_any_other_alg_is_rejected_before_the_signature_is_checked(
    our_key: jose.PrivateKey, alg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the signature was checked for a token with a foreign alg")

    monkeypatch.setattr(joserfc.jwt, "decode", must_not_run)
    monkeypatch.setattr(RSAKey, "import_key", must_not_run)
    token = hs256_token(b"whatever", {"alg": alg, "kid": our_key.kid}, claims())
    assert rejected(token, our_key) == "alg"


def test_rs512_truly_signed_by_our_key_is_still_rejected(our_key: jose.PrivateKey) -> None:
    """The algorithm comes from the key (RS256), not from the header, even for a valid signature."""
    token = rsa_token(our_key.pem, {"alg": "RS512", "kid": our_key.kid}, claims(), hashes.SHA512())
    assert rejected(token, our_key) == "alg"


def test_missing_alg_is_rejected(our_key: jose.PrivateKey) -> None:
    token = rsa_token(our_key.pem, {"kid": our_key.kid}, claims(), hashes.SHA256())
    assert rejected(token, our_key) == "alg"


def test_token_signed_by_an_unknown_key_is_rejected(
    our_key: jose.PrivateKey, other_pem: bytes
) -> None:
    stranger = jose.PrivateKey.from_pem(jose.thumbprint_kid(other_pem), other_pem)
    assert stranger.kid != our_key.kid
    assert rejected(stranger.sign(claims()), our_key) == "kid"


@pytest.mark.parametrize("kid", [None, "", 42, ["k"], {"k": 1}])
def test_token_without_a_usable_kid_is_rejected(our_key: jose.PrivateKey, kid: Any) -> None:
    header: dict[str, Any] = {"alg": "RS256"}
    if kid is not None:
        header["kid"] = kid
    token = rsa_token(our_key.pem, header, claims(), hashes.SHA256())
    assert rejected(token, our_key) == "kid"


def test_token_with_our_kid_but_signed_by_another_key_is_rejected(
    our_key: jose.PrivateKey, other_pem: bytes
) -> None:
    impostor = jose.PrivateKey.from_pem(our_key.kid, other_pem)
    assert rejected(impostor.sign(claims()), our_key) == "signature"
    by_hand = rsa_token(other_pem, {"alg": "RS256", "kid": our_key.kid}, claims(), hashes.SHA256())
    assert rejected(by_hand, our_key) == "signature"


def test_changed_payload_breaks_the_signature(our_key: jose.PrivateKey) -> None:
    head, _, signature = our_key.sign(claims()).split(".")
    forged = f"{head}.{b64json(claims(sub='auth0|admin'))}.{signature}"
    assert rejected(forged, our_key) == "signature"


def test_stripped_signature_is_rejected(our_key: jose.PrivateKey) -> None:
    head, body, _ = our_key.sign(claims()).split(".")
    assert rejected(f"{head}.{body}.", our_key) == "signature"


def test_wrong_issuer_is_rejected(our_key: jose.PrivateKey) -> None:
    for iss in ("https://evil.test/", ISSUER.rstrip("/"), ISSUER.upper(), None):
        assert rejected(our_key.sign(claims(iss=iss)), our_key) == "iss"


def test_wrong_audience_is_rejected(our_key: jose.PrivateKey) -> None:
    for aud in ("https://other.test/", ["https://other.test/"], [], None, 7):
        assert rejected(our_key.sign(claims(aud=aud)), our_key) == "aud"
    assert rejected(our_key.sign(claims()), our_key, audience=[]) == "aud"


def test_expired_token_is_rejected(our_key: jose.PrivateKey) -> None:
    token = our_key.sign(claims(iat=NOW - 3600, exp=NOW - 1))
    assert rejected(token, our_key) == "expired"


def test_token_without_numeric_exp_is_rejected_unless_allowed(our_key: jose.PrivateKey) -> None:
    no_exp = our_key.sign(claims(exp=None))
    assert rejected(no_exp, our_key) == "exp"
    assert rejected(our_key.sign(claims(exp="tomorrow")), our_key) == "exp"
    assert verify(no_exp, our_key, require_exp=False)["sub"]


def test_token_not_yet_valid_is_rejected(our_key: jose.PrivateKey) -> None:
    token = our_key.sign(claims(nbf=NOW + 60))
    assert rejected(token, our_key) == "nbf"
    assert verify(token, our_key, leeway=60)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "...",
        "!!!.e30.sig",
        f"{b64url(b'not json')}.e30.sig",
        f"{b64url(bytes([0xFF, 0xFE]))}.e30.sig",
        f"{b64json([1, 2])}.e30.sig",
        f"{b64json('RS256')}.e30.sig",
        f"{b64json(None)}.e30.sig",
    ],
)
def test_malformed_strings_are_rejected(our_key: jose.PrivateKey, token: str) -> None:
    assert rejected(token, our_key) == "malformed"


@pytest.mark.parametrize("token", [None, 12, b"a.b.c", ["a", "b", "c"]])
def test_non_strings_are_rejected(our_key: jose.PrivateKey, token: Any) -> None:
    assert rejected(token, our_key) == "malformed"


@pytest.mark.parametrize("payload", ["!!!", "", b64url(b"not json"), b64json([]), b64json("x")])
def test_well_headed_token_with_a_broken_payload_is_rejected(
    our_key: jose.PrivateKey, payload: str
) -> None:
    token = f"{b64json({'alg': 'RS256', 'kid': our_key.kid})}.{payload}.c2ln"
    with pytest.raises(jose.TokenRejected):
        verify(token, our_key)


@pytest.mark.parametrize("body", [b"[]", b'"claims"', b"null", b"not json"])
def test_payload_that_is_not_an_object_is_rejected_even_when_signed(
    our_key: jose.PrivateKey, body: bytes
) -> None:
    private = serialization.load_pem_private_key(our_key.pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    signing_input = f"{b64json({'alg': 'RS256', 'kid': our_key.kid})}.{b64url(body)}"
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(jose.TokenRejected):
        verify(f"{signing_input}.{b64url(signature)}", our_key)


def test_unverified_header_rejects_garbage() -> None:
    with pytest.raises(jose.TokenRejected) as info:
        jose.unverified_header("%%%")
    assert info.value.reason == "malformed"


# -- keys ----------------------------------------------------------------------------------


def test_public_jwk_has_no_private_members(our_key: jose.PrivateKey) -> None:
    jwk = our_key.public_jwk()
    assert set(jwk) == {"kty", "use", "alg", "kid", "n", "e"}
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["use"] == "sig"
    assert jwk["kid"] == our_key.kid
    assert jose.public_jwk_from_pem(our_key.kid, our_key.pem) == jwk


def test_generated_key_is_2048_bit_pkcs8(our_key: jose.PrivateKey) -> None:
    assert our_key.pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    private = serialization.load_pem_private_key(our_key.pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == jose.KEY_BITS == 2048


def test_thumbprint_kid_is_stable_and_differs_per_key(
    our_key: jose.PrivateKey, other_pem: bytes
) -> None:
    assert jose.thumbprint_kid(our_key.pem) == jose.thumbprint_kid(our_key.pem) == our_key.kid
    assert jose.thumbprint_kid(other_pem) != our_key.kid
    # RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
    jwk = our_key.public_jwk()
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    assert our_key.kid == b64url(hashlib.sha256(canonical.encode()).digest())


def test_private_key_repr_does_not_show_the_private_key(our_key: jose.PrivateKey) -> None:
    """A key that ends up in a log line or a traceback must not print its secret half."""
    text = repr(our_key)
    assert our_key.kid in text
    assert "PRIVATE KEY" not in text
    assert our_key.pem.decode().splitlines()[1] not in text


def test_at_hash_is_the_left_half_of_sha256() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
    digest = hashlib.sha256(token.encode()).digest()
    assert jose.at_hash(token) == b64url(digest[:16])
    assert len(jose.at_hash(token)) == 22


def test_a_signed_token_is_the_jws_joserfc_would_make_and_verifies_there(
    tmp_path: Any,
) -> None:
    """PrivateKey.sign builds the compact JWS itself (issue 13): the same header, the same
    claims, a signature joserfc accepts, and RS256 is deterministic, so the bytes match too."""
    pem = jose.generate_private_pem()
    key = jose.PrivateKey.from_pem("kid-1", pem)
    body = claims(scope="read:users é", nested={"a": [1, 2]})
    token = key.sign(body, typ="at+jwt")
    lib_key = RSAKey.import_key(pem)
    expected = joserfc.jwt.encode(
        {"alg": "RS256", "kid": "kid-1", "typ": "at+jwt"}, dict(body), lib_key
    )
    assert token == expected
    decoded = joserfc.jwt.decode(token, lib_key, algorithms=["RS256"])
    assert decoded.header == {"alg": "RS256", "kid": "kid-1", "typ": "at+jwt"}
    assert decoded.claims == body


def test_datetime_dates_are_signed_as_numeric_dates() -> None:
    import datetime

    key = jose.PrivateKey.from_pem("kid-1", jose.generate_private_pem())
    at = datetime.datetime.fromtimestamp(NOW, datetime.UTC)
    token = key.sign({"iss": ISSUER, "iat": at, "exp": at + datetime.timedelta(seconds=60)})
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload == {"iss": ISSUER, "iat": NOW, "exp": NOW + 60}
