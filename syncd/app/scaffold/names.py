"""Which source column names mean what: the naming rules ``syncd init`` proposes a mapping by.

Names are compared in a plain form — lower case, Polish letters without their marks, no separators — so
``Data_Modyfikacji``, ``data-modyfikacji`` and ``datamodyfikacji`` are one name, and ``imię`` is ``imie``.
English and Polish spellings sit side by side; a name that is not listed proposes nothing, because a wrong
guess costs more (Thulium fills with the wrong data) than a line the user adds.
"""

from __future__ import annotations

import re
import unicodedata

# Letters NFKD does not take apart into a base letter and a mark.
_UNMARKED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "ß": "ss"})
_SEPARATORS = re.compile(r"[^a-z0-9]")


def plain(name: str) -> str:
    """``Data_Modyfikacji`` → ``datamodyfikacji``, ``imię`` → ``imie``, ``ulica`` → ``ulica``."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_UNMARKED))
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SEPARATORS.sub("", letters.lower())


def _plain_all(*names: str) -> frozenset[str]:
    return frozenset(plain(name) for name in names)


# Thulium field → the column names that mean it, in either language. A column mapped to one field is not
# offered to another, so the order of this table is the order of preference.
_ADDRESS = {
    "address.street": _plain_all("street", "street_name", "address_street", "ulica", "adres_ulica"),
    "address.building": _plain_all(
        "building", "building_number", "house_number", "house_no", "nr_domu", "numer_domu", "budynek"
    ),
    "address.flat": _plain_all(
        "flat",
        "flat_number",
        "apartment",
        "apartment_number",
        "nr_mieszkania",
        "numer_mieszkania",
        "mieszkanie",
        "lokal",
        "nr_lokalu",
    ),
    "address.postcode": _plain_all(
        "postcode", "post_code", "postal_code", "zip", "zip_code", "zipcode", "kod_pocztowy"
    ),
    "address.city": _plain_all("city", "town", "address_city", "miasto", "miejscowosc", "miejscowość"),
    "address.country": _plain_all("country", "kraj", "panstwo", "państwo"),
}
_SHARED = {
    "nip": _plain_all("nip", "vat_id", "vat_number", "tax_id", "tax_number", "numer_nip"),
    "email": _plain_all("email", "e_mail", "mail", "email_address", "adres_email", "adres_e_mail", "poczta"),
    "phone_number": _plain_all(
        "phone",
        "phone_number",
        "phone_no",
        "telephone",
        "tel",
        "mobile",
        "mobile_phone",
        "cell_phone",
        "telefon",
        "nr_telefonu",
        "numer_telefonu",
        "telefon_komorkowy",
        "komorka",
        "komórka",
    ),
    "note": _plain_all("note", "notes", "comment", "comments", "uwagi", "notatka", "notatki", "komentarz"),
    "account_manager": _plain_all("account_manager", "opiekun", "opiekun_klienta"),
    "vip": _plain_all("vip", "is_vip", "czy_vip"),
}
CUSTOMER_SYNONYMS: dict[str, frozenset[str]] = {
    "name": _plain_all("first_name", "firstname", "given_name", "forename", "name", "imie", "imię"),
    "surname": _plain_all("last_name", "lastname", "surname", "family_name", "nazwisko"),
    **_SHARED,
    "pesel": _plain_all("pesel", "nr_pesel", "numer_pesel"),
    "birthdate": _plain_all(
        "birthdate", "birth_date", "date_of_birth", "dob", "birthday", "data_urodzenia", "urodzony"
    ),
    "gender": _plain_all("gender", "sex", "plec", "płeć"),
    "homepage": _plain_all("homepage", "website", "www", "strona", "strona_www"),
    "job_title": _plain_all("job_title", "position", "stanowisko"),
    "job": _plain_all("job", "occupation", "profession", "zawod", "zawód"),
    **_ADDRESS,
}
COMPANY_SYNONYMS: dict[str, frozenset[str]] = {
    "name": _plain_all(
        "name", "company_name", "company", "nazwa", "nazwa_firmy", "firma", "nazwa_pelna", "pelna_nazwa"
    ),
    **_SHARED,
    **_ADDRESS,
}

KEY_NAMES = _plain_all("id", "uuid", "guid", "key", "klucz", "identyfikator")
UPDATED_NAMES = _plain_all(
    "updated_at",
    "updated",
    "updated_on",
    "update_time",
    "last_update",
    "last_updated",
    "modified",
    "modified_at",
    "modified_on",
    "last_modified",
    "date_modified",
    "changed_at",
    "changed",
    "mtime",
    "ts",
    "row_version_time",
    "zmodyfikowano",
    "zmodyfikowany",
    "data_modyfikacji",
    "data_zmiany",
    "zmieniono",
    "data_aktualizacji",
    "zaktualizowano",
    "aktualizacja",
    "ostatnia_zmiana",
    "ostatnia_modyfikacja",
    "czas_modyfikacji",
)
DELETED_NAMES = _plain_all(
    "deleted",
    "is_deleted",
    "isdeleted",
    "deleted_flag",
    "removed",
    "is_removed",
    "deleted_at",
    "removed_at",
    "usuniety",
    "usunięty",
    "usunieto",
    "czy_usuniety",
    "skasowany",
    "data_usuniecia",
    "usuniety_at",
)
COMPANY_KEY_NAMES = _plain_all(
    "company_id",
    "companyid",
    "company",
    "company_key",
    "firma_id",
    "id_firmy",
    "firma",
    "idfirmy",
    "kontrahent_id",
    "id_kontrahenta",
    "organization_id",
    "organisation_id",
)


def field_for(column: str, synonyms: dict[str, frozenset[str]]) -> str | None:
    """The Thulium field ``column`` is named for, by ``synonyms`` (customers' or companies')."""
    name = plain(column)
    return next((target for target, names in synonyms.items() if name in names), None)


def is_key_name(column: str, table: str | None) -> bool:
    """``id``, ``uuid``, … or the table's own ``<table>_id`` / ``id_<table>`` (``klient_id`` of ``klienci``
    is not recognised: Polish plurals are not guessed)."""
    name = plain(column)
    if name in KEY_NAMES:
        return True
    if table is None:
        return False
    own = plain(table.rpartition(".")[2])
    return name in {f"{own}id", f"id{own}", f"{own.removesuffix('s')}id"}


def is_updated_name(column: str) -> bool:
    return plain(column) in UPDATED_NAMES


def is_deleted_name(column: str) -> bool:
    return plain(column) in DELETED_NAMES


def is_company_key_name(column: str, companies_table: str | None) -> bool:
    name = plain(column)
    if name in COMPANY_KEY_NAMES:
        return True
    if companies_table is None:
        return False
    own = plain(companies_table.rpartition(".")[2])
    return name in {f"{own}id", f"id{own}", f"{own.removesuffix('s')}id", f"{own.removesuffix('ies')}yid"}
