"""Short, human labels for the taxonomy's category codes and the stages (for digests)."""

from __future__ import annotations

CATEGORY_LABELS: dict[str, str] = {
    "sanctuary_declaration": "Sanctuary declaration",
    "detainers_warrants": "Detainers and warrants",
    "federal_enforcement_partnerships": "Federal enforcement partnerships (287(g), task forces)",
    "ice_access_property": "ICE access to city property",
    "detention_contracts": "Detention contracts",
    "data_privacy_status": "Immigration status and data sharing",
    "surveillance_technology": "Surveillance technology",
    "gang_databases": "Gang databases",
    "municipal_id_services": "Municipal ID and services",
    "legal_defense": "Legal defense",
    "welcoming_language_access": "Welcoming and language access",
    "decriminalization_bail": "Decriminalization and bail",
    "police_in_schools": "Police in schools",
    "police_accountability": "Police accountability",
    "divest_reinvest": "Divest / reinvest",
    "state_federal_advocacy": "State and federal advocacy",
}

DIRECTION_LABELS: dict[str, str] = {
    "expands": "expands sanctuary",
    "restricts": "restricts sanctuary",
    "neutral": "neutral",
}

STAGE_LABELS: dict[str, str] = {
    "introduced": "introduced",
    "in_committee": "in committee",
    "passed": "passed",
    "enacted": "enacted",
    "vetoed": "vetoed",
    "failed": "failed",
    "withdrawn": "withdrawn",
    "filed": "filed",
    "other": "other",
}


def category_label(code: str) -> str:
    return CATEGORY_LABELS.get(code, code.replace("_", " "))


def direction_label(direction: str | None) -> str:
    return DIRECTION_LABELS.get(direction or "", "direction unknown")


def stage_label(stage: str | None) -> str:
    return STAGE_LABELS.get(stage or "", stage or "unknown")
