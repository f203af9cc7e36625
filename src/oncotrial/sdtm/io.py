"""Reading and writing SDTM domains as CSV, SAS XPORT v5 and CDISC Dataset-JSON v1.1.

Conventions
-----------
* One file per domain, named for the domain in lower case: ``dm.csv``, ``ae.xpt``,
  ``rs.json``.  ``read_sdtm`` keys its result by the upper-case name (``"DM"``).
* Character variables come back as strings with missing values as NA; variables the
  domain spec lists as numeric (``--SEQ``, ``AGE``, ``VISITNUM``, ``EXDOSE``,
  ``--DY``, ``--STRESN`` ...) come back as numbers.  In CSV, the empty string and
  ``NA`` (the pharmaverse convention) are read as missing.
* Every write goes to a temporary file in the target folder that is renamed into
  place only when complete, and ``write_sdtm`` checks every domain before writing
  any, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from oncotrial import __version__
from oncotrial.sdtm.spec import label_for, spec_for
from oncotrial.sdtm.validate import validate_domain

__all__ = [
    "FORMATS",
    "read_domain",
    "write_domain",
    "read_sdtm",
    "write_sdtm",
    "to_dataset_json",
    "from_dataset_json",
]

FORMATS = ("csv", "xpt", "json")
_EXT = {"csv": ".csv", "xpt": ".xpt", "json": ".json"}
_DATASET_JSON_VERSION = "1.1.0"
_JSON_TYPES = {"string", "integer", "decimal", "float", "double", "boolean",
               "datetime", "date", "time", "URI"}


# ----------------------------------------------------------------------------- types
def _numeric_vars(domain: str, columns: Iterable[str]) -> set[str]:
    spec = spec_for(domain)
    listed = set(spec.numeric) if spec is not None else set()
    out = set()
    for c in columns:
        u = str(c).upper()
        if (c in listed or u == "VISITNUM" or u == "VISITDY" or u == "AGE"
                or (u.endswith("SEQ") and not u.startswith("IDVAR"))
                or (len(u) >= 4 and u.endswith("DY") and not u.endswith("DTC"))
                or u.endswith("STRESN") or u.endswith("DOSE")):
            out.add(c)
    return out


def _as_number(s: pd.Series) -> pd.Series:
    num = pd.to_numeric(s, errors="coerce").astype(float)
    vals = num.to_numpy()
    if num.notna().all() and np.all(np.mod(vals, 1) == 0) and len(vals):
        return num.astype(np.int64)
    return num


def _text(col: pd.Series) -> pd.Series:
    """Strings with blanks as missing; each distinct value is handled once."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    vals = np.array([None if str(u).strip() == "" else str(u) for u in uniques] + [None], dtype=object)
    arr = vals[np.where(codes >= 0, codes, len(vals) - 1)]
    return pd.Series(arr, index=col.index, dtype="str")


def _coerce(df: pd.DataFrame, domain: str, numeric: Iterable[str] = ()) -> pd.DataFrame:
    """Strings for character variables (blank -> NA), numbers for numeric ones."""
    out = df.copy()
    nums = _numeric_vars(domain, out.columns) | set(numeric)
    for c in out.columns:
        col = out[c]
        if c in nums:
            if not pd.api.types.is_numeric_dtype(col):
                raw = col.astype("string").str.strip().replace("", pd.NA)
                conv = pd.to_numeric(raw, errors="coerce")
                bad = np.flatnonzero((raw.notna() & conv.isna()).fillna(False).to_numpy())
                if len(bad):
                    r = int(bad[0])
                    raise ValueError(f"{domain} row {r + 1}: {c} '{raw.iloc[r]}' is not numeric")
                col = conv
            out[c] = _as_number(col)
        elif not pd.api.types.is_datetime64_any_dtype(col):
            if pd.api.types.is_numeric_dtype(col) and col.isna().all():
                out[c] = pd.Series(pd.NA, index=out.index, dtype="string").astype(str).where(False)
                continue
            if pd.api.types.is_numeric_dtype(col):
                continue
            out[c] = _text(col)
    return out


# ----------------------------------------------------------------------------- atomic
def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ----------------------------------------------------------------------------- CSV
def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", "NA"])


def _write_csv(df: pd.DataFrame, tmp: Path) -> None:
    df.to_csv(tmp, index=False, na_rep="")


