"""The landing-zone generator: deterministic, schema-exact, faults counted exactly."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from trainset.sim import SCHEMAS, generate, generate_next_day

SMALL = {"customers": 200, "days": 60, "progress": lambda message: None}


def table(root, name):
    return pq.read_table(root / name)


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    first = generate(tmp_path / "a", seed=5, **SMALL)
    second = generate(tmp_path / "b", seed=5, **SMALL)
    generate(tmp_path / "c", seed=6, **SMALL)
    assert first["rows"] == second["rows"]
    for name in SCHEMAS:
        assert table(tmp_path / "a", name).equals(table(tmp_path / "b", name)), name
    assert not table(tmp_path / "a", "orders").equals(table(tmp_path / "c", "orders"))
    assert first["faults"] == json.loads((tmp_path / "a" / "_generator.json").read_text())["faults"]


def test_every_table_has_the_declared_schema(tmp_path):
    summary = generate(tmp_path / "landing", **SMALL)
    for name, schema in SCHEMAS.items():
        data = table(tmp_path / "landing", name)
        assert data.schema.remove_metadata().equals(schema), name
        assert data.num_rows == summary["rows"][name] > 0, name


def test_current_state_is_the_last_change_and_amounts_add_up(tmp_path):
    generate(tmp_path / "landing", faults=False, **SMALL)
    customers = table(tmp_path / "landing", "customers").to_pandas().set_index("customer_id")
    changes = table(tmp_path / "landing", "customer_changes").to_pandas()
    changes["at"] = changes["changed_at"].map(datetime.fromisoformat)
    last = changes.sort_values(["customer_id", "at", "change_id"]).groupby("customer_id").last()
    assert (
        (
            last.loc[customers.index, ["plan", "segment", "country"]]
            == customers[["plan", "segment", "country"]]
        )
        .all()
        .all()
    )
    orders = table(tmp_path / "landing", "orders").to_pandas().set_index("order_id")
    items = table(tmp_path / "landing", "order_items").to_pandas()
    totals = (items["quantity"] * items["unit_price"]).groupby(items["order_id"]).sum().round(2)
    assert (orders["amount"] - totals.loc[orders.index]).abs().max() < 0.011


def test_clean_data_has_no_faults_and_utc_offsets_only(tmp_path):
    summary = generate(tmp_path / "landing", faults=False, **SMALL)
    assert summary["faults"] == {}
    orders = table(tmp_path / "landing", "orders")
    assert pc.all(pc.match_substring_regex(orders["ordered_at"], r"(\+00:00|Z)$")).as_py()
    assert orders["order_id"].null_count == 0 and orders["customer_id"].null_count == 0
    end = datetime.fromisoformat(summary["end"])
    instants = [
        datetime.fromisoformat(text.replace("Z", "+00:00"))
        for text in orders["ordered_at"].to_pylist()
    ]
    assert max(instants) <= end


def test_fault_counts_match_what_is_in_the_files(tmp_path):
    summary = generate(
        tmp_path / "landing", customers=600, days=120, fault_rate=0.01, progress=lambda m: None
    )
    faults = summary["faults"]["orders"]
    orders = table(tmp_path / "landing", "orders").to_pandas()
    assert orders["order_id"].isna().sum() == faults["null_order_id"]
    assert orders["customer_id"].isna().sum() == faults["null_customer_id"]
    parsed = orders["ordered_at"].map(lambda text: _parse(text))
    assert parsed.isna().sum() == faults["unparseable_timestamp"]
    end = datetime.fromisoformat(summary["end"])
    assert (parsed.dropna() > end).sum() == faults["future_timestamp"]
    assert (orders["amount"] < 0).sum() == faults["negative_amount"]
    assert (orders["amount"] > 1_000_000).sum() == faults["absurd_amount"]
    exact = orders.duplicated(keep="first").sum()
    assert exact == faults["exact_duplicate"]
    distinct = orders.drop_duplicates()
    same_load = distinct.dropna(subset=["order_id"]).groupby(["order_id", "_loaded_at"]).size()
    assert (same_load > 1).sum() == faults["conflicting_duplicate"]
    versions = distinct.dropna(subset=["order_id"]).groupby("order_id")["_loaded_at"].nunique()
    assert (versions > 1).sum() == faults["correction"]
    offsets = orders["ordered_at"].str.contains(r"[+-](?!00:00)\d\d:\d\d$", regex=True)
    assert offsets.sum() >= faults["non_utc_offset"] - faults.get(
        "unparseable_timestamp", 0
    ) - faults.get("future_timestamp", 0)


def _parse(text):
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_offsets_and_naive_strings_denote_the_intended_instant(tmp_path):
    generate(
        tmp_path / "landing", customers=600, days=120, fault_rate=0.01, progress=lambda m: None
    )
    events = table(tmp_path / "landing", "web_events").to_pandas()
    loaded = events["_loaded_at"]
    parsed = events["event_at"].map(_parse)
    valid = parsed.notna()
    delay = (
        loaded[valid] - parsed[valid].map(lambda value: value.astimezone(UTC))
    ).dt.total_seconds()
    # Whatever the offset or its absence, each view landed after it happened, within days.
    assert delay.min() >= 0 and delay.max() < 6 * 86400


def test_next_day_adds_one_day_and_changes_some_customers(tmp_path):
    summary = generate(tmp_path / "landing", **SMALL)
    before = table(tmp_path / "landing", "customers").to_pandas()
    after_summary = generate_next_day(tmp_path / "landing", progress=lambda m: None)
    after = table(tmp_path / "landing", "customers").to_pandas()
    assert after_summary["extra_days"] == 1
    assert (before["plan"] != after["plan"]).sum() >= 1
    new_orders = pq.read_table(
        next((tmp_path / "landing" / "orders").glob("part-day-*.parquet"))
    ).to_pandas()
    day_start = datetime.fromisoformat(summary["end"])
    earlier = pq.read_table(tmp_path / "landing" / "orders" / "part-00000.parquet").to_pandas()
    payload = ["order_id", "customer_id", "ordered_at", "status", "amount"]
    for frame in (earlier, new_orders):
        frame["customer_id"] = frame["customer_id"].astype("Int64")
    seen = earlier[payload].astype(str).apply(tuple, axis=1)
    again = new_orders["order_id"].isin(earlier["order_id"])
    fresh = new_orders[~again]
    # New orders take new ids, and are placed during the day or (late) one to five days before.
    assert fresh["order_id"].min() > earlier["order_id"].max()
    days_before = (day_start - fresh["ordered_at"].map(_parse)).dt.total_seconds() / 86400
    assert days_before.between(-1, 5).all()
    assert ((days_before > 1) & (days_before < 5)).any()
    # Earlier orders come again: identical (re-delivered) or with a new status (corrected).
    repeated = new_orders[again][payload].astype(str).apply(tuple, axis=1)
    assert repeated.isin(seen).any() and (~repeated.isin(seen)).any()
    assert new_orders[again]["status"].isin(["completed", "returned", "placed"]).all()
    # Everything in the day's file was loaded that day (the day's own orders up to minutes
    # after it ends).
    loaded = (new_orders["_loaded_at"] - day_start).dt.total_seconds()
    assert loaded.min() >= 0 and loaded.max() < 86400 + 3600


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"customers": 0}, "customers must be >= 1"),
        ({"days": 0}, "days must be >= 1"),
        ({"fault_rate": 0.5}, "fault_rate"),
        ({"start": "soon"}, "start must be a date"),
    ],
)
def test_bad_arguments_name_the_argument(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "landing", **{**SMALL, **arguments})


def test_an_interrupted_generate_keeps_the_previous_landing_zone(tmp_path):
    generate(tmp_path / "landing", **SMALL)
    before = table(tmp_path / "landing", "orders")

    def interrupt(message):
        if "chunk" in message:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path / "landing", customers=200, days=60, seed=99, progress=interrupt)
    assert table(tmp_path / "landing", "orders").equals(before)
    assert [path.name for path in tmp_path.iterdir()] == ["landing"]


def test_every_written_file_carries_page_checksums(tmp_path):
    """A flipped byte in any data page of any generated file, first day or next day, is caught
    by the reader's checksum verification (and only by it: the decoder takes the bytes)."""
    generate(tmp_path / "landing", **SMALL)
    generate_next_day(tmp_path / "landing", progress=lambda m: None)
    files = sorted((tmp_path / "landing").glob("*/*.parquet"))
    assert any("part-00000" not in path.name and "current" not in path.name for path in files)
    for path in files:
        metadata = pq.ParquetFile(path).metadata
        chunk = metadata.row_group(0).column(0)
        data = bytearray(path.read_bytes())
        start = chunk.dictionary_page_offset if chunk.has_dictionary_page else None
        end = (start or chunk.data_page_offset) + chunk.total_compressed_size
        # The last bytes of the column chunk are inside its last data page.
        position = end - 3
        assert chunk.data_page_offset < position
        data[position] ^= 0x01
        path.write_bytes(bytes(data))
        with pytest.raises(OSError, match="CRC checksum verification failed"):
            pq.read_table(path, page_checksum_verification=True)


