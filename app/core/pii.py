"""Validation and normal forms of the personal identifiers the domains store encrypted:
mainland China mobile numbers and resident identity card numbers (GB 11643-1999).

Each function returns the normal form (what is sealed and blind-indexed, so that equal
numbers written differently still find each other) or raises ``ValueError`` with a message
fit for a field error.
"""

from __future__ import annotations

import re
from datetime import date

import phonenumbers

from app.core import clock

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-().]")


def normalise_mobile(raw: str) -> str:
    """``+86 138-1234-5678`` → ``13812345678``: a mainland China mobile number."""
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("0086"):
        text = "+86" + text[4:]
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    national = str(parsed.national_number)
    # The 1[3-9]xxxxxxxxx rule, not the library's list of assigned blocks: new blocks open
    # every year, and a number the API documents as well formed must not be refused.
    if parsed.country_code != 86 or not _MOBILE.match(national):
        raise ValueError("must be a mainland China mobile number: 11 digits starting 13-19, optionally +86")
    return national


# The provinces, municipalities and regions that open a resident ID number (GB/T 2260).
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82",
})
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID = re.compile(r"^\d{17}[\dX]$")


def id_check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str) -> str:
    """An 18-character resident ID number, upper-case ``X``; region, birth date and the
    check character are verified."""
    text = raw.strip().upper()
    if len(text) != 18:
        raise ValueError("must be 18 characters")
    if not _ID.match(text):
        raise ValueError("must be 17 digits and a check digit or X")
    if text[:2] not in _PROVINCES or text[2:6] == "0000":
        raise ValueError("the region code is not a region of China")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise ValueError("the birth date is not a date") from None
    if born.year < 1900 or born > clock.utcnow().date():
        raise ValueError("the birth date is out of range")
    if id_check_character(text[:17]) != text[17]:
        raise ValueError("the check character does not match (ISO 7064 MOD 11-2)")
    return text
