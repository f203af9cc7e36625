"""The randomization services under their former module name.

The code lives in modules named for what they hold: :mod:`.actors` (who asks, what for),
:mod:`.randomize` (the allocating transaction), :mod:`.records` (reading randomizations
back), :mod:`.corrections`, :mod:`.balance` and :mod:`.integrity` (the tables against the
audit trail). Imports from here keep working.
"""

from __future__ import annotations

from oncotrial.irt.services.actors import Actor, RandomizationRequest, usubjid
from oncotrial.irt.services.balance import balance
from oncotrial.irt.services.corrections import correct_strata
from oncotrial.irt.services.integrity import verify_records
from oncotrial.irt.services.randomize import (after_conflict, allocate, allocate_in_one_call, allocation_work,
                                              integrity_errors, prepare, randomize, randomize_async)
from oncotrial.irt.services.records import (get_randomization, list_corrections, list_randomizations, to_record)

__all__ = ["Actor", "RandomizationRequest", "after_conflict", "allocate", "allocate_in_one_call", "allocation_work",
           "balance", "correct_strata", "get_randomization", "integrity_errors", "list_corrections",
           "list_randomizations", "prepare", "randomize", "randomize_async", "to_record", "usubjid",
           "verify_records"]
