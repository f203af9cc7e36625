"""A small dictionary of adverse-event terms: MedDRA preferred term -> system organ class.

Used to code simulated AEs (AEDECOD, AEBODSYS). Terms a protocol's published
results name but this table lacks are coded to "General disorders and
administration site conditions" so that nothing is left blank. The generic
background terms fill the incidence of "any AE" that the named terms leave.
"""

from __future__ import annotations

from types import MappingProxyType

SOC = MappingProxyType({
    "Neutropenia": "Blood and lymphatic system disorders",
    "Febrile neutropenia": "Blood and lymphatic system disorders",
    "Anaemia": "Blood and lymphatic system disorders",
    "Anemia": "Blood and lymphatic system disorders",
    "Thrombocytopenia": "Blood and lymphatic system disorders",
    "Leukopenia": "Blood and lymphatic system disorders",
    "Lymphopenia": "Blood and lymphatic system disorders",
    "Fatigue": "General disorders and administration site conditions",
    "Asthenia": "General disorders and administration site conditions",
    "Pyrexia": "General disorders and administration site conditions",
    "Diarrhoea": "Gastrointestinal disorders",
    "Diarrhea": "Gastrointestinal disorders",
    "Nausea": "Gastrointestinal disorders",
    "Vomiting": "Gastrointestinal disorders",
    "Stomatitis": "Gastrointestinal disorders",
    "Constipation": "Gastrointestinal disorders",
    "Arthralgia": "Musculoskeletal and connective tissue disorders",
    "Back pain": "Musculoskeletal and connective tissue disorders",
    "Headache": "Nervous system disorders",
    "Hot flush": "Vascular disorders",
    "Hypertension": "Vascular disorders",
    "Alopecia": "Skin and subcutaneous tissue disorders",
    "Rash": "Skin and subcutaneous tissue disorders",
    "Cough": "Respiratory, thoracic and mediastinal disorders",
    "Dyspnoea": "Respiratory, thoracic and mediastinal disorders",
    "Alanine aminotransferase increased": "Investigations",
    "Ejection fraction decreased": "Investigations",
    "Upper respiratory tract infection": "Infections and infestations",
    "Urinary tract infection": "Infections and infestations",
    "Infusion related reaction": "Injury, poisoning and procedural complications",
})

DEFAULT_SOC = "General disorders and administration site conditions"

BACKGROUND_TERMS = ("Nausea", "Arthralgia", "Headache", "Hot flush", "Anaemia", "Stomatitis",
                    "Alanine aminotransferase increased", "Hypertension", "Upper respiratory tract infection",
                    "Back pain")
"""Generic background terms, used for AEs beyond those a published block names."""


def soc_for(term: str) -> str:
    return SOC.get(term, DEFAULT_SOC)


def background_terms(exclude: list[str] | tuple[str, ...] = ()) -> tuple[str, ...]:
    """The background terms other than ``exclude`` (the terms a protocol's results name)."""
    ex = {t.lower() for t in exclude}
    return tuple(t for t in BACKGROUND_TERMS if t.lower() not in ex) or BACKGROUND_TERMS
