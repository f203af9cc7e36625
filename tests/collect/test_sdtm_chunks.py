"""SDTM of a trial written a chunk of subjects at a time is the same bytes as all subjects at once,
even where a variable's type depends on every subject (a whole number in one chunk, missing in another)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oncotrial.collect import Casebook, FormRecord, SdtmSpool, casebooks_to_sdtm, sdtm_rows
from oncotrial.protocol import load_protocol
from oncotrial.sdtm import write_sdtm
from oncotrial.sdtm.io import write_sdtm_chunks


def _book(i: int, demog: dict, aes: int) -> Casebook:
    uid = f"P-{i}"
    return Casebook(uid, (FormRecord(uid, "SCREENING", "RAND", 1, {"RANDDT": "2021-01-04", "ARMCD": "A"}),
                          FormRecord(uid, "SCREENING", "DEMOG", 1, demog),
                          *(FormRecord(uid, "LOG", "AE", 1, {"AETERM": f"Term {k}" * (i + 1), "AESTDTC": "2021-01-10"},
                                       seq=k) for k in range(1, aes + 1))))


@pytest.mark.parametrize("size", [1, 2, 3])
def test_chunks_write_the_bytes_of_the_whole(tmp_path: Path, size: int) -> None:
    p = load_protocol("patina")
    books = [_book(1, {"AGE": 51, "SEX": "F"}, 2), _book(2, {"SEX": "M"}, 0), _book(3, {"AGE": 60, "SEX": "F"}, 1)]
    write_sdtm(casebooks_to_sdtm(p, books), tmp_path / "whole", formats=("csv", "xpt", "json"), validate=False)
    with SdtmSpool(tmp_path) as spool:
        for i in range(0, len(books), size):
            spool.add(sdtm_rows(p, books[i:i + size]))
        write_sdtm_chunks(spool.chunks, tmp_path / "parts", formats=("csv", "xpt", "json"), validate=False)
    whole, parts = _unstamped(tmp_path / "whole"), _unstamped(tmp_path / "parts")
    assert sorted(parts) == sorted(whole) and len(whole) == 9
    assert [n for n in whole if parts[n] != whole[n]] == []
    assert "51.0" in (tmp_path / "whole" / "dm.csv").read_text()  # AGE is missing for P-2, so not an integer


def _unstamped(folder: Path) -> dict[str, bytes]:
    """The files with their creation moments (XPORT header, Dataset-JSON) masked."""
    stamps = re.compile(rb'\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d|"datasetJSONCreationDateTime": "[^"]*"')
    return {f.name: stamps.sub(b"WHEN", f.read_bytes()) for f in folder.iterdir()}


def test_a_row_error_names_the_row_of_the_dataset_not_of_its_chunk(tmp_path: Path) -> None:
    import pandas as pd

    zz = pd.DataFrame({"STUDYID": ["S"] * 3, "DOMAIN": ["ZZ"] * 3, "USUBJID": ["1", "2", "3"],
                       "ZZDTC": ["2021-01-01", "2021-02-01", "2021-13-01"]})
    with pytest.raises(ValueError, match="ZZ row 3: ZZDTC '2021-13-01' is not an ISO 8601 date"):
        write_sdtm_chunks(lambda: [{"ZZ": zz.iloc[:2]}, {"ZZ": zz.iloc[2:]}], tmp_path, formats=("csv",))
    assert list(tmp_path.iterdir()) == []
