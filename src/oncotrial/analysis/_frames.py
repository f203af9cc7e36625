"""Input checks and small conversions shared by the analyses.

Every check raises ValueError naming the dataset, the column and, where one
row is at fault, the row, so a user bringing their own ADaM can fix it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from oncotrial.protocol import DAYS_PER_MONTH, Protocol

DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH, "years": 365.25}

# ARMCD values CDISC uses for subjects who were never randomized; they are not in the ITT set.
NOT_RANDOMIZED = {"", "SCRNFAIL", "NOTASSGN", "NOTTRT", "SCREEN FAILURE", "NOT ASSIGNED"}


def require_columns(df: pd.DataFrame, name: str, columns: Iterable[str]) -> None:
    """Raise ValueError if ``df`` (the dataset ``name``) lacks any of ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; present: {list(df.columns)}")


def one_per_subject(df: pd.DataFrame, name: str, paramcd: str) -> tuple[pd.DataFrame, pd.Series]:
    """The ``paramcd`` records of an ADaM BDS dataset and their USUBJIDs, one record per subject.

    More than one record for a subject is an error: which one counts would be a guess.
    """
    require_columns(df, name, ["USUBJID", "PARAMCD"])
    d = df[df["PARAMCD"].astype(str) == paramcd]
    if d.empty:
        raise ValueError(f"{name}: no rows with PARAMCD {paramcd!r}; present: {sorted(df['PARAMCD'].astype(str).unique())}")
    ids = d["USUBJID"].astype(str)
    dup = ids.duplicated()
    if dup.any():
        raise ValueError(f"{name}: USUBJID {ids[dup].iloc[0]!r} has more than one {paramcd} row; expected one per subject")
    return d, ids


def days_to_unit(days: np.ndarray | pd.Series | float, unit: str) -> np.ndarray | float:
    """Convert days to the protocol's time unit (months are 30.4375 days)."""
    if unit not in DAYS_PER_UNIT:
        raise ValueError(f"time_unit: expected one of {sorted(DAYS_PER_UNIT)}, got {unit!r}")
    return np.asarray(days, dtype=float) / DAYS_PER_UNIT[unit] if not np.isscalar(days) else float(days) / DAYS_PER_UNIT[unit]


