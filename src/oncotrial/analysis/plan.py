"""Run the protocol's whole analysis plan on a set of ADaM datasets."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from oncotrial.analysis._frames import arm_of, arm_order, days_to_unit, headline_pair, require_columns
from oncotrial.analysis.baseline import baseline_table
from oncotrial.analysis.characteristics import characteristic_values
from oncotrial.analysis.response import analyze_binary
from oncotrial.analysis.results import FlowStep, TrialResults
from oncotrial.analysis.safety import analyze_safety, safety_population
from oncotrial.analysis.subgroups import analyze_subgroups
from oncotrial.analysis.survival import analyze_time_to_event
from oncotrial.protocol import Protocol
from oncotrial.stats import median_followup

# ADaM parameter codes each endpoint is looked for under, first present wins
# (oncotrial's own names first, then admiralonco's).
TTE_PARAMS = {"PFS": ("PFS", "PFSINV"), "OS": ("OS",), "DOR": ("DOR", "DURRSP", "RSD")}
# Binary endpoints: (PARAMCD, AVALC values that count as a responder).
BINARY_PARAMS = {"ORR": (("CBOR", ("CR", "PR")), ("CRSP", ("Y",)), ("BOR", ("CR", "PR"))),
                 "CBR": (("CCB", ("Y",)), ("CBR", ("Y",)), ("CB", ("Y",)))}
LABELS = {"PFS": "Progression-free survival", "OS": "Overall survival", "DOR": "Duration of confirmed response",
          "ORR": "Confirmed objective response rate", "CBR": "Clinical benefit rate"}

Progress = Callable[[str], None]


def endpoint_label(protocol: Protocol, endpoint: str) -> str:
    """The endpoint's name as the protocol gives it (``[[endpoints]]`` with this ``id``), else the fixed label.

    Example
    -------
    >>> endpoint_label(load_protocol("colon"), "PFS")   # doctest: +SKIP
    'Recurrence-free survival'
    """
    named = next((e.name for e in protocol.endpoints if e.id == endpoint and e.name), None)
    return named or LABELS[endpoint]


def tte_param(adtte: pd.DataFrame | None, endpoint: str) -> str | None:
    """The PARAMCD a time-to-event endpoint (``PFS``, ``OS``, ``DOR``) is found under, or None."""
    return _param(adtte, TTE_PARAMS[endpoint])


def binary_population(adsl: pd.DataFrame, protocol: Protocol, endpoint: str) -> tuple[pd.Series | None, str]:
    """Who a binary endpoint's rate is over: the patients excluded (a boolean Series by USUBJID, or
    None) and the population's name. ORR leaves out the patients whose induction response was
    already complete (nothing left to respond); CBR is over the whole ITT population."""
    if endpoint == "ORR" and _has(adsl, protocol, "cr_to_induction"):
        return (characteristic_values(adsl, protocol, "cr_to_induction")[1].eq("Yes"),
                "ITT excluding patients with a complete response to induction")
    return None, "ITT"


def _param(df: pd.DataFrame | None, candidates: tuple[str, ...]) -> str | None:
    if df is None or "PARAMCD" not in df.columns:
        return None
    present = set(df["PARAMCD"].astype(str))
    return next((c for c in candidates if c in present), None)


def binary_param(adrs: pd.DataFrame | None, endpoint: str) -> tuple[str, tuple[str, ...]] | None:
    """The PARAMCD of a binary endpoint (``ORR``, ``CBR``) and the AVALC values that count as yes, or None."""
    if adrs is None or "PARAMCD" not in adrs.columns:
        return None
    present = set(adrs["PARAMCD"].astype(str))
    return next(((p, v) for p, v in BINARY_PARAMS[endpoint] if p in present), None)


def run_analysis(adam: Mapping[str, pd.DataFrame], protocol: Protocol, *,
                 progress: Progress | None = None) -> TrialResults:
    """Every analysis of the protocol's plan, on ADaM keyed by lower-case dataset name.

    ``adam`` needs "adsl" and "adtte"; "adrs", "adae" and "adex" are used when
    present and their sections are None otherwise. ``progress`` is called with
    the name of each step before it runs (the CLI draws a progress bar with it).

    Example
    -------
    >>> res = run_analysis({"adsl": adsl, "adtte": adtte, "adrs": adrs, "adae": adae}, load_protocol("patina"))  # doctest: +SKIP
    >>> res.pfs.hr                                                                                                 # doctest: +SKIP
    """
    step = progress or (lambda _name: None)
    for key in ("adsl", "adtte"):
        if key not in adam or adam[key] is None:
            raise ValueError(f"adam: the {key.upper()} dataset is required; got {sorted(adam)}")
    adsl, adtte = adam["adsl"], adam["adtte"]
    adrs, adae, adex = adam.get("adrs"), adam.get("adae"), adam.get("adex")
    a = protocol.analysis
    order = arm_order(protocol)
    comparisons = tuple(tuple(c) for c in protocol.comparisons)
    experimental, control = headline_pair(protocol)
    arms = arm_of(adsl, protocol)
    require_columns(adtte, "ADTTE", ["PARAMCD"])

    tte = {}
    for ep, cands in TTE_PARAMS.items():
        step(ep)
        code = _param(adtte, cands)
        if code is None:
            if ep == "PFS":
                raise ValueError(f"ADTTE: no PFS parameter; expected PARAMCD one of {list(cands)}")
            tte[ep] = None
            continue
        # Duration of response compares responders, who are no randomized set: unstratified, no landmarks.
        tte[ep] = analyze_time_to_event(adsl, adtte, protocol, code, label=endpoint_label(protocol, ep), stratified=ep != "DOR",
                                        landmarks=[] if ep == "DOR" else None)

    step("follow-up")
    fu_param = tte["OS"] or tte["PFS"]
    fu_rows = adtte[adtte["PARAMCD"].astype(str) == fu_param.paramcd]
    fu_rows = fu_rows[fu_rows["USUBJID"].astype(str).isin(arms.index)]
    fu = median_followup(days_to_unit(pd.to_numeric(fu_rows["AVAL"]).to_numpy(), a.time_unit),
                         (pd.to_numeric(fu_rows["CNSR"]) == 0).astype(int).to_numpy(), conf_level=a.conf_level)

    step("response")
    binary = {}
    for ep in ("ORR", "CBR"):
        found = binary_param(adrs, ep)
        if found is None:
            binary[ep] = None
            continue
        code, values = found
        excl, pop = binary_population(adsl, protocol, ep)
        binary[ep] = analyze_binary(adsl, adrs, protocol, code, responder_values=values, label=endpoint_label(protocol, ep),
                                    population=pop, exclude=excl)

    step("safety")
    safety = analyze_safety(adsl, adae, protocol, adtte=adtte, adex=adex) if adae is not None else None

    step("baseline")
    base = baseline_table(adsl, protocol)

    step("subgroups")
    present = [s for s in a.subgroups if _has(adsl, protocol, s)]
    by_comparison = {e: analyze_subgroups(adsl, adtte, protocol, tte["PFS"].paramcd, subgroups=present,
                                          unavailable=tuple(s for s in a.subgroups if s not in present),
                                          experimental=e)
                     for e, _ in comparisons} if a.subgroups else {}
    subgroups = by_comparison.get(experimental) if experimental else None

    flow = _flow(adsl, protocol, arms, binary.get("ORR"), order)
    return TrialResults(
        study=protocol.study.id, unit=a.time_unit, conf_level=a.conf_level,
        arms={x.code: x.label for x in protocol.arms}, experimental=experimental, control=control,
        n_randomized={c: int((arms == c).sum()) for c in order}, flow=tuple(flow),
        median_followup=fu.median, median_followup_lower=fu.lower, median_followup_upper=fu.upper,
        pfs=tte["PFS"], os=tte["OS"], dor=tte["DOR"], orr=binary["ORR"], cbr=binary["CBR"], safety=safety,
        baseline=base, subgroups=subgroups, arm_order=order, comparisons=comparisons,
        subgroups_by_comparison=by_comparison)


def _has(adsl: pd.DataFrame, protocol: Protocol, name: str) -> bool:
    try:
        characteristic_values(adsl, protocol, name)
    except ValueError:
        return False
    return True


def _flow(adsl, protocol, arms, orr, codes) -> list[FlowStep]:
    steps = [FlowStep("Randomized", {c: int((arms == c).sum()) for c in codes})]
    if "SAFFL" in adsl.columns:
        pop = safety_population(adsl, protocol)
        steps.append(FlowStep("Received study treatment", {c: int((pop == c).sum()) for c in codes}))
    sl = adsl.assign(USUBJID=adsl["USUBJID"].astype(str)).set_index("USUBJID").reindex(arms.index)
    if "EOTSTT" in sl.columns:
        st = sl["EOTSTT"].astype(str).str.upper()
        steps.append(FlowStep("Discontinued study treatment",
                              {c: int(((arms == c) & st.eq("DISCONTINUED")).sum()) for c in codes}))
        steps.append(FlowStep("Treatment ongoing at data cut-off",
                              {c: int(((arms == c) & st.eq("ONGOING")).sum()) for c in codes}))
    steps.append(FlowStep("Analysed for PFS (ITT)", {c: int((arms == c).sum()) for c in codes}))
    if orr is not None:
        steps.append(FlowStep("Analysed for ORR", {x.arm: x.n for x in orr.arms}))
        steps.append(FlowStep("Confirmed responders (DoR)", {x.arm: x.responders for x in orr.arms}))
    return steps
