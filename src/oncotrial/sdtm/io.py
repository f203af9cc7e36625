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
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

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
    "write_sdtm_chunks",
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


def _as_number(s: pd.Series, integral: bool | None = None) -> pd.Series:
    """Numbers, as int64 when every value is a whole number (``integral``: what the whole dataset
    says, when ``s`` is a part of it)."""
    num = pd.to_numeric(s, errors="coerce").astype(float)
    if integral is None:
        vals = num.to_numpy()
        integral = bool(num.notna().all() and np.all(np.mod(vals, 1) == 0) and len(vals))
    return num.astype(np.int64) if integral else num


def _text(col: pd.Series) -> pd.Series:
    """Strings with blanks as missing; each distinct value is handled once."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    vals = np.array([None if str(u).strip() == "" else str(u) for u in uniques] + [None], dtype=object)
    arr = vals[np.where(codes >= 0, codes, len(vals) - 1)]
    return pd.Series(arr, index=col.index, dtype="str")


def _coerce(df: pd.DataFrame, domain: str, numeric: Iterable[str] = (), whole: "_Whole | None" = None
            ) -> pd.DataFrame:
    """Strings for character variables (blank -> NA), numbers for numeric ones; ``whole`` decides
    what depends on every row (int or float, empty or not) when ``df`` is a part of the dataset."""
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
            out[c] = _as_number(col, None if whole is None else whole.integral.get(c, True) and whole.rows > 0)
        elif not pd.api.types.is_datetime64_any_dtype(col):
            if pd.api.types.is_numeric_dtype(col) and (col.isna().all() if whole is None
                                                       else whole.all_missing.get(c, True)):
                # An all-missing column of a text variable: missing text (pandas needs where's
                # condition as an array of the column's shape; a scalar False raises).
                out[c] = pd.Series(pd.NA, index=out.index, dtype="string").astype(str).where(
                    np.zeros(len(out), dtype=bool))
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
    if study_oid is None and "STUDYID" in df.columns and len(df):
        study_oid = str(df["STUDYID"].iloc[0])
    lengths = {c: df[c].astype("string").str.len().max(skipna=True) for c in df.columns
               if _json_type(df[c]) == "string"}
    return {**_json_head(df, domain, label, study_oid, len(df), lengths), "rows": _json_rows(df)}


def _json_head(df: pd.DataFrame, domain: str, label: str | None, study_oid: str | None, records: int,
               lengths: Mapping[str, object]) -> dict:
    """A Dataset-JSON document without its rows: ``df`` gives the columns' types (it may be any part
    of the dataset), ``lengths`` each string column's longest value over the whole."""
    name = domain.upper()
    spec = spec_for(name)
    columns = []
    for c in df.columns:
        kind = _json_type(df[c])
        item = {"itemOID": f"IT.{name}.{c}", "name": str(c), "label": label_for(name, str(c)),
                "dataType": kind}
        if kind == "string":
            longest = lengths.get(c)
            item["length"] = 1 if longest is None or pd.isna(longest) else max(1, int(longest))
        if kind == "datetime":
            item["targetDataType"] = "integer"
        if c in ("USUBJID",) or (str(c).endswith("SEQ") and not str(c).startswith("IDVAR")):
            item["keySequence"] = 1 if c == "USUBJID" else 2
        columns.append(item)
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
        "records": records,
        "name": name,
        "label": label or (spec.label if spec is not None else name),
        "columns": columns,
    })
    return doc