def arm_of(adsl: pd.DataFrame, protocol: Protocol) -> pd.Series:
    """Protocol arm code of every randomized ADSL subject, indexed by USUBJID.

    ADSL's ARMCD is matched to the protocol's arm codes; failing that, ARM to the
    arms' names or short names. Subjects who were never randomized (screen
    failures) are dropped; any other unknown arm is an error naming the row.
    """
    require_columns(adsl, "ADSL", ["USUBJID", "ARMCD"])
    dup = adsl["USUBJID"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValueError(f"ADSL: row {i} repeats USUBJID {adsl['USUBJID'].iloc[i]!r}; expected one row per subject")
    by_name: dict[str, str] = {}
    for a in protocol.arms:
        by_name[a.code.upper()] = a.code
        by_name[a.name.upper()] = a.code
        if a.short_name:
            by_name[a.short_name.upper()] = a.code
    codes: list[str | None] = []
    armcd = adsl["ARMCD"].fillna("").astype(str)
    arm = adsl["ARM"].fillna("").astype(str) if "ARM" in adsl.columns else armcd
    for i, (cd, nm) in enumerate(zip(armcd, arm)):
        code = by_name.get(cd.strip().upper()) or by_name.get(nm.strip().upper())
        if code is None:
            if cd.strip().upper() in NOT_RANDOMIZED or nm.strip().upper() in NOT_RANDOMIZED:
                codes.append(None)
                continue
            raise ValueError(f"ADSL: row {i} (USUBJID {adsl['USUBJID'].iloc[i]!r}) has ARMCD {cd!r} / ARM {nm!r}; "
                             f"expected one of the protocol's arms {protocol.arm_codes} or a screen failure")
        codes.append(code)
    out = pd.Series(codes, index=adsl["USUBJID"].astype(str).to_numpy(), name="ARM", dtype=object)
    return out.dropna()


def arm_order(protocol: Protocol) -> tuple[str, ...]:
    """The arms in the order every result and table lists them.

    Two arms: (experimental, control), whatever order the protocol lists them in; three or
    more: the protocol's order (there is no one experimental arm to put first).

    >>> from oncotrial.protocol import load_protocol
    >>> arm_order(load_protocol("patina"))
    ('A', 'B')
    """
    if len(protocol.arms) == 2:
        return protocol.comparisons[0]
    return tuple(protocol.arm_codes)


def headline_pair(protocol: Protocol) -> tuple[str, str]:
    """The (experimental, control) the top-level fields of a result are for: the one comparison with
    two arms; ("", control) with three or more, where no single comparison is "the" one.

    >>> from oncotrial.protocol import load_protocol
    >>> headline_pair(load_protocol("colon"))
    ('', 'OBS')
    """
    pairs = protocol.comparisons
    return tuple(pairs[0]) if len(pairs) == 1 else ("", protocol.control_arm)


def comparison_arms(protocol: Protocol) -> tuple[str, str]:
    """(experimental, control) arm codes of a two-arm protocol; raises ValueError for three or more.

    For two-arm callers only: the analyses take their arms from :func:`arm_order` and their
    pairs from ``protocol.comparisons``, which hold for any number of arms."""
    if len(protocol.arms) != 2:
        raise ValueError(f"arms: the analysis compares two arms, the protocol has {len(protocol.arms)}")
    return protocol.experimental_arm, protocol.control_arm


def flag(series: pd.Series) -> np.ndarray:
    """A CDISC Y/N (or 1/0, True/False) flag as booleans; missing is False."""
    s = series.astype(object).astype(str).str.strip().str.upper()
    return s.isin({"Y", "YES", "1", "1.0", "TRUE"}).to_numpy(dtype=bool)


def strata_columns(adsl: pd.DataFrame, protocol: Protocol, factors: Iterable[str]) -> dict[str, str]:
    """ADSL column holding each named stratification factor.

    A factor is found as a column named like the factor (any case), or else as
    ``STRATwR`` where w is the factor's position in the protocol's randomization
    order (``randomization.stratify_by``, or the order of
    ``stratification_factors`` when that is empty), which is how the simulator
    and the IRT export number them. Position, not the values, decides: two
    factors with the same levels (e.g. Yes/No) would otherwise be swapped.
    Values outside the factor's level codes or labels raise ValueError.
    """
    order = list(protocol.randomization.stratify_by) or [f.name for f in protocol.stratification_factors]
    by_upper = {str(c).upper(): c for c in adsl.columns}
    out: dict[str, str] = {}
    for name in factors:
        f = protocol.factor(name)
        allowed = {lv.code.upper() for lv in f.levels} | {lv.label.upper() for lv in f.levels if lv.label}
        direct = [c for c in adsl.columns if str(c).upper() == name.upper()]
        if direct:
            col = direct[0]
        else:
            want = f"STRAT{order.index(name) + 1}R" if name in order else None
            col = by_upper.get(want) if want else None
            if col is None:
                where = (f"expected a column {name!r} or {want} (position {order.index(name) + 1} in the "
                         f"randomization order {order})" if want else
                         f"expected a column {name!r}; it is not in the randomization order {order}, so no "
                         f"STRATwR column holds it")
                raise ValueError(f"ADSL: no column holds stratification factor {name!r} (levels {f.codes}); {where}")
        vals = {str(v).strip() for v in adsl[col].dropna().unique()}
        bad = sorted(v for v in vals if v.upper() not in allowed)
        if bad:
            raise ValueError(f"ADSL: column {col} holds stratification factor {name!r}, but has values {bad} "
                             f"outside its levels {f.codes} (codes or labels)")
        out[name] = col
    return out


def factor_codes(values: pd.Series, protocol: Protocol, name: str) -> pd.Series:
    """Stratification values mapped to the factor's level codes (labels are accepted too)."""
    f = protocol.factor(name)
    m = {lv.code.upper(): lv.code for lv in f.levels}
    m.update({lv.label.upper(): lv.code for lv in f.levels if lv.label})
    return values.map(lambda v: m.get(str(v).strip().upper()) if pd.notna(v) else None)
