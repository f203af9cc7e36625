"""Data capture (EDC) without a database: forms and schedule from the protocol, validation,
edit checks, form-version migration, SDV selection, AE coding, casebooks to and from SDTM."""

from oncotrial.collect.checks import edc_sdtm_problems

__all__ = ["edc_sdtm_problems"]
