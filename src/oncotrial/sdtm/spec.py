"""Per-domain variable specifications: which variables SDTMIG 3.x marks Required or
Expected, which are numeric, and the standard labels used when writing XPORT or
Dataset-JSON.

Only the variables oncotrial reads or checks are listed; other variables pass
through untouched.  Core designations follow SDTMIG v3.3/3.4 (Req = must be present
and non-missing; Exp = should be present, may be missing).  ``--DTC`` variables are
recognised by name (every column ending in ``DTC``), not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class DomainSpec:
    """The variables of one SDTM domain that oncotrial checks.

    ``required`` must be present and non-missing on every row; ``expected`` must be
    present as columns (values may be missing); ``numeric`` must hold numbers.
    """

    name: str
    label: str
    required: tuple[str, ...]
    expected: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


_COMMON = {
    "STUDYID": "Study Identifier",
    "DOMAIN": "Domain Abbreviation",
    "USUBJID": "Unique Subject Identifier",
    "VISITNUM": "Visit Number",
    "VISIT": "Visit Name",
    "VISITDY": "Planned Study Day of Visit",
    "EPOCH": "Epoch",
}

_SUPP = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG")

SPECS: Mapping[str, DomainSpec] = MappingProxyType(
    {
        "DM": DomainSpec(
            "DM",
            "Demographics",
            required=("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "SEX",
                      "ARMCD", "ARM", "ACTARMCD", "ACTARM", "COUNTRY"),
            expected=("RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC", "RFPENDTC",
                      "DTHDTC", "DTHFL", "AGE", "AGEU", "RACE", "ETHNIC"),
            numeric=("AGE", "DMDY"),
            labels={"SUBJID": "Subject Identifier for the Study", "SITEID": "Study Site Identifier",
                    "RFSTDTC": "Subject Reference Start Date/Time",
                    "RFENDTC": "Subject Reference End Date/Time",
                    "RFXSTDTC": "Date/Time of First Study Treatment",
                    "RFXENDTC": "Date/Time of Last Study Treatment",
                    "RFICDTC": "Date/Time of Informed Consent",
                    "RFPENDTC": "Date/Time of End of Participation",
                    "DTHDTC": "Date/Time of Death", "DTHFL": "Subject Death Flag",
                    "BRTHDTC": "Date/Time of Birth", "AGE": "Age", "AGEU": "Age Units",
                    "SEX": "Sex", "RACE": "Race", "ETHNIC": "Ethnicity",
                    "ARMCD": "Planned Arm Code", "ARM": "Description of Planned Arm",
                    "ACTARMCD": "Actual Arm Code", "ACTARM": "Description of Actual Arm",
                    "COUNTRY": "Country", "DMDTC": "Date/Time of Collection",
                    "DMDY": "Study Day of Collection"},
        ),
        "DS": DomainSpec(
            "DS",
            "Disposition",
            required=("STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD"),
            expected=("DSSTDTC",),
            numeric=("DSSEQ", "VISITNUM", "DSSTDY"),
            labels={"DSSEQ": "Sequence Number", "DSTERM": "Reported Term for the Disposition Event",
                    "DSDECOD": "Standardized Disposition Term", "DSCAT": "Category for Disposition Event",
                    "DSSCAT": "Subcategory for Disposition Event",
                    "DSDTC": "Date/Time of Collection", "DSSTDTC": "Start Date/Time of Disposition Event",
                    "DSSTDY": "Study Day of Start of Disposition Event"},
        ),
        "EX": DomainSpec(
            "EX",
            "Exposure",
            required=("STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT"),
            expected=("EXDOSE", "EXDOSU", "EXSTDTC", "EXENDTC"),
            numeric=("EXSEQ", "EXDOSE", "VISITNUM", "EXSTDY", "EXENDY"),
            labels={"EXSEQ": "Sequence Number", "EXTRT": "Name of Treatment", "EXDOSE": "Dose",
                    "EXDOSU": "Dose Units", "EXDOSFRM": "Dose Form",
                    "EXDOSFRQ": "Dosing Frequency per Interval", "EXROUTE": "Route of Administration",
                    "EXADJ": "Reason for Dose Adjustment",
                    "EXSTDTC": "Start Date/Time of Treatment", "EXENDTC": "End Date/Time of Treatment",
                    "EXSTDY": "Study Day of Start of Treatment", "EXENDY": "Study Day of End of Treatment"},
        ),
        "AE": DomainSpec(
            "AE",
            "Adverse Events",
            required=("STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD"),
            expected=("AEBODSYS", "AESTDTC", "AEENDTC", "AESER", "AEREL"),
            numeric=("AESEQ", "AESTDY", "AEENDY"),
            labels={"AESEQ": "Sequence Number", "AETERM": "Reported Term for the Adverse Event",
                    "AEDECOD": "Dictionary-Derived Term", "AEBODSYS": "Body System or Organ Class",
                    "AESEV": "Severity/Intensity", "AETOXGR": "Standard Toxicity Grade",
                    "AESER": "Serious Event", "AEREL": "Causality", "AEACN": "Action Taken with Study Treatment",
                    "AEOUT": "Outcome of Adverse Event", "AESTDTC": "Start Date/Time of Adverse Event",
                    "AEENDTC": "End Date/Time of Adverse Event", "AESTDY": "Study Day of Start of Adverse Event",
                    "AEENDY": "Study Day of End of Adverse Event"},
        ),
        "RS": DomainSpec(
            "RS",
            "Disease Response and Clin Classification",
            required=("STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST"),
            expected=("RSORRES", "RSSTRESC", "RSDTC", "VISITNUM"),
            numeric=("RSSEQ", "VISITNUM", "RSDY"),
            labels={"RSSEQ": "Sequence Number", "RSTESTCD": "Assessment Short Name",
                    "RSTEST": "Assessment Name", "RSCAT": "Category for Assessment",
                    "RSORRES": "Result or Finding in Original Units",
                    "RSSTRESC": "Character Result/Finding in Std Format", "RSEVAL": "Evaluator",
                    "RSDTC": "Date/Time of Assessment", "RSDY": "Study Day of Assessment"},
        ),
        "SV": DomainSpec(
            "SV",
            "Subject Visits",
            required=("STUDYID", "DOMAIN", "USUBJID", "VISITNUM"),
            expected=("VISIT", "SVSTDTC", "SVENDTC"),
            numeric=("VISITNUM", "VISITDY", "SVSTDY", "SVENDY"),
            labels={"SVSTDTC": "Start Date/Time of Visit", "SVENDTC": "End Date/Time of Visit",
                    "SVSTDY": "Study Day of Start of Visit", "SVENDY": "Study Day of End of Visit"},
        ),
        "TU": DomainSpec(
            "TU",
            "Tumor/Lesion Identification",
            required=("STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TUTESTCD", "TUTEST"),
            expected=("TULNKID", "TUORRES", "TUSTRESC"),
            numeric=("TUSEQ", "VISITNUM", "TUDY"),
            labels={"TUSEQ": "Sequence Number", "TULNKID": "Link ID",
                    "TUTESTCD": "Tumor/Lesion ID Short Name", "TUTEST": "Tumor/Lesion ID Test Name",
                    "TUORRES": "Tumor/Lesion ID Result", "TUSTRESC": "Tumor/Lesion ID Result Std. Format",
                    "TULOC": "Location of the Tumor/Lesion", "TUDTC": "Date/Time of Tumor/Lesion Identification",
                    "TUMETHOD": "Method of Identification", "TUEVAL": "Evaluator", "TUEVALID": "Evaluator Identifier",
                    "TUACPTFL": "Accepted Record Flag", "TUDY": "Study Day of Tumor/Lesion Identification"},
        ),
        "TR": DomainSpec(
            "TR",
            "Tumor/Lesion Results",
            required=("STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRTESTCD", "TRTEST"),
            expected=("TRLNKID", "TRORRES", "TRSTRESC", "TRSTRESN"),
            numeric=("TRSEQ", "TRSTRESN", "VISITNUM", "TRDY"),
            labels={"TRSEQ": "Sequence Number", "TRLNKID": "Link ID", "TRTESTCD": "Tumor/Lesion Assessment Short Name",
                    "TRTEST": "Tumor/Lesion Assessment Test Name", "TRORRES": "Result or Finding in Original Units",
                    "TRSTRESC": "Character Result/Finding in Std Format",
                    "TRSTRESN": "Numeric Result/Finding in Standard Units", "TRDTC": "Date/Time of Tumor Measurement",
                    "TRGRPID": "Group ID", "TRORRESU": "Original Units", "TRSTRESU": "Standard Units",
                    "TRMETHOD": "Method Used to Identify the Tumor/Lesion", "TREVAL": "Evaluator",
                    "TREVALID": "Evaluator Identifier", "TRACPTFL": "Accepted Record Flag",
                    "TRDY": "Study Day of Tumor Measurement"},
        ),
        "CM": DomainSpec(
            "CM",
            "Concomitant/Concurrent Medications",
            required=("STUDYID", "DOMAIN", "USUBJID", "CMSEQ", "CMTRT"),
            expected=("CMSTDTC", "CMENDTC"),
            numeric=("CMSEQ",),
            labels={"CMSEQ": "Sequence Number", "CMTRT": "Reported Name of Drug, Med, or Therapy",
                    "CMCAT": "Category for Medication", "CMSTDTC": "Start Date/Time of Medication",
                    "CMENDTC": "End Date/Time of Medication", "CMSTDY": "Study Day of Start of Medication",
                    "CMENDY": "Study Day of End of Medication"},
        ),
        "MH": DomainSpec(
            "MH",
            "Medical History",
            required=("STUDYID", "DOMAIN", "USUBJID", "MHSEQ", "MHTERM"),
            expected=("MHDECOD", "MHSTDTC"),
            numeric=("MHSEQ", "MHSTDY"),
            labels={"MHSEQ": "Sequence Number", "MHTERM": "Reported Term for the Medical History",
                    "MHDECOD": "Dictionary-Derived Term", "MHCAT": "Category for Medical History",
                    "MHSTDTC": "Start Date/Time of Medical History Event", "MHENDTC": "End Date/Time of Medical History Event",
                    "MHSTDY": "Study Day of Start of Medical History Event"},
        ),
        "SUPP": DomainSpec(
            "SUPP",
            "Supplemental Qualifiers",
            required=("STUDYID", "RDOMAIN", "USUBJID", "QNAM", "QLABEL", "QVAL"),
            expected=("IDVAR", "IDVARVAL", "QORIG"),
            labels={"RDOMAIN": "Related Domain Abbreviation", "IDVAR": "Identifying Variable",
                    "IDVARVAL": "Identifying Variable Value", "QNAM": "Qualifier Variable Name",
                    "QLABEL": "Qualifier Variable Label", "QVAL": "Data Value", "QORIG": "Origin",
                    "QEVAL": "Evaluator"},
        ),
    }
)


def spec_for(name: str) -> DomainSpec | None:
    """The spec for a domain name (``"AE"``, ``"SUPPDM"``, ...), or None if unknown.

    All ``SUPPxx`` datasets share one spec; oncology variants such as ``RS_ONCO``
    are matched by their two-letter prefix.
    """
    key = name.upper()
    if key.startswith("SUPP"):
        return SPECS["SUPP"]
    if key in SPECS:
        return SPECS[key]
    head = key.split("_", 1)[0]
    return SPECS.get(head)


def label_for(domain: str, variable: str) -> str:
    """Standard label of a variable (its name when no label is known)."""
    spec = spec_for(domain)
    if spec is not None and variable in spec.labels:
        return spec.labels[variable]
    return _COMMON.get(variable, variable)


def known_variables(domain: str) -> tuple[str, ...]:
    """Every variable of a domain the spec knows (identifiers first, then the spec's order); () if unknown.

    >>> known_variables("SV")[:4]
    ('STUDYID', 'DOMAIN', 'USUBJID', 'VISITNUM')
    """
    spec = spec_for(domain)
    if spec is None:
        return ()
    out: list[str] = []
    for v in (*spec.required, *spec.expected, *spec.numeric, *spec.labels, *_COMMON):
        if v not in out:
            out.append(v)
    return tuple(out)
