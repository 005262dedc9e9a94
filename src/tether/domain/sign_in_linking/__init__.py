"""Linking at sign-in (issue 16, part 2): ``offers`` finds what to offer, ``service`` acts on
the person's answer. The rules are ``service``'s docstring."""

from tether.domain.sign_in_linking.offers import (
    FLAG_EVENT,
    FRESH_WINDOW,
    OFF,
    PROMPT,
    Offer,
    SignInOffers,
    mode,
)
from tether.domain.sign_in_linking.service import LINK_PROOF, METHOD, SignInLinking

__all__ = [
    "FLAG_EVENT",
    "FRESH_WINDOW",
    "LINK_PROOF",
    "METHOD",
    "OFF",
    "PROMPT",
    "Offer",
    "SignInLinking",
    "SignInOffers",
    "mode",
]
