"""Plausible Polish contact data from a seeded ``random.Random``.

Values are written the way people type them into a CRM (mixed phone layouts, stray spaces
and capitals in e-mails) so the normaliser has real work; every valid value still normalises
without loss to one canonical form.
"""

from __future__ import annotations

import random
import unicodedata

FIRST_NAMES = (
    "Anna", "Maria", "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Ewa", "Zofia", "Joanna", "Magdalena",
    "Jan", "Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Łukasz", "Grzegorz", "Jakub",
)  # fmt: skip
LAST_NAMES = (
    "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
    "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk",
    "Piotrowski", "Grabowski", "Nowakowski", "Pawłowski", "Michalski", "Król", "Wieczorek", "Jabłoński",
)  # fmt: skip
CITIES = (
    "Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin", "Bydgoszcz", "Lublin",
    "Białystok", "Katowice", "Gdynia", "Częstochowa", "Radom", "Toruń", "Rzeszów",
)  # fmt: skip
STREETS = (
    "Marszałkowska", "Piotrkowska", "Długa", "Polna", "Leśna", "Słoneczna", "Krótka", "Szkolna", "Ogrodowa",
    "Lipowa", "Brzozowa", "Kościuszki", "Mickiewicza", "Sienkiewicza", "Kwiatowa", "3 Maja",
)  # fmt: skip
DOMAINS = ("gmail.com", "wp.pl", "onet.pl", "o2.pl", "interia.pl", "example.pl")
COMPANY_KINDS = ("Hurtownia", "Usługi", "Transport", "Piekarnia", "Serwis", "Biuro Rachunkowe", "Apteka")
COMPANY_FORMS = ("Sp. z o.o.", "S.A.", "s.c.", "sp.j.", "")
SEGMENTS = ("vip", "standard", "standard", "new", None)
MOBILE_PREFIXES = ("50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88")
AREA_CODES = ("12", "22", "42", "58", "61", "71", "81", "85", "91")
NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)


def ascii_fold(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def street(rng: random.Random) -> str:
    number = f"{rng.randint(1, 150)}"
    if rng.random() < 0.4:
        number += f"/{rng.randint(1, 40)}"
    return f"ul. {rng.choice(STREETS)} {number}"


def mobile_digits(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"


def phone(rng: random.Random, digits: str | None = None) -> str:
    """One valid Polish number in one of the layouts people type; 9 digits after dropping +48/0048."""
    layout = rng.randrange(5)
    if layout == 2:
        area, rest = rng.choice(AREA_CODES), f"{rng.randrange(10**7):07d}"
        return f"({area}) {rest[:3]} {rest[3:5]} {rest[5:]}"
    d = digits or mobile_digits(rng)
    return (
        f"+48 {d[:3]} {d[3:6]} {d[6:]}",
        f"{d[:3]}-{d[3:6]}-{d[6:]}",
        "",
        f"0048{d}",
        d,
    )[layout]


def email(rng: random.Random, local: str, domain: str | None = None) -> str:
    """A valid address in mixed case, sometimes with spaces around it."""
    address = f"{ascii_fold(local)}@{domain or rng.choice(DOMAINS)}"
    address = "".join(c.upper() if rng.random() < 0.3 else c for c in address)
    pad = rng.choice(("", "", " ", "  "))
    return f"{pad}{address}{rng.choice(('', ' '))}"


def nip(rng: random.Random) -> str:
    """A ten-digit NIP with a valid check digit."""
    while True:
        body = [rng.randint(1, 9), *(rng.randint(0, 9) for _ in range(8))]
        check = sum(w * d for w, d in zip(NIP_WEIGHTS, body, strict=True)) % 11
        if check < 10:
            return "".join(map(str, body)) + str(check)
