"""The landing contract: the check reads exactly what the dbt sources read, refuses everything
else by name, verifies page checksums, and records every file it read."""

from __future__ import annotations

import hashlib
import json
import shutil

import pyarrow.parquet as pq
import pytest

from conftest import make_paths
from trainset.landing import LandingError, check_landing, declared_sources, require_landing
from trainset.project import connect_duckdb


@pytest.fixture
def landing(small_landing, tmp_path):
    paths = make_paths(tmp_path)
    shutil.copytree(small_landing[0], paths.landing_dir)
    return paths


def duckdb_reads(paths) -> set[str]:
    """Independent reference: the files DuckDB reads through each source's own location."""
    read = set()
    connection = connect_duckdb()
    try:
        for table in declared_sources(paths.project_dir):
            pattern = f"{paths.landing_dir}/{table}/*.parquet"
            rows = connection.sql(
                f"select distinct filename from read_parquet('{pattern}', filename = true)"
            ).fetchall()
            read |= {str(row[0]) for row in rows}
    finally:
        connection.close()
    return {path.removeprefix(f"{paths.landing_dir}/") for path in read}


def test_a_clean_landing_zone_passes_and_lists_every_file_read(landing):
    report = require_landing(landing)
    assert report.problems == []
    listed = {entry.path: entry for entry in report.inventory}
    assert set(listed) == duckdb_reads(landing)
    for relative, entry in listed.items():
        path = landing.landing_dir / relative
        assert entry.size == path.stat().st_size
        assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry.rows == pq.read_table(path).num_rows
    assert report.rows == sum(pq.read_table(landing.landing_dir / p).num_rows for p in listed)


@pytest.mark.parametrize(
    ("relative", "named", "expected"),
    [
        (
            "orders/extra.csv",
            "orders/extra.csv",
            "not read by the source (it reads orders/*.parquet",
        ),
        ("orders/late/part-1.parquet", "orders/late", "a sub-folder"),
        ("orders/PART-2.PARQUET", "orders/PART-2.PARQUET", "only in letter case"),
        ("orders/.part-3.parquet.tmp", "orders/.part-3.parquet.tmp", "a hidden or temporary"),
        ("returns/part-0.parquet", "returns", "a folder that no declared source reads"),
        ("notes.txt", "notes.txt", "a file that no declared source reads"),
    ],
)
def test_files_the_sources_would_skip_are_refused_by_name(landing, relative, named, expected):
    source = next((landing.landing_dir / "orders").glob("*.parquet"))
    target = landing.landing_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() == ".csv":
        pq.read_table(source).to_pandas().to_csv(target, index=False)
    else:
        shutil.copy(source, target)
    # The file or folder is not read by DuckDB through the source location (proof that it
    # would be skipped), and the check names it.
    assert relative not in duckdb_reads(landing)
    with pytest.raises(LandingError) as error:
        require_landing(landing)
    lines = [
        line
        for line in str(error.value).splitlines()
        if f"{landing.landing_dir / named}:" in line or f"{landing.landing_dir / named}/:" in line
    ]
    assert len(lines) == 1 and expected in lines[0], str(error.value)


def test_top_level_metadata_files_are_tolerated(landing):
    assert (landing.landing_dir / "_generator.json").is_file()
    (landing.landing_dir / "_SUCCESS").write_text("")
    assert check_landing(landing).problems == []


def flip_bytes_in_a_data_page(path, column: str) -> None:
    metadata = pq.ParquetFile(path).metadata
    index = metadata.schema.names.index(column)
    chunk = metadata.row_group(0).column(index)
    data = bytearray(path.read_bytes())
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else None
    end = (start or chunk.data_page_offset) + chunk.total_compressed_size
    # The last bytes of the column chunk are the body of its last data page.
    offset = end - 12
    assert offset > chunk.data_page_offset
    for position in range(offset, offset + 4):
        data[position] ^= 0xFF
    path.write_bytes(bytes(data))


def read_amounts(path) -> list:
    connection = connect_duckdb()
    try:
        return connection.sql(f"select amount from read_parquet('{path}')").fetchall()
    finally:
        connection.close()


def test_a_corrupted_data_page_is_refused_with_the_file_name(landing):
    path = next((landing.landing_dir / "orders").glob("*.parquet"))
    before = path.stat().st_size
    amounts = read_amounts(path)
    flip_bytes_in_a_data_page(path, "amount")
    assert path.stat().st_size == before
    # The schema is intact and DuckDB decodes the file without a word, into other amounts:
    # only the page checksum tells.
    assert "amount" in pq.read_schema(path).names
    garbled = read_amounts(path)
    assert len(garbled) == len(amounts) and garbled != amounts
    with pytest.raises(LandingError) as error:
        require_landing(landing)
    lines = [line for line in str(error.value).splitlines() if str(path) in line]
    assert len(lines) == 1 and "fails its checksum" in lines[0], str(error.value)


def test_files_verified_before_are_only_hashed_and_a_changed_file_is_verified_again(
    landing, tmp_path
):
    cache = tmp_path / "verified.json"
    report = check_landing(landing, cache)
    assert report.problems == []
    assert set(json.loads(cache.read_text())["sha256"]) == {e.sha256 for e in report.inventory}
    path = next((landing.landing_dir / "orders").glob("*.parquet"))
    flip_bytes_in_a_data_page(path, "amount")
    again = check_landing(landing, cache)
    assert any(str(path) in problem for problem in again.problems)
