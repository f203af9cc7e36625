"""Which records a monitor must verify against source, from the protocol's SDV plan and a seed."""

from __future__ import annotations

import hashlib
from typing import Iterable

from oncotrial._seed import check_seed
from oncotrial.collect.records import FormRecord
from oncotrial.collect.validate import edc_form
from oncotrial.protocol import Protocol


def _draw(seed: int, usubjid: str, record_key: str) -> float:
    h = hashlib.sha256(f"{seed}\x1f{usubjid}\x1f{record_key}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def sdv_required(protocol: Protocol, record: FormRecord, seed: int) -> bool:
    """Whether the plan selects this record: ``all`` always, ``none`` never, ``sample`` with probability
    ``fraction`` by a hash of the seed, subject and record, so a record's draw never changes as the
    trial grows and the same seed gives the same selection on every machine.

    >>> from oncotrial.protocol import load_protocol
    >>> r = FormRecord("S-1", "LOG", "CM", 1, {"CMTRT": "Paracetamol"}, seq=3)
    >>> sdv_required(load_protocol("patina"), r, seed=7) == sdv_required(load_protocol("patina"), r, seed=7)
    True
    """
    check_seed(seed)
    plan = edc_form(protocol, record.form).sdv
    if plan.mode == "all":
        return True
    if plan.mode == "none":
        return False
    return _draw(seed, record.usubjid, record.record_key) < plan.fraction


def sdv_selection(protocol: Protocol, records: Iterable[FormRecord], seed: int) -> list[FormRecord]:
    """The records the SDV plan selects, in the order given."""
    return [r for r in records if sdv_required(protocol, r, seed)]
