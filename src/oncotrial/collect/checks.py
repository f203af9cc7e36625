"""Checks of a protocol's ``[edc]`` block that need the SDTM spec (the protocol cannot import it)."""

from __future__ import annotations

from importlib import resources

from oncotrial.protocol import Protocol
from oncotrial.sdtm.spec import known_variables


def shipped_dictionaries() -> list[str]:
    """Names of the AE coding dictionaries shipped in the package data."""
    folder = resources.files("oncotrial.collect") / "data"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".csv"))


def edc_sdtm_problems(protocol: Protocol) -> list[str]:
    """Every SDTM target of the ``[edc]`` block that the SDTM spec does not know, named by form and field.

    A ``SUPPxx.QNAM`` target is a supplemental qualifier: its QNAM must be at most 8 characters
    and its parent domain known. Also checks that the AE dictionary the protocol names ships.

    >>> from oncotrial.protocol import load_protocol
    >>> edc_sdtm_problems(load_protocol("patina"))
    []
    """
    edc = protocol.edc
    if edc is None:
        return []
    out: list[str] = []

    def check(path: str, target: str, findings: bool) -> None:
        dom, _, var = target.partition(".")
        if dom.startswith("SUPP"):
            parent = dom[4:]
            if not known_variables(parent):
                out.append(f"{path}: {target}: {parent} is not an SDTM domain oncotrial knows")
            return
        known = known_variables(dom)
        if not known:
            out.append(f"{path}: {target}: {dom} is not an SDTM domain oncotrial knows")
        elif var not in known:
            out.append(f"{path}: {target}: {var} is not a variable of {dom} (declare it as SUPP{dom}.{var} "
                       f"if it is a supplemental qualifier)")
        elif findings and var != f"{dom}ORRES":
            out.append(f"{path}: {target}: a findings field (testcd) feeds {dom}.{dom}ORRES")

    for f in edc.forms:
        for fld in f.fields:
            for t in fld.sdtm:
                check(f"edc.forms[{f.id}].fields[{fld.id}].sdtm", t, bool(fld.testcd))
            if fld.testcd and not any(t.partition(".")[0] in ("TR", "RS", "TU") for t in fld.sdtm):
                out.append(f"edc.forms[{f.id}].fields[{fld.id}].testcd: a findings field must feed TR.TRORRES or RS.RSORRES")
        for t in f.constants:
            check(f"edc.forms[{f.id}].constants", t, False)
    if edc.ae_dictionary and edc.ae_dictionary not in shipped_dictionaries():
        out.append(f"edc.ae_dictionary: {edc.ae_dictionary!r} is not a dictionary oncotrial ships (ships: {shipped_dictionaries()})")
    return out
