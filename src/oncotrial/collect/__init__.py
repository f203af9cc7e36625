"""Data capture (EDC) without a database: forms and schedule from the protocol, validation, edit checks,
form-version migration, SDV selection, AE coding, casebooks to and from SDTM.

The service (``oncotrial.irt``) stores records and queries; everything here is pure.
"""

from oncotrial import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "checks": ["edc_sdtm_problems"],
    "coding": ["CodedTerm", "Dictionary", "code_term", "dictionary_from_rows", "load_dictionary"],
    "editchecks": ["run_edit_checks"],
    "expr": ["evaluate"],
    "migrate": ["Migration", "migrate_record"],
    "records": ["Casebook", "FieldError", "Finding", "FormRecord", "FormValidationError"],
    "schedule": ["PlannedVisit", "visit_number", "visit_schedule"],
    "sdv": ["sdv_required", "sdv_selection"],
    "from_sdtm": ["sdtm_to_casebooks"],
    "to_sdtm": ["SdtmSpool", "casebooks_to_sdtm", "define_metadata", "sdtm_rows"],
    "validate": ["validate_form"],
})