def _json_rows(df: pd.DataFrame) -> list[list]:
    kinds = [_json_type(df[c]) for c in df.columns]
    return [list(r) for r in zip(*(_column_values(df[c], k) for c, k in zip(df.columns, kinds)))] \
        if len(df.columns) else [[] for _ in range(len(df))]


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
    as it was. The same files as :func:`write_sdtm_chunks` with the domains as one chunk.

    Example
    -------
    >>> write_sdtm({"DM": dm, "AE": ae}, "out/sdtm", formats=("csv", "xpt", "json"))  # doctest: +SKIP
    [PosixPath('out/sdtm/ae.csv'), PosixPath('out/sdtm/ae.xpt'), ...]
    """
    return write_sdtm_chunks(lambda: [domains], directory, formats=formats, validate=validate, strict=strict)


@dataclass
class _Whole:
    """What the files of a dataset need to know of all its rows before the first is written."""

    rows: int = 0
    integral: dict[str, bool] = field(default_factory=dict)  # numeric variable: every value a whole number
    all_missing: dict[str, bool] = field(default_factory=dict)  # numeric-typed character variable: no value
    chars: dict[str, int] = field(default_factory=dict)  # text: the longest value in characters (Dataset-JSON)
    width: dict[str, int] = field(default_factory=dict)  # text: ... in UTF-8 bytes, at least 1 (XPORT)
    study_oid: str | None = None

    def take(self, domain: str, df: pd.DataFrame, data: pd.DataFrame) -> None:
        """Take in a part: ``df`` as checked, ``data`` as :func:`_coerce` makes it on its own."""
        for c in _numeric_vars(domain, df.columns):
            self.integral[c] = self.integral.get(c, True) and (not len(data) or
                                                                pd.api.types.is_integer_dtype(data[c]))
        for c in df.columns:
            if c not in self.integral and pd.api.types.is_numeric_dtype(df[c]):
                self.all_missing[c] = self.all_missing.get(c, True) and bool(df[c].isna().all())
            col = data[c]
            if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
                continue
            text = col.astype("string")
            longest = text.str.len().max(skipna=True)
            if not pd.isna(longest):
                self.chars[c] = max(self.chars.get(c, 0), int(longest))
            wide = text.fillna("").str.encode("utf-8").str.len().max() if len(text) else 0
            self.width[c] = max(self.width.get(c, 1), int(wide))
        if self.study_oid is None and self.rows == 0 and len(data) and "STUDYID" in data.columns:
            self.study_oid = str(data["STUDYID"].iloc[0])
        self.rows += len(df)


_ROW = re.compile(r"\b([A-Z0-9]+ row )(\d+):")


def _in_part(offset: int, call: Callable, *args: object, **kwargs: object):
    """``call(...)`` on a part of a dataset starting at row ``offset + 1``; the rows its errors name
    are counted from the dataset's first."""
    try:
        return call(*args, **kwargs)
    except ValueError as exc:
        if not offset:
            raise
        raise ValueError(_ROW.sub(lambda m: f"{m[1]}{int(m[2]) + offset}:", str(exc))) from None


_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"


class _Files:
    """The files of one dataset in every format, written a part at a time to temporary names."""

    def __init__(self, directory: Path, name: str, formats: list[str], whole: _Whole,
                 staged: list[tuple[str, Path]]) -> None:
        self.name, self.whole, self.handles = name, whole, {}
        spec = spec_for(name)
        self.label = spec.label if spec is not None else name
        self.first, self.json_rows = True, 0
        for fmt in formats:
            target = directory / f"{name.lower()}{_EXT[fmt]}"
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
            staged.append((tmp, target))
            self.handles[fmt] = os.fdopen(fd, "w" if fmt == "csv" else "wb")

    def write(self, data: pd.DataFrame) -> None:
        first, self.first = self.first, False
        for fmt, fh in self.handles.items():
            if fmt == "csv":
                data.to_csv(fh, index=False, na_rep="", header=first)
            elif fmt == "json":
                self._json(fh, data, first)
            elif len(data) or first:
                self._xpt(fh, data, first)

    def _json(self, fh, data: pd.DataFrame, first: bool) -> None:
        text = ""
        if first:
            head = _json_head(data, self.name, None, self.whole.study_oid, self.whole.rows, self.whole.chars)
            opening = json.dumps({**head, "rows": []}, ensure_ascii=False, allow_nan=False)
            text = opening[:-len("[]}")] + "["
        rows = _json_rows(data)
        if rows:
            text += (", " if self.json_rows else "") + ", ".join(
                json.dumps(r, ensure_ascii=False, allow_nan=False) for r in rows)
            self.json_rows += len(rows)
        fh.write(text.encode("utf-8"))

    def _xpt(self, fh, data: pd.DataFrame, first: bool) -> None:
        """pyreadstat writes the part with one more row whose text is as wide as the dataset's
        widest, so the part has the dataset's record layout; its observations are appended and
        the header is kept from the first part."""
        import pyreadstat

        frame, labels = _xpt_frame(data, self.name)
        widest = {c: ("X" * self.whole.width.get(c, 1) if frame[c].dtype == object else 0.0) for c in frame.columns}
        padded = pd.concat([frame, pd.DataFrame([widest], columns=frame.columns)], ignore_index=True)
        for c in frame.columns:
            padded[c] = padded[c].astype(frame[c].dtype if frame[c].dtype == object else float)
        fd, tmp = tempfile.mkstemp(suffix=".xpt")
        os.close(fd)
        try:
            pyreadstat.write_xport(padded, tmp, file_label=self.label[:40], column_labels=labels,
                                   table_name=self.name.upper(), file_format_version=5)
            raw = Path(tmp).read_bytes()
        finally:
            os.unlink(tmp)
        start = raw.index(_OBS_HEADER) + 80
        record = sum(self.whole.width.get(c, 1) if frame[c].dtype == object else 8 for c in frame.columns)
        if not 0 <= len(raw) - start - len(padded) * record < 80:
            raise RuntimeError(f"{self.name}: XPORT record layout is not the expected {record} bytes a row")
        if first:
            fh.write(raw[:start])
        fh.write(raw[start:start + len(frame) * record])

    def close(self) -> None:
        for fmt, fh in self.handles.items():
            if fmt == "json":
                fh.write(b"]}")
            elif fmt == "xpt":
                fh.write(b" " * (-fh.tell() % 80))
            fh.close()


