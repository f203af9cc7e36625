"""Simulated patients: accrual over calendar time, sites, baseline characteristics, randomization.

Randomization goes through :mod:`oncotrial.randomization`, the code the IRT service
uses: one allocation list per stratum, consumed in order of randomization date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotrial.protocol import Protocol
from oncotrial.randomization import generate_permuted_blocks, generate_simple

RACES = ("WHITE", "BLACK OR AFRICAN AMERICAN", "ASIAN", "OTHER")
RACE_PROBS = (0.80, 0.08, 0.08, 0.04)  # ASSUMED: not in the protocol


def strat_col(factor: str) -> str:
    """Column of the patients frame holding a stratification factor's level code."""
    return f"STRAT_{factor}"


def n_patients(protocol: Protocol) -> int:
    pub = protocol.published
    if pub is not None and pub.n_randomized:
        return int(round(sum(pub.n_randomized.values())))
    return int(protocol.accrual.randomized_n or protocol.accrual.target_n)


def response_level(protocol: Protocol) -> tuple[str, str] | None:
    """(factor, level) of a stratification level that stands for response (CR or PR) to prior therapy."""
    for f in protocol.stratification_factors:
        for lv in f.levels:
            if "CR" in lv.code.upper().split("_"):
                return f.name, lv.code
    return None


def site_table(protocol: Protocol, rng: np.random.Generator) -> pd.DataFrame:
    """Sites with their country and a relative enrolment weight (a few large sites, many small)."""
    acc = protocol.accrual
    n = acc.n_sites
    countries = list(acc.countries)
    # first country hosts the most sites; every country at least one
    w = 1.0 / np.arange(1, len(countries) + 1)
    idx = np.concatenate([np.arange(min(len(countries), n)),
                          rng.choice(len(countries), size=max(n - len(countries), 0), p=w / w.sum())])
    return pd.DataFrame({
        "SITEID": [f"{101 + i:03d}" if n < 900 else f"{1001 + i}" for i in range(n)],
        "COUNTRY": [countries[i] for i in np.sort(idx)],
        "weight": rng.lognormal(0.0, 0.8, size=n),
    })


def accrue(protocol: Protocol, n: int, rng: np.random.Generator) -> np.ndarray:
    """Randomization dates, sorted, uniform over the accrual period (datetime64[D])."""
    acc = protocol.accrual
    span = (acc.end - acc.start).days
    days = np.sort(rng.integers(0, span + 1, size=n))
    return np.datetime64(acc.start.isoformat(), "D") + days.astype("timedelta64[D]")


# Disease-specific baseline qualifiers and the protocol field that declares each.
BASELINE_FIELDS = {"MENOSTAT": "postmenopausal", "DENOVO": "de_novo", "VISCMET": "visceral",
                   "CNSMET": "cns_metastases"}


def undeclared_baseline(protocol: Protocol) -> list[str]:
    """Baseline qualifiers (``BASELINE_FIELDS``) neither the protocol's assumptions nor its published
    baseline name, so a trial's datasets never carry a characteristic its protocol does not have
    (colon cancer patients get no menopausal status).

    >>> from oncotrial.protocol import load_protocol
    >>> undeclared_baseline(load_protocol("colon"))
    ['MENOSTAT', 'DENOVO', 'VISCMET', 'CNSMET']
    >>> undeclared_baseline(load_protocol("patina"))
    []
    """
    pub = protocol.published.baseline if protocol.published is not None else None
    return [q for q, name in BASELINE_FIELDS.items()
            if all(getattr(src, name, None) is None for src in (protocol.baseline, pub))]


