"""SDTM domains: reading, writing and checking them.

Formats: CSV, SAS XPORT v5 (``.xpt``) and CDISC Dataset-JSON v1.1 (``.json``).

>>> from oncotrial.sdtm import read_sdtm, write_sdtm, validate_domain
>>> sdtm = read_sdtm("study/sdtm")                            # doctest: +SKIP
>>> write_sdtm(sdtm, "out", formats=("csv", "xpt", "json"))   # doctest: +SKIP

Each domain is checked on read and before write (:func:`validate_domain`): the
SDTMIG Required variables present and non-missing (and, with ``strict=True``, the
Expected ones present), ``--DTC`` values valid ISO 8601, numeric variables numeric,
``DOMAIN`` matching and ``USUBJID``/``--SEQ`` unique.  Problems raise ``ValueError``
naming the domain, variable and 1-based row, e.g.
``AE row 17: AESTDTC '2021-13-01' is not an ISO 8601 date``.
"""

from oncotrial.sdtm.io import (
    FORMATS,
    from_dataset_json,
    read_domain,
    read_sdtm,
    to_dataset_json,
    write_domain,
    write_sdtm,
)
from oncotrial.sdtm.spec import SPECS, DomainSpec, known_variables, spec_for
from oncotrial.sdtm.validate import iso8601_invalid, validate_domain

__all__ = [
    "FORMATS",
    "SPECS",
    "DomainSpec",
    "from_dataset_json",
    "iso8601_invalid",
    "known_variables",
    "read_domain",
    "read_sdtm",
    "spec_for",
    "to_dataset_json",
    "validate_domain",
    "write_domain",
    "write_sdtm",
]