def write_sdtm_chunks(chunks: Callable[[], Iterable[Mapping[str, pd.DataFrame]]], directory: str | os.PathLike, *,
                      formats: Iterable[str] = ("csv", "xpt"), validate: bool = True,
                      strict: bool = False) -> list[Path]:
    """Write domains given a part at a time, one file per domain and format, holding one part in memory.

    ``chunks()`` gives the parts (each a mapping of every domain to some of its rows, in order,
    with the whole domain's columns and dtypes) and is called twice: the first reading checks
    every part and learns what the files need to know of all rows (a column's widest value, whether
    every value is a whole number); the second writes. The files are those :func:`write_sdtm`
    writes of the parts put together: CSV and Dataset-JSON rows are appended, and each part's
    XPORT observations (written by pyreadstat in the dataset's record layout) follow the first
    part's header. Errors name the row counted from the domain's first.

    Example
    -------
    >>> parts = lambda: [{"DM": dm.iloc[:100]}, {"DM": dm.iloc[100:]}]            # doctest: +SKIP
    >>> write_sdtm_chunks(parts, "out/sdtm", formats=("csv", "xpt"))              # doctest: +SKIP
    [PosixPath('out/sdtm/dm.csv'), PosixPath('out/sdtm/dm.xpt')]
    """
    fmts = list(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ValueError(f"formats: {bad or fmts} not valid; expected a non-empty subset of {FORMATS}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    def checked(part: Mapping[str, pd.DataFrame], before: Mapping[str, int]) -> Iterator[tuple[str, pd.DataFrame]]:
        """Each domain of a part, checked; ``before`` counts the rows of the parts before it."""
        for name, df in part.items():
            up = str(name).upper()
            if not isinstance(df, pd.DataFrame):
                raise ValueError(f"{up}: expected a pandas DataFrame, got {type(df).__name__}")
            offset = before.get(up, 0)
            df = df.reset_index(drop=True)
            yield up, _in_part(offset, validate_domain, df, up, strict=strict) if validate else df

    wholes: dict[str, _Whole] = {}
    for part in chunks():
        for up, df in checked(part, {up: w.rows for up, w in wholes.items()}):
            whole = wholes.setdefault(up, _Whole())
            data = _in_part(whole.rows, _coerce, df, up)
            if "xpt" in fmts:
                _in_part(whole.rows, _xpt_frame, data, up)  # fail on XPORT limits before anything is written
            whole.take(up, df, data)
    staged: list[tuple[str, Path]] = []
    files: dict[str, _Files] = {}
    try:
        written = {up: 0 for up in wholes}
        for part in chunks():
            for up, df in checked(part, written):
                if up not in files:
                    files[up] = _Files(directory, up, fmts, wholes[up], staged)
                files[up].write(_coerce(df, up, whole=wholes[up]))
                written[up] += len(df)
        for f in files.values():
            f.close()
    except BaseException:
        for f in files.values():
            for fh in f.handles.values():
                fh.close()
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    return sorted((t for _, t in staged), key=lambda t: (t.stem, fmts.index(t.suffix[1:])))