def draw_baseline(protocol: Protocol, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Demographics, baseline disease characteristics and stratification levels of ``n`` patients."""
    b = protocol.baseline
    age_med, age_sd, lo, hi = (b.age_median, b.age_sd, b.age_min, b.age_max) if b else (60.0, 10.0, 18.0, 90.0)
    age = np.clip(np.round(rng.normal(age_med, age_sd, size=n)), lo, hi).astype(int)
    female = rng.random(n) < (b.female if b else 0.5)
    df = pd.DataFrame({
        "AGE": age,
        "SEX": np.where(female, "F", "M"),
        "RACE": rng.choice(RACES, size=n, p=RACE_PROBS),
    })

    def flag(p: float | None) -> np.ndarray:
        return np.where(rng.random(n) < (p if p is not None else 0.0), "Y", "N")

    post = rng.random(n) < (b.postmenopausal if b and b.postmenopausal is not None else 0.5)
    df["MENOSTAT"] = np.where(post, "POST", "PRE")
    df["DENOVO"] = flag(b.de_novo if b else None)
    df["VISCMET"] = flag(b.visceral if b else None)
    df["CNSMET"] = flag(b.cns_metastases if b else None)
    for f in protocol.stratification_factors:
        prev = np.array([lv.prevalence if lv.prevalence is not None else np.nan for lv in f.levels])
        if np.isnan(prev).any():
            rest = 1.0 - np.nansum(prev)
            prev = np.where(np.isnan(prev), max(rest, 0) / max(np.isnan(prev).sum(), 1), prev)
        prev = prev / prev.sum()
        df[strat_col(f.name)] = rng.choice(f.codes, size=n, p=prev)
    df["INDRESP"] = induction_response(protocol, df, rng)
    # Drawn before dropping so the random stream, and so every other column, is the same.
    return df.drop(columns=undeclared_baseline(protocol))


def induction_response(protocol: Protocol, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Best response to prior (induction) therapy: CR, PR or SD.

    Where a stratification level stands for CR-or-PR, its patients get CR or PR (CR with
    the probability that makes ``baseline.cr_to_induction`` of all patients CR), the
    others SD; otherwise CR with that probability and PR/SD evenly.
    """
    n = len(df)
    p_cr = protocol.baseline.cr_to_induction if protocol.baseline and protocol.baseline.cr_to_induction else 0.0
    lvl = response_level(protocol)
    if lvl is None:
        u = rng.random(n)
        return np.where(u < p_cr, "CR", np.where(u < p_cr + (1 - p_cr) / 2, "PR", "SD"))
    resp = (df[strat_col(lvl[0])] == lvl[1]).to_numpy()
    share = resp.mean() if resp.any() else 1.0
    cr = rng.random(n) < min(p_cr / share, 1.0)
    return np.where(resp, np.where(cr, "CR", "PR"), "SD")


def allocation_lists(protocol: Protocol, n_per_stratum: int, seed: int):
    """The stratified allocation list the IRT service would hold, for this simulated trial."""
    r = protocol.randomization
    levels = protocol.strata_levels
    arms = protocol.arm_codes
    ratio = [a.ratio for a in protocol.arms]
    if r.method == "permuted_blocks":
        return generate_permuted_blocks(levels, arms, ratio, r.block_sizes, n_per_stratum, seed)
    if r.method == "simple":
        return generate_simple(levels, arms, ratio, n_per_stratum, seed)
    raise ValueError(f"randomization.method: simulation supports 'permuted_blocks' and 'simple', got {r.method!r}")


def randomize(protocol: Protocol, df: pd.DataFrame, seed: int) -> np.ndarray:
    """Arm codes for patients in ``df`` (in randomization order), each stratum's list consumed in order."""
    factors = list(protocol.strata_levels)
    if factors:
        keys = df[[strat_col(f) for f in factors]].astype(str).agg(
            lambda row: "|".join(f"{f}={v}" for f, v in zip(factors, row)), axis=1).to_numpy()
    else:
        keys = np.full(len(df), "", dtype=object)
    counts = pd.Series(keys).value_counts()
    alloc = allocation_lists(protocol, int(counts.max()) if len(counts) else 1, seed)
    arms = np.empty(len(df), dtype=object)
    for key in counts.index:
        rows = alloc.for_stratum(key)
        pos = np.flatnonzero(keys == key)
        arms[pos] = [rows[i].arm for i in range(len(pos))]
    return arms.astype(str)


def enrol(protocol: Protocol, rng: np.random.Generator, seed: int, n: int | None = None) -> pd.DataFrame:
    """The randomized patients: identifiers, site, dates, baseline, strata and arm, in randomization order."""
    n = n_patients(protocol) if n is None else n
    sites = site_table(protocol, rng)
    rand = accrue(protocol, n, rng)
    df = draw_baseline(protocol, n, rng)
    site_idx = rng.choice(len(sites), size=n, p=(sites["weight"] / sites["weight"].sum()).to_numpy())
    df.insert(0, "SITEID", sites["SITEID"].to_numpy()[site_idx])
    df.insert(1, "COUNTRY", sites["COUNTRY"].to_numpy()[site_idx])
    df.insert(0, "SUBJID", [f"{i + 1:04d}" for i in range(n)])
    df.insert(0, "USUBJID", protocol.study.id + "-" + df["SITEID"] + "-" + df["SUBJID"])
    df["RANDDT"] = rand
    df["ICDT"] = rand - rng.integers(1, 22, size=n).astype("timedelta64[D]")
    df["ARMCD"] = randomize(protocol, df, seed)
    names = {a.code: a.name for a in protocol.arms}
    df["ARM"] = df["ARMCD"].map(names)
    return df
