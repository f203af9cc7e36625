"""The protocol's data-capture block ``[edc]``: code lists, forms (versioned), visits, edit checks, SDV, AE dictionary.

A field names the SDTM variable(s) it feeds (``sdtm = ["AE.AETERM"]``; ``SUPPDM.MENOSTAT`` for a
supplemental qualifier; a findings field gives ``testcd``/``test`` and feeds ``TR.TRORRES``), so the
export needs no hand mapping. Whether those variables exist in the SDTM spec is checked by
:mod:`oncotrial.collect` (the protocol imports no other package); everything else — code lists,
expressions, field names, the schedule — is checked here when the protocol loads.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from oncotrial.protocol.expr import ExprError, parse

FieldType = Literal["text", "integer", "decimal", "date", "datetime", "code", "boolean"]
_ID = r"^[A-Za-z][A-Za-z0-9_]*$"
_TARGET = re.compile(r"^(SUPP)?[A-Z]{2}\.[A-Z][A-Z0-9]{0,7}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Code(_Model):
    code: str = Field(min_length=1)
    label: str = ""


class CodeList(_Model):
    id: str = Field(pattern=_ID)
    codes: list[Code] = Field(min_length=1)

    @field_validator("codes")
    @classmethod
    def _unique(cls, v: list[Code]) -> list[Code]:
        seen = [c.code for c in v]
        dup = sorted({c for c in seen if seen.count(c) > 1})
        if dup:
            raise ValueError(f"codes must be unique, {dup} repeated")
        return v

    def label(self, code: str) -> str:
        for c in self.codes:
            if c.code == code:
                return c.label or c.code
        return code


class FormField(_Model):
    """One field of a form. ``sdtm`` lists ``DOMAIN.VARIABLE`` targets (a findings field adds ``testcd``)."""

    id: str = Field(pattern=_ID)
    label: str
    type: FieldType
    unit: str = ""
    min: float | None = None
    max: float | None = None
    required: bool = False
    codelist: str = ""
    show_if: str = ""
    partial_dates: bool = False
    sdtm: list[str] = []
    testcd: str = ""
    test: str = ""
    origin: str = "CRF"

    @field_validator("sdtm", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("sdtm")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        for t in v:
            if not _TARGET.match(t):
                raise ValueError(f"{t!r} is not DOMAIN.VARIABLE (e.g. AE.AETERM or SUPPDM.MENOSTAT)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        if self.type == "code" and not self.codelist:
            raise ValueError(f"{self.id}: a code field needs a codelist")
        if self.codelist and self.type != "code":
            raise ValueError(f"{self.id}: codelist is only for type = 'code' (type is {self.type!r})")
        if (self.min is not None or self.max is not None) and self.type not in ("integer", "decimal"):
            raise ValueError(f"{self.id}: min/max are only for integer and decimal fields")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.id}: min ({self.min:g}) is above max ({self.max:g})")
        if self.testcd and not self.test:
            raise ValueError(f"{self.id}: testcd {self.testcd!r} needs its test name (test = ...)")
        return self

    @property
    def domains(self) -> list[str]:
        return [t.split(".")[0] for t in self.sdtm]


class FormVersion(_Model):
    version: int = Field(ge=1)
    fields: list[str] = Field(min_length=1)
    note: str = ""


class SdvPlan(_Model):
    mode: Literal["all", "sample", "none"] = "all"
    fraction: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _fraction(self) -> SdvPlan:
        if (self.mode == "sample") != (self.fraction is not None):
            raise ValueError("give fraction exactly when mode = 'sample'")
        return self


class Form(_Model):
    """An eCRF. ``versions`` list the fields each version shows (default: one version with every field)."""

    id: str = Field(pattern=_ID)
    label: str
    repeats: bool = False
    repeat_key: str = ""
    fields: list[FormField] = Field(min_length=1)
    versions: list[FormVersion] = []
    constants: dict[str, str] = {}
    sdv: SdvPlan = SdvPlan()

    @model_validator(mode="after")
    def _consistent(self) -> Form:
        ids = [f.id for f in self.fields]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"field ids must be unique, {dup} repeated")
        nums = [v.version for v in self.versions]
        if nums != sorted(set(nums)):
            raise ValueError(f"versions must be numbered in increasing order without repeats, got {nums}")
        for v in self.versions:
            unknown = [f for f in v.fields if f not in ids]
            if unknown:
                raise ValueError(f"version {v.version} lists unknown field(s) {unknown}")
        if self.repeat_key and self.repeat_key not in ids:
            raise ValueError(f"repeat_key {self.repeat_key!r} is not a field")
        if self.repeat_key and not self.repeats:
            raise ValueError("repeat_key is only for a repeating form")
        for t in self.constants:
            if not _TARGET.match(t):
                raise ValueError(f"constants: {t!r} is not DOMAIN.VARIABLE")
        return self

    def field(self, field_id: str) -> FormField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(f"form {self.id}: no field {field_id!r}")

    @property
    def version_numbers(self) -> list[int]:
        return [v.version for v in self.versions] or [1]

    @property
    def latest_version(self) -> int:
        return self.version_numbers[-1]

    def fields_of(self, version: int) -> list[FormField]:
        """The fields of one version, in form order; KeyError for an unknown version."""
        if not self.versions:
            if version != 1:
                raise KeyError(f"form {self.id} has no version {version} (versions: [1])")
            return list(self.fields)
        for v in self.versions:
            if v.version == version:
                keep = set(v.fields)
                return [f for f in self.fields if f.id in keep]
        raise KeyError(f"form {self.id} has no version {version} (versions: {self.version_numbers})")


VisitKind = Literal["screening", "cycle", "assessment", "end_of_treatment", "follow_up", "unscheduled", "log"]


class Visit(_Model):
    """A visit (or a series of visits) of the schedule.

    ``cycle``: day 1 of every cycle (``cycle_length_days``, default the protocol's
    ``schedule.visit_interval_days``), named ``name`` with ``{n}`` the cycle and numbered
    ``visitnum + n - 1``. ``assessment``: every ``schedule.interval_weeks`` within
    ``schedule.window_days``, ``{n}``/``{week}`` in the name, numbered ``visitnum + n - 1``.
    ``follow_up``: every ``every_weeks`` after end of treatment. ``log``: forms kept
    across the whole study (AEs, medications), with no visit number.
    """

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    kind: VisitKind
    name: str
    visitnum: float | None = None
    forms: list[str] = []
    cycle_length_days: int | None = Field(default=None, gt=0)
    every_weeks: float | None = Field(default=None, gt=0)
    window_days: int | None = Field(default=None, ge=0)
    day: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Visit:
        series = self.kind in ("cycle", "assessment", "follow_up")
        if series and "{n}" not in self.name and "{week}" not in self.name:
            raise ValueError(f"{self.id}: a {self.kind} series needs '{{n}}' or '{{week}}' in its name")
        if self.kind == "follow_up" and self.every_weeks is None:
            raise ValueError(f"{self.id}: follow_up visits need every_weeks")
        if self.every_weeks is not None and self.kind != "follow_up":
            raise ValueError(f"{self.id}: every_weeks is only for follow_up visits (assessments follow schedule.interval_weeks)")
        if self.cycle_length_days is not None and self.kind != "cycle":
            raise ValueError(f"{self.id}: cycle_length_days is only for cycle visits")
        if self.kind not in ("log", "unscheduled") and self.visitnum is None:
            raise ValueError(f"{self.id}: visitnum is required for a {self.kind} visit")
        if self.kind == "log" and self.visitnum is not None:
            raise ValueError(f"{self.id}: a log has no visit number")
        return self


class EditCheck(_Model):
    """A rule on each record of ``form``: ``expr`` must hold; a finding is attached to ``field``.

    A result that cannot be decided (a value missing) raises no finding; required and
    range come from the fields themselves.
    """

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    form: str
    field: str
    expr: str
    message: str


class Edc(_Model):
    """The ``[edc]`` block."""

    ae_dictionary: str = ""
    dy_reference: str = Field(default="RFSTDTC", pattern=r"^(RFSTDTC|[A-Za-z][A-Za-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*)$")
    sdv_seed: int = Field(default=0, ge=0)
    """Seed of the SDV plan's sample draws (:func:`oncotrial.collect.sdv_required`); fixed for the trial,
    since a new seed selects different records."""
    codelists: list[CodeList] = []
    forms: list[Form] = Field(min_length=1)
    visits: list[Visit] = Field(min_length=1)
    edit_checks: list[EditCheck] = []

    def form(self, form_id: str) -> Form:
        for f in self.forms:
            if f.id == form_id:
                return f
        raise KeyError(f"form {form_id!r} is not in the protocol (forms: {[f.id for f in self.forms]})")

    def codelist(self, list_id: str) -> CodeList:
        for c in self.codelists:
            if c.id == list_id:
                return c
        raise KeyError(f"code list {list_id!r} is not in the protocol")

    def visit(self, visit_id: str) -> Visit:
        for v in self.visits:
            if v.id == visit_id:
                return v
        raise KeyError(f"visit {visit_id!r} is not in the schedule (visits: {[v.id for v in self.visits]})")


def _check_expr(text: str, path: str, form: Form, forms: dict[str, Form], *, cross: bool) -> list[str]:
    try:
        node = parse(text)
    except ExprError as exc:
        return [f"{path}: {exc}"]
    out = []
    own = {f.id for f in form.fields}
    for fm, fld in node.names():
        if fm is None:
            if fld not in own:
                out.append(f"{path}: {fld!r} is not a field of form {form.id} (fields: {sorted(own)})")
        elif not cross:
            out.append(f"{path}: a show-condition may name only fields of its own form, not {fm}.{fld}")
        elif fm not in forms:
            out.append(f"{path}: {fm!r} is not a form (forms: {sorted(forms)})")
        elif fld not in {f.id for f in forms[fm].fields}:
            out.append(f"{path}: {fld!r} is not a field of form {fm}")
    return out


def edc_problems(edc: Edc, *, cycle_lengths: set[int], default_cycle: int,
                 derived_lists: set[str] = frozenset()) -> list[str]:
    """Every cross-reference problem of an ``[edc]`` block, each naming its form/field/visit.

    ``derived_lists`` are the code lists the protocol derives (``arms``, ``strata.<factor>``).
    """
    out: list[str] = []
    forms: dict[str, Form] = {}
    for f in edc.forms:
        if f.id in forms:
            out.append(f"edc.forms[{f.id}]: form id repeated")
        forms[f.id] = f
    lists = {c.id for c in edc.codelists}
    if len(lists) != len(edc.codelists):
        out.append("edc.codelists: code list ids must be unique")
    lists |= set(derived_lists)
    for f in edc.forms:
        for fld in f.fields:
            path = f"edc.forms[{f.id}].fields[{fld.id}]"
            if fld.codelist and fld.codelist not in lists:
                out.append(f"{path}.codelist: {fld.codelist!r} is not a code list (known: {sorted(lists)})")
            if fld.show_if:
                out.extend(_check_expr(fld.show_if, f"{path}.show_if", f, forms, cross=False))
    ids = [v.id for v in edc.visits]
    for v in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(f"edc.visits[{v}]: visit id repeated")
    carried = set()
    kinds = [v.kind for v in edc.visits]
    for v in edc.visits:
        path = f"edc.visits[{v.id}]"
        for fm in v.forms:
            if fm not in forms:
                out.append(f"{path}.forms: {fm!r} is not a form (forms: {sorted(forms)})")
            carried.add(fm)
        if v.kind == "cycle":
            length = v.cycle_length_days or default_cycle
            if cycle_lengths and length not in cycle_lengths:
                out.append(f"{path}.cycle_length_days: {length} is no drug's cycle length (regimens: {sorted(cycle_lengths)})")
        if v.kind == "follow_up" and v.window_days is not None and v.every_weeks is not None \
                and 2 * v.window_days >= 7 * v.every_weeks:
            out.append(f"{path}.window_days: +/-{v.window_days} days overlaps the next visit ({v.every_weeks:g} weeks apart)")
    for k in ("screening", "end_of_treatment"):
        if kinds.count(k) > 1:
            out.append(f"edc.visits: more than one {k} visit")
    nums = [(v.id, v.visitnum) for v in edc.visits if v.visitnum is not None and v.kind not in ("cycle", "assessment", "follow_up")]
    seen: dict[float, str] = {}
    for vid, n in nums:
        if n in seen:
            out.append(f"edc.visits[{vid}].visitnum: {n:g} is also {seen[n]}'s")
        seen[n] = vid
    for f in edc.forms:
        if f.id not in carried:
            out.append(f"edc.forms[{f.id}]: no visit carries this form")
    check_ids = [c.id for c in edc.edit_checks]
    for c in sorted({i for i in check_ids if check_ids.count(i) > 1}):
        out.append(f"edc.edit_checks[{c}]: check id repeated")
    if edc.dy_reference != "RFSTDTC":
        fm, _, fld = edc.dy_reference.partition(".")
        if fm not in forms or fld not in {x.id for x in forms[fm].fields}:
            out.append(f"edc.dy_reference: {edc.dy_reference!r} is not a form's field (or RFSTDTC)")
        elif forms[fm].field(fld).type != "date" or forms[fm].repeats:
            out.append(f"edc.dy_reference: {edc.dy_reference} must be a date field of a non-repeating form")
    for c in edc.edit_checks:
        path = f"edc.edit_checks[{c.id}]"
        if c.form not in forms:
            out.append(f"{path}.form: {c.form!r} is not a form (forms: {sorted(forms)})")
            continue
        if c.field not in {x.id for x in forms[c.form].fields}:
            out.append(f"{path}.field: {c.field!r} is not a field of form {c.form}")
        out.extend(_check_expr(c.expr, f"{path}.expr", forms[c.form], forms, cross=True))
    return out
