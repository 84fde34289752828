"""AFAS-style validation messages in English (default) and Dutch (``Accept-Language: nl-*``).

Only "The entered value for '…' does not exist." is quoted from AFAS (afas-rest-api.md
section 11f); the other texts follow its style.
"""

from __future__ import annotations

from typing import Any

_MESSAGES: dict[str, tuple[str, str]] = {
    "mandatory": (
        "Field '{label}' ({field}) in '{object}' is mandatory.",
        "Veld '{label}' ({field}) in '{object}' is verplicht.",
    ),
    "unknown_field": (
        "Field '{field}' does not exist in '{object}'.",
        "Veld '{field}' bestaat niet in '{object}'.",
    ),
    "unknown_object": (
        "Object '{name}' does not exist in '{object}'.",
        "Object '{name}' bestaat niet in '{object}'.",
    ),
    "wrong_root": (
        "The request does not contain the object '{expected}' (found: {found}).",
        "Het verzoek bevat het object '{expected}' niet (gevonden: {found}).",
    ),
    "no_element": (
        "The object '{object}' contains no Element.",
        "Het object '{object}' bevat geen Element.",
    ),
    "bad_type": (
        "The value '{value}' is not a valid {kind} for field '{label}' ({field}) in '{object}'.",
        "De waarde '{value}' is geen geldige {kind} voor veld '{label}' ({field}) in '{object}'.",
    ),
    "too_long": (
        "The value for field '{label}' ({field}) in '{object}' is longer than {length} characters.",
        "De waarde voor veld '{label}' ({field}) in '{object}' is langer dan {length} tekens.",
    ),
    "too_many_digits": (
        "The value '{value}' does not fit field '{label}' ({field}) in '{object}': "
        "at most {digits} digits before the decimal point.",
        "De waarde '{value}' past niet in veld '{label}' ({field}) in '{object}': "
        "maximaal {digits} cijfers voor de komma.",
    ),
    "too_many_places": (
        "The value '{value}' has more than {decimals} decimals for field '{label}' ({field}) "
        "in '{object}'.",
        "De waarde '{value}' heeft meer dan {decimals} decimalen voor veld '{label}' ({field}) "
        "in '{object}'.",
    ),
    "not_exist": (
        "The entered value for '{label}' does not exist.",
        "De ingevoerde waarde voor '{label}' bestaat niet.",
    ),
    "not_zero": (
        "Field '{label}' ({field}) in '{object}' may not be zero.",
        "Veld '{label}' ({field}) in '{object}' mag niet nul zijn.",
    ),
    "record_missing": (
        "The record '{key}' in '{object}' does not exist.",
        "Het record '{key}' in '{object}' bestaat niet.",
    ),
    "record_exists": (
        "The record '{key}' in '{object}' already exists.",
        "Het record '{key}' in '{object}' bestaat al.",
    ),
    "key_required": (
        "The key field '{field}' of '{object}' is required for this action.",
        "Het sleutelveld '{field}' van '{object}' is verplicht voor deze actie.",
    ),
    "multiple_matches": (
        "More than one record in '{object}' matches on {match}.",
        "Er is meer dan één record in '{object}' gevonden op basis van {match}.",
    ),
    "unbalanced": (
        "The entry is not balanced (debit {debit}, credit {credit}).",
        "De boeking is niet in balans (debet {debit}, credit {credit}).",
    ),
    "bad_action": (
        "The action '{action}' is not valid in '{object}'.",
        "De actie '{action}' is niet geldig in '{object}'.",
    ),
    "unsupported_match": (
        "Matching on '{match}' is not supported by the sandbox.",
        "Vergelijken op '{match}' wordt niet ondersteund door de sandbox.",
    ),
    "verb_not_supported": (
        "General message: This UpdateConnector is not supported for {verb}.",
        "Algemene melding: Deze UpdateConnector wordt niet ondersteund voor {verb}.",
    ),
}


def message(message_key: str, language: str, /, **values: Any) -> str:
    """The message ``message_key`` in ``language`` ("en" or "nl") with ``values`` filled in."""
    english, dutch = _MESSAGES[message_key]
    return (dutch if language == "nl" else english).format(**values)


def language_of(accept_language: str | None) -> str:
    return "nl" if (accept_language or "").strip().lower().startswith("nl") else "en"