# ----------------------------------------------------------------------------- XPORT
def _xpt_frame(df: pd.DataFrame, domain: str) -> tuple[pd.DataFrame, list[str]]:
    if len(domain) > 8:
        raise ValueError(f"{domain}: SAS XPORT v5 dataset names are at most 8 characters")
    out = pd.DataFrame(index=df.index)
    labels = []
    for c in df.columns:
        name = str(c)
        if len(name) > 8 or not name.replace("_", "A").isalnum():
            raise ValueError(f"{domain}: variable {name!r} is not a valid XPORT v5 name "
                             "(at most 8 letters, digits or underscores)")
        lab = label_for(domain, name)[:40]
        labels.append(lab)
        col = df[c]
        if pd.api.types.is_bool_dtype(col):
            raise ValueError(f"{domain}: variable {name} is boolean; XPORT has only char and numeric")
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            out[name] = col.astype(float) if pd.api.types.is_numeric_dtype(col) else col
        else:
            s = col.astype("string")
            too_long = np.flatnonzero(s.str.len().fillna(0).to_numpy() > 200)
            if len(too_long):
                r = int(too_long[0])
                raise ValueError(f"{domain} row {r + 1}: {name} is longer than 200 characters (XPORT v5 limit)")
            out[name] = s.fillna("").astype(object)
    return out, labels


def _write_xpt(df: pd.DataFrame, domain: str, label: str, tmp: Path) -> None:
    import pyreadstat

    frame, labels = _xpt_frame(df, domain)
    pyreadstat.write_xport(frame, str(tmp), file_label=label[:40], column_labels=labels,
                           table_name=domain.upper(), file_format_version=5)


def _read_xpt(path: Path) -> pd.DataFrame:
    import pyreadstat

    df, _meta = pyreadstat.read_xport(str(path))
    return df


# ----------------------------------------------------------------------------- Dataset-JSON
def _json_type(col: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(col):
        return "boolean"
    if pd.api.types.is_integer_dtype(col):
        return "integer"
    if pd.api.types.is_float_dtype(col):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(col):
        return "datetime"
    return "string"


def _cell(v, kind: str):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if kind == "integer":
        return int(v)
    if kind == "double":
        return float(v)
    if kind == "boolean":
        return bool(v)
    if kind == "datetime":
        return pd.Timestamp(v).isoformat()
    return str(v)


def _column_values(col: pd.Series, kind: str) -> list:
    """A column as JSON-ready Python values (None for missing), converted column-wise."""
    miss = col.isna().to_numpy()
    if kind == "integer":
        vals = [int(v) for v in col.fillna(0).to_numpy()]
    elif kind == "double":
        vals = [float(v) for v in col.to_numpy(dtype=float)]
    elif kind in ("boolean", "datetime"):
        return [_cell(v, kind) for v in col.to_numpy(dtype=object)]
    else:
        vals = [str(v) for v in col.to_numpy(dtype=object)]
    return [None if m else v for v, m in zip(vals, miss)]


def to_dataset_json(df: pd.DataFrame, domain: str, *, label: str | None = None,
                    study_oid: str | None = None) -> dict:
    """A CDISC Dataset-JSON v1.1 document (as a dict) holding one domain.

    Example
    -------
    >>> doc = to_dataset_json(pd.DataFrame({"USUBJID": ["S-1"], "AGE": [54]}), "DM")
    >>> doc["datasetJSONVersion"], doc["records"], doc["columns"][1]["dataType"], doc["rows"]
    ('1.1.0', 1, 'integer', [['S-1', 54]])
    """
    name = domain.upper()
    spec = spec_for(name)
    columns, kinds = [], []
    for c in df.columns:
        kind = _json_type(df[c])
        item = {"itemOID": f"IT.{name}.{c}", "name": str(c), "label": label_for(name, str(c)),
                "dataType": kind}
        if kind == "string":
            longest = df[c].astype("string").str.len().max(skipna=True)
            item["length"] = 1 if pd.isna(longest) else max(1, int(longest))
        if kind == "datetime":
            item["targetDataType"] = "integer"
        if c in ("USUBJID",) or (str(c).endswith("SEQ") and not str(c).startswith("IDVAR")):
            item["keySequence"] = 1 if c == "USUBJID" else 2
        columns.append(item)
        kinds.append(kind)
    rows = [list(r) for r in zip(*(_column_values(df[c], k) for c, k in zip(df.columns, kinds)))] \
        if len(df.columns) else [[] for _ in range(len(df))]
    if study_oid is None and "STUDYID" in df.columns and len(df):
        study_oid = str(df["STUDYID"].iloc[0])
    doc = {
        "datasetJSONCreationDateTime": datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),
        "datasetJSONVersion": _DATASET_JSON_VERSION,
        "originator": "oncotrial",
        "sourceSystem": {"name": "oncotrial", "version": __version__},
    }
    if study_oid:
        doc["studyOID"] = study_oid
    doc.update({
        "itemGroupOID": f"IG.{name}",
        "isReferenceData": False,
        "records": len(rows),
        "name": name,
        "label": label or (spec.label if spec is not None else name),
        "columns": columns,
        "rows": rows,
    })
    return doc


