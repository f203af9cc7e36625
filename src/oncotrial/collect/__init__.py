"""Data capture (EDC) without a database: forms and schedule from the protocol, validation, edit checks,
form-version migration, SDV selection, AE coding, casebooks to and from SDTM.

The service (``oncotrial.irt``) stores records and queries; everything here is pure.
"""

from oncotrial.collect.checks import edc_sdtm_problems
from oncotrial.collect.coding import CodedTerm, Dictionary, code_term, dictionary_from_rows, load_dictionary
from oncotrial.collect.editchecks import run_edit_checks
from oncotrial.collect.expr import evaluate
from oncotrial.collect.migrate import Migration, migrate_record
from oncotrial.collect.records import Casebook, FieldError, Finding, FormRecord, FormValidationError
from oncotrial.collect.schedule import PlannedVisit, visit_number, visit_schedule
from oncotrial.collect.sdv import sdv_required, sdv_selection
from oncotrial.collect.from_sdtm import sdtm_to_casebooks
from oncotrial.collect.to_sdtm import casebooks_to_sdtm, define_metadata
from oncotrial.collect.validate import validate_form

__all__ = [
    "Casebook", "CodedTerm", "Dictionary", "FieldError", "Finding", "FormRecord", "FormValidationError",
    "Migration", "PlannedVisit", "casebooks_to_sdtm", "code_term", "define_metadata", "sdtm_to_casebooks", "dictionary_from_rows", "edc_sdtm_problems", "evaluate",
    "load_dictionary", "migrate_record", "run_edit_checks", "sdv_required", "sdv_selection", "validate_form",
    "visit_number", "visit_schedule",
]