# Content hashes of a landing zone (3 chunks, every fault kind, one extra day with late orders,
# corrections and re-deliveries) written by the simulator before it was split into one
# function per entity. A change to any draw, its order
# or a table's layout changes a hash; a deliberate change to the simulation updates them.
RECORDED_HASHES = {
    "_generator.json": "27e3bcd71f81b16965eaf85b4f3d286eb9977c699904fe3879da204c0426b3f0",
    "customer_changes/part-00000.parquet": "d05adeb4a447781c8cb843373f75e996b62e6d91e9e1a6a1192c6a7c7b2ec32d",
    "customer_changes/part-day-00120.parquet": "dbf40c6768b24fa36536cd8b173a9f0a40418d46726442639fa9dea3016e7445",
    "customers/part-current.parquet": "c73476b336cae61266889e9f7b00fc76140f52c2759751f1a739d43130e71e76",
    "order_items/part-00000.parquet": "73d464fad500a27172d1aef06f36f32137716ada940641c975c323152b8af5bc",
    "order_items/part-day-00120.parquet": "84876dd575ab50505f4c8be4436750dbc90e92a49e7dbaee63aa02a07e30ec41",
    "orders/part-00000.parquet": "8122f9e06dbeadcb28d7f958d5377297a965a3efaf745d3d76b6ab180714de85",
    "orders/part-day-00120.parquet": "4d3e80d8f7149d1f4407e09c3ca82dd47cb6b7256feff0483607a7981913d4c0",
    "products/part-00000.parquet": "ca603c80e64f4ab6f0a6ebc760c46add659cf3b84e1d3722d5daf63cc5aba45c",
    "refunds/part-00000.parquet": "ab6d74b0656458c3a73703fa9b027c1e0ca1799907f36600c31e4e0f1ee39123",
    "web_events/part-00000.parquet": "c18b397416ebece8050b14f983b2613e2e58b950ace74d1f3d5e93a438e98050",
    "web_events/part-day-00120.parquet": "2a2fc947310003ce264f6777a1296439a4117343172c4686ee0e1445618b08de",
}


def _content_hashes(root):
    """SHA-256 of each file: Parquet by schema and values (not bytes, which carry the writer's
    version), other files by bytes."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            data = pq.read_table(path)
            digest = hashlib.sha256(str(data.schema.remove_metadata()).encode())
            for column in data.columns:
                digest.update(repr(column.to_pylist()).encode())
        else:
            digest = hashlib.sha256(path.read_bytes())
        hashes[str(path.relative_to(root).as_posix())] = digest.hexdigest()
    return hashes


def test_fixed_seed_writes_the_recorded_landing_zone(tmp_path):
    root = tmp_path / "landing"
    quiet = {"progress": lambda message: None}
    generate(root, customers=300, days=120, seed=3, fault_rate=0.05, chunk_customers=120, **quiet)
    generate_next_day(root, **quiet)
    assert _content_hashes(root) == RECORDED_HASHES