def from_dataset_json(doc: Mapping, *, source: str = "Dataset-JSON") -> pd.DataFrame:
    """The domain held in a Dataset-JSON v1.1 document, typed by each column's dataType."""
    for key in ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID",
                "records", "name", "label", "columns", "rows"):
        if key not in doc:
            raise ValueError(f"{source}: Dataset-JSON top-level attribute {key!r} is missing")
    version = str(doc["datasetJSONVersion"])
    if not version.startswith("1.1"):
        raise ValueError(f"{source}: datasetJSONVersion {version!r} is not 1.1.x")
    name = str(doc["name"])
    cols = doc["columns"]
    for i, col in enumerate(cols):
        for key in ("itemOID", "name", "label", "dataType"):
            if key not in col:
                raise ValueError(f"{name}: column {i + 1} has no {key!r}")
        if col["dataType"] not in _JSON_TYPES:
            raise ValueError(f"{name}: column {col['name']} has unknown dataType {col['dataType']!r}")
    rows = doc["rows"]
    if int(doc["records"]) != len(rows):
        raise ValueError(f"{name}: records is {doc['records']} but {len(rows)} rows are present")
    width = len(cols)
    for r, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{name} row {r + 1}: has {len(row)} values, expected {width} (one per column)")
    names = [c["name"] for c in cols]
    df = pd.DataFrame(rows, columns=names, dtype=object) if rows else pd.DataFrame(columns=names, dtype=object)
    for col in cols:
        n, kind = col["name"], col["dataType"]
        if kind in ("integer", "decimal", "float", "double"):
            s = df[n]
            conv = pd.to_numeric(s, errors="coerce")
            bad = np.flatnonzero((s.notna() & conv.isna()).to_numpy())
            if len(bad):
                r = int(bad[0])
                raise ValueError(f"{name} row {r + 1}: {n} {s.iloc[r]!r} is not a {kind}")
            df[n] = conv.astype(float)
            if kind == "integer" and df[n].notna().all():
                df[n] = df[n].astype(np.int64)
        elif kind == "boolean":
            df[n] = df[n].astype("boolean")
        elif kind == "datetime" and col.get("targetDataType") == "integer":
            df[n] = pd.to_datetime(df[n])
        else:
            s = df[n].astype("string")
            df[n] = s.astype(object).where(s.notna(), np.nan).astype("str")
    return df


def _read_json(path: Path) -> pd.DataFrame:
    with open(path, encoding="utf-8") as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name}: not valid JSON ({exc})") from exc
    return from_dataset_json(doc, source=path.name)


def _write_json(df: pd.DataFrame, domain: str, label: str | None, tmp: Path) -> None:
    doc = to_dataset_json(df, domain, label=label)
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, allow_nan=False)


# ----------------------------------------------------------------------------- public
def _format_of(path: Path) -> str:
    ext = path.suffix.lower()
    for fmt, e in _EXT.items():
        if ext == e:
            return fmt
    raise ValueError(f"{path.name}: unknown SDTM file type {ext!r}; expected one of .csv, .xpt, .json")


