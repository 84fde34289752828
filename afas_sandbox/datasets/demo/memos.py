"""Long texts of the demo data: dossier item explanations and contact remarks, in Dutch.

Profit's memo fields ("Toelichting", "Opmerking") hold what users type in the Windows client:
several lines separated by CR LF, blank lines, lists, quotes, euro amounts, accented letters and
the odd network path with backslashes. Each text is drawn from its own ``random.Random``, so
adding them leaves every other generated value as it was.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

LINE_BREAK = "\r\n"  # Profit stores memo lines Windows-style

_NAMES = (
    "Anouk de Vries", "Bram Jansen", "Chantal van den Berg", "Daan Bakker", "Eline Visser",
    "Femke Smit", "Gijs Meijer", "Hanneke de Boer", "Inge Mulder", "Joost de Groot",
    "Karin Bos", "Lars Vos", "Marloes Peters", "Niels Hendriks", "Özlem Yılmaz",  # noqa: RUF001
    "Pieter van Dijk", "Renée Dekker", "Sander Brouwer", "Thijs de Wit", "Zoë Dijkstra",
)  # fmt: skip
_SENTENCES = (
    "Klant geeft aan dat de levering van vorige week niet compleet was.",
    "De factuur is volgens de klant op 3 maart betaald; de betaling is nog niet teruggevonden.",
    "Mevrouw is geïnteresseerd in uitbreiding van het servicecontract naar 24/7-ondersteuning.",
    "Het adres is gewijzigd per 1 januari; de nieuwe gegevens zijn in Profit verwerkt.",
    "Prijsafspraken voor volgend jaar besproken: een indexatie van 3,5% is akkoord.",
    "De projectplanning loopt twee weken uit door ziekte bij de leverancier.",
    "Meneer vraagt of de btw-aangifte over het vierde kwartaal al is ingediend.",
    "Er is een klacht binnengekomen over de communicatie rond de storing van dinsdag.",
    'Offerte "Renovatie kantoor Utrecht" nogmaals toegelicht; besluit volgt na het MT-overleg.',
    "Opzegging ontvangen per aangetekende brief; de opzegtermijn loopt tot het einde van het "
    "kwartaal.",
    "Onboarding van de nieuwe collega's is goed verlopen, alleen de laptops waren te laat.",
    "Het jaargesprek is op verzoek van de leidinggevende verplaatst naar 's middags.",
    "Stukken staan op K:\\Projecten\\Demo\\2026\\Contracten (map 'Getekend').",
    "De coördinator is tot en met vrijdag afwezig; vragen graag via het algemene nummer.",
    "Creditnota van € 1.250,00 is akkoord; verrekenen met de volgende factuur.",
)
_ACTIONS = (
    "offerte vóór vrijdag opsturen",
    "contract ter ondertekening mailen",
    "factuur crediteren en opnieuw versturen",
    "afspraak inplannen met de projectleider",
    "btw-nummer controleren in het KvK-register",
    "nieuwe leveringsdatum doorgeven aan de klant",
    "afstemmen met de afdeling Inkoop",
    "€ 250,00 korting verwerken op de eerstvolgende factuur",
    "terugbellen na het overleg van maandag",
)
_CONTRACT_TERMS = ("12 maanden", "24 maanden", "36 maanden", "onbepaalde tijd")


def _lines(*lines: str) -> str:
    return LINE_BREAK.join(lines)


def _sentences(rng: random.Random, low: int, high: int) -> list[str]:
    return rng.sample(_SENTENCES, rng.randint(low, high))


def _actions(rng: random.Random, numbered: bool) -> list[str]:
    chosen = rng.sample(_ACTIONS, rng.randint(1, 3))
    return [f"{i}. {a}" if numbered else f"- {a}" for i, a in enumerate(chosen, start=1)]


def _money(rng: random.Random) -> str:
    cents = rng.randrange(25_000, 2_500_000, 5)
    euros = f"{cents // 100:,}".replace(",", ".")
    return f"€ {euros},{cents % 100:02d}"


def subject_memo(seed_text: str, type_id: int, day: date) -> str:
    """The explanation ("Toelichting") of a dossier item of type ``type_id`` dated ``day``."""
    rng = random.Random(f"subject-memo/{seed_text}")
    name = rng.choice(_NAMES)
    when = (day + timedelta(days=rng.randint(2, 14))).strftime("%d-%m-%Y")
    body = _sentences(rng, 1, 3)
    if type_id == 2:  # phone note
        return _lines(
            f"Gebeld met {name} om {rng.randint(8, 17):02d}:{rng.randrange(0, 60, 5):02d}.",
            *body,
            "",
            "Afspraken:",
            *_actions(rng, numbered=False),
            "",
            f"Terugbellen vóór {when}.",
        )
    if type_id == 3:  # letter
        return _lines(
            f"Geachte heer/mevrouw {name.split()[-1]},",
            "",
            f"Naar aanleiding van ons gesprek van {day.strftime('%d-%m-%Y')} bevestigen wij:",
            *body,
            "",
            "Hoogachtend,",
            rng.choice(_NAMES),
        )
    if type_id == 4:  # e-mail
        return _lines(
            f"Beste {name.split()[0]},",
            "",
            *body,
            "",
            "Met vriendelijke groet,",
            "",
            rng.choice(_NAMES),
            "Demo Holding B.V.",
        )
    if type_id == 5:  # contract
        return _lines(
            f"Contractgegevens {day.year}",
            f"Ingangsdatum:\t{day.strftime('%d-%m-%Y')}",
            f"Looptijd:\t{rng.choice(_CONTRACT_TERMS)}, stilzwijgend verlengd",
            f"Bedrag:\t{_money(rng)} per maand (excl. btw)",
            "",
            "Opmerkingen:",
            *body,
        )
    if type_id == 6:  # absence report
        return _lines(
            f"Ziekmelding ontvangen op {day.strftime('%d-%m-%Y')}.",
            "Verwachte duur: onbekend.",
            f"Bedrijfsarts ingeschakeld: {rng.choice(('ja', 'nee'))}",
            "",
            "Notitie leidinggevende:",
            *body[:1],
        )
    return _lines(*body, "", "Actiepunten:", *_actions(rng, numbered=True))


def contact_remark(rng: random.Random) -> str:
    """A remark ("Opmerking") on a contact person."""
    name = rng.choice(_NAMES)
    return _lines(
        rng.choice(
            (
                "Bij voorkeur bellen tussen 9:00 en 12:00.",
                "Werkt op maandag en vrijdag thuis.",
                "Vervangt tijdelijk de vaste contactpersoon.",
                "Ontvangt facturen graag als pdf per e-mail.",
            )
        ),
        f"Assistent: {name}",
        "",
        *_sentences(rng, 1, 2),
    )
