"""Every message the sandbox gives, in Dutch and in English.

AFAS answers in the environment's language unless ``Accept-Language`` asks for another (notes
section 2); the sandbox's environment is Dutch unless the ``language`` quirk says ``en``
(quirks.py). ``language_of`` picks ``nl`` or ``en`` from the header. Quoted from AFAS: "The
entered value for '…' does not exist.", "An unexpected error has occurred.", "Connector field
'…' not found", "… not supported for this app or the user is not authorized" and the Dutch
"Algemene melding: Deze UpdateConnector wordt niet ondersteund of de gebruiker is niet
geautoriseerd." (afas-rest-api.md sections 7 and 11f); the other texts follow their style.
Not translated, as they do not come from Profit: IIS's 404 page, the 503 maintenance body and
the web framework's ``{"message": "Invalid json"}``.
"""

from __future__ import annotations

import re
from typing import Any

LANGUAGES = ("nl", "en")
_FIELD_NOT_FOUND_EN = re.compile(r"Connector field '(?P<field>.*)' not found")

_MESSAGES: dict[str, tuple[str, str]] = {
    "unexpected": (
        "An unexpected error has occurred.",
        "Er is een onverwachte fout opgetreden.",
    ),
    "field_not_found": (
        "Connector field '{field}' not found",
        "Connectorveld '{field}' niet gevonden",
    ),
    "not_authorized": (
        "{kind} not supported for this app or the user is not authorized",
        "Algemene melding: Deze {kind} wordt niet ondersteund of de gebruiker is niet "
        "geautoriseerd.",
    ),
    "plain_text_token": (
        "The token must be sent Base64-encoded.",
        "Het token moet Base64-gecodeerd worden verstuurd.",
    ),
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


MESSAGE_KEYS = tuple(_MESSAGES)


def template(message_key: str, language: str) -> str:
    """The text of ``message_key`` in ``language`` ("nl" or "en"), ``{placeholders}`` unfilled."""
    english, dutch = _MESSAGES[message_key]
    return english if language == "en" else dutch


def message(message_key: str, language: str, /, **values: Any) -> str:
    """The message ``message_key`` in ``language`` ("nl" or "en") with ``values`` filled in."""
    return template(message_key, language).format(**values)


def translated(english_text: str, language: str) -> str:
    """A message that was written in English (query.py's 500 texts) in ``language``."""
    if language == "en":
        return english_text
    if english_text == _MESSAGES["unexpected"][0]:
        return message("unexpected", language)
    found = _FIELD_NOT_FOUND_EN.fullmatch(english_text)
    if found is not None:
        return message("field_not_found", language, field=found.group("field"))
    return english_text


def language_of(accept_language: str | None, default: str) -> str:
    """``nl`` or ``en``: the first of those an ``Accept-Language`` header names, else ``default``.

    AFAS knows nl-nl, nl-be, fr-fr, de-de and en-us; the sandbox has texts in Dutch and English
    only, so French and German get the environment's language.
    """
    for part in (accept_language or "").split(","):
        primary = part.split(";")[0].strip().lower().split("-")[0]
        if primary in LANGUAGES:
            return primary
    return default
