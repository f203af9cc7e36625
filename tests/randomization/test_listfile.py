"""Allocation-list CSV files: round trip, checksum, tamper detection naming the first bad row."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from oncotrial.randomization import (
    canonical_text,
    generate_permuted_blocks,
    generate_simple,
    read_allocation_list,
    verify_allocation_list,
    write_allocation_list,
)

FACTORS = {"induction_response": ["CR_PR", "SD"], "prior_antiher2": ["YES", "NO"]}
HEADER_LINES = 10  # 9 comment lines + the column header


@pytest.fixture
def written(tmp_path: Path):
    al = generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1], [2, 4], 8, seed=99)
    return al, write_allocation_list(al, tmp_path / "list.csv")


def _edit(path: Path, row: int, new_line: str | None) -> None:
    lines = path.read_text().splitlines()
    if new_line is None:
        del lines[HEADER_LINES + row - 1]
    else:
        lines[HEADER_LINES + row - 1] = new_line
    path.write_text("\n".join(lines) + "\n")


def test_round_trip_keeps_everything(written):
    al, path = written
    back = read_allocation_list(path)
    assert back == al
    assert back.to_frame().equals(al.to_frame())
    assert (back.seed, back.method, back.arms, back.ratio, back.block_sizes, back.factors) == (
        99, "permuted_blocks", ("A", "B"), (1, 1), (2, 4), tuple(FACTORS))


def test_simple_list_round_trips(tmp_path):
    al = generate_simple(FACTORS, ["A", "B"], [1, 1], 5, seed=2)
    assert read_allocation_list(write_allocation_list(al, tmp_path / "s.csv")) == al


def test_header_checksum_is_sha256_of_the_canonical_rows(written):
    al, path = written
    text = path.read_text()
    assert f"# sha256: {al.checksum}\n" in text
    assert al.checksum == hashlib.sha256(canonical_text(al.rows).encode()).hexdigest()
    # the documented shell recipe recomputes it from the file alone
    out = subprocess.run(
        f"grep -v '^#' {path} | cut -d, -f1-5 | sha256sum", shell=True, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[0] == al.checksum


def test_verify_summarises_a_good_list(written):
    al, path = written
    v = verify_allocation_list(path)
    assert v.checksum == al.checksum and v.n_rows == len(al.rows) and v.n_strata == 4
    assert dict(v.arm_counts) == {"A": len(al.rows) // 2, "B": len(al.rows) // 2}
    assert v.to_frame().loc[0, "n_A"] == len(al.rows) // 2


def test_altered_arm_names_the_first_bad_row(written):
    _, path = written
    line = path.read_text().splitlines()[HEADER_LINES + 5 - 1]
    cells = line.split(",")
    cells[4] = "B" if cells[4] == "A" else "A"
    _edit(path, 5, ",".join(cells))
    with pytest.raises(ValueError, match=r"row 5 \(line 15\) .* does not match the chain hash.*rows 1\.\.4 are intact"):
        read_allocation_list(path)


def test_swapping_two_rows_names_the_first_moved_row(written):
    _, path = written
    lines = path.read_text().splitlines()
    lines[HEADER_LINES + 2], lines[HEADER_LINES + 3] = lines[HEADER_LINES + 3], lines[HEADER_LINES + 2]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"row 3 \(line 13\)"):
        read_allocation_list(path)


def test_deleted_row_is_found_where_it_was(written):
    _, path = written
    _edit(path, 7, None)
    with pytest.raises(ValueError, match=r"row 7 \(line 17\)"):
        read_allocation_list(path)


def test_truncated_list_names_the_first_missing_row(written):
    al, path = written
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")
    n = len(al.rows)
    with pytest.raises(ValueError, match=rf"row {n - 1}: the header says {n} rows but the file has {n - 2}"):
        read_allocation_list(path)


def test_rewritten_header_checksum_is_detected(written):
    _, path = written
    text = path.read_text()
    path.write_text(text.replace("# sha256: ", "# sha256: 0", 1))
    with pytest.raises(ValueError, match="header line 2 sha256 .* does not match the rows"):
        read_allocation_list(path)


def test_malformed_row_is_named(written):
    _, path = written
    line = path.read_text().splitlines()[HEADER_LINES]
    cells = line.split(",")
    cells[1] = "one"
    _edit(path, 1, ",".join(cells))
    with pytest.raises(ValueError, match=r"row 1 \(line 11\) sequence: 'one' is not an integer"):
        read_allocation_list(path)


def test_non_canonical_number_is_named(written):
    _, path = written
    cells = path.read_text().splitlines()[HEADER_LINES + 1].split(",")
    cells[1] = "0" + cells[1]
    _edit(path, 2, ",".join(cells))
    with pytest.raises(ValueError, match=r"row 2 \(line 12\): .* is not in canonical form"):
        read_allocation_list(path)


def test_not_a_list_and_missing_file(tmp_path):
    p = tmp_path / "other.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="line 1 should be"):
        read_allocation_list(p)
    with pytest.raises(ValueError, match="does not exist"):
        read_allocation_list(tmp_path / "absent.csv")


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path, written):
    al, _ = written
    write_allocation_list(al, tmp_path / "x" / "list.csv")
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["list.csv"]
    with pytest.raises(ValueError, match="alloc: expected an AllocationList"):
        write_allocation_list("not a list", tmp_path / "y.csv")  # type: ignore[arg-type]
    assert not (tmp_path / "y.csv").exists()