def read_domain(path: str | os.PathLike, *, domain: str | None = None, validate: bool = True,
                strict: bool = False) -> pd.DataFrame:
    """Read one SDTM domain from a ``.csv``, ``.xpt`` or Dataset-JSON ``.json`` file.

    ``domain`` defaults to the file name (``ae.xpt`` -> ``AE``).  With ``validate`` the
    domain is checked by :func:`oncotrial.sdtm.validate_domain` (``strict`` also
    requires the Expected variables).

    Example
    -------
    >>> dm = read_domain("sdtm/dm.csv")                       # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such SDTM file")
    fmt = _format_of(path)
    name = (domain or path.stem).upper()
    raw = {"csv": _read_csv, "xpt": _read_xpt, "json": _read_json}[fmt](path)
    df = _coerce(raw, name)
    if validate:
        df = validate_domain(df, name, strict=strict)
    return df


def _prepare(df: pd.DataFrame, domain: str, validate: bool, strict: bool) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{domain}: expected a pandas DataFrame, got {type(df).__name__}")
    df = df.reset_index(drop=True)
    if validate:
        df = validate_domain(df, domain, strict=strict)
    return _coerce(df, domain)


def write_domain(df: pd.DataFrame, path: str | os.PathLike, *, domain: str | None = None,
                 label: str | None = None, validate: bool = True, strict: bool = False) -> Path:
    """Write one domain; the format follows the extension (``.csv``, ``.xpt``, ``.json``).

    XPORT files are SAS transport v5 (``pyreadstat.write_xport(file_format_version=5)``):
    names of at most 8 characters, labels of at most 40, character values of at most
    200.  The file appears only when completely written.
    """
    path = Path(path)
    fmt = _format_of(path)
    name = (domain or path.stem).upper()
    data = _prepare(df, name, validate, strict)
    spec = spec_for(name)
    lab = label or (spec.label if spec is not None else name)
    if fmt == "csv":
        _atomic(path, lambda t: _write_csv(data, t))
    elif fmt == "xpt":
        _atomic(path, lambda t: _write_xpt(data, name, lab, t))
    else:
        _atomic(path, lambda t: _write_json(data, name, label, t))
    return path


def read_sdtm(directory: str | os.PathLike, *, prefer: Iterable[str] = ("xpt", "json", "csv"),
              validate: bool = True, strict: bool = False) -> dict[str, pd.DataFrame]:
    """Read every SDTM domain in a folder (any mix of CSV, XPORT and Dataset-JSON).

    Returns ``{"DM": DataFrame, "AE": ...}``.  Where one domain is present in several
    formats the first format in ``prefer`` is read.

    Example
    -------
    >>> sdtm = read_sdtm("/data/patina/sdtm")                 # doctest: +SKIP
    >>> sorted(sdtm)                                          # doctest: +SKIP
    ['AE', 'DM', 'DS', 'EX', 'RS', 'SUPPDM', 'SV']
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a folder")
    order = list(prefer)
    bad = [f for f in order if f not in FORMATS]
    if bad:
        raise ValueError(f"prefer: unknown format(s) {bad}; expected a subset of {FORMATS}")
    found: dict[str, Path] = {}
    for fmt in order:
        for p in sorted(directory.glob(f"*{_EXT[fmt]}")):
            if p.name.startswith("."):
                continue
            found.setdefault(p.stem.upper(), p)
    return {name: read_domain(p, domain=name, validate=validate, strict=strict)
            for name, p in sorted(found.items())}


def write_sdtm(domains: Mapping[str, pd.DataFrame], directory: str | os.PathLike, *,
               formats: Iterable[str] = ("csv", "xpt"), validate: bool = True,
               strict: bool = False) -> list[Path]:
    """Write a set of domains into a folder, one file per domain and format.

    All domains are checked and converted before anything is written; files are then
    written to temporary names and renamed into place, so an error leaves the folder
    as it was.

    Example
    -------
    >>> write_sdtm({"DM": dm, "AE": ae}, "out/sdtm", formats=("csv", "xpt", "json"))  # doctest: +SKIP
    [PosixPath('out/sdtm/ae.csv'), PosixPath('out/sdtm/ae.xpt'), ...]
    """
    fmts = list(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ValueError(f"formats: {bad or fmts} not valid; expected a non-empty subset of {FORMATS}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    prepared = {}
    for name, df in domains.items():
        up = str(name).upper()
        data = _prepare(df, up, validate, strict)
        if "xpt" in fmts:
            _xpt_frame(data, up)  # fail on XPORT limits before anything is written
        prepared[up] = data
    staged: list[tuple[str, Path]] = []
    try:
        for name, data in sorted(prepared.items()):
            spec = spec_for(name)
            lab = spec.label if spec is not None else name
            for fmt in fmts:
                target = directory / f"{name.lower()}{_EXT[fmt]}"
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
                os.close(fd)
                staged.append((tmp, target))
                if fmt == "csv":
                    _write_csv(data, Path(tmp))
                elif fmt == "xpt":
                    _write_xpt(data, name, lab, Path(tmp))
                else:
                    _write_json(data, name, None, Path(tmp))
    except BaseException:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    return [t for _, t in staged]
