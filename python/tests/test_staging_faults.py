"""Bad input at the landing zone, built with dbt on real DuckDB files and Parquet, checked
against values recomputed here in plain Python from the landing files.

Each fault is injected into a private copy of the small generated landing zone: re-delivered
files, conflicting payloads, implausible and infinite timestamps, named time zones mixed with
naive strings, NaN and infinite numbers, sub-cent amounts and unknown codes.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import Built, build, make_paths
from trainset.dbt import read_artifact

pytestmark = pytest.mark.integration

TABLES = [
    "customers",
    "customer_changes",
    "products",
    "orders",
    "order_items",
    "web_events",
    "refunds",
]
KEYS = {
    "customers": "customer_id",
    "customer_changes": "change_id",
    "products": "product_id",
    "orders": "order_id",
    "order_items": "order_item_id",
    "web_events": "event_id",
    "refunds": "refund_id",
}
# Models whose content a re-delivered file must not change.
MART_SCHEMAS = ("intermediate", "features", "labels", "training", "serving")
CENT = Decimal("0.01")


def query(paths, sql: str) -> list[tuple]:
    connection = duckdb.connect(str(paths.duckdb_path), read_only=True)
    try:
        connection.execute("set TimeZone = 'UTC'")
        return connection.sql(sql).fetchall()
    finally:
        connection.close()


def landed(landing: Path, table: str) -> pd.DataFrame:
    """Every raw row of a landing table, as pandas (NaN and infinities kept)."""
    frames = [
        pq.read_table(part).to_pandas() for part in sorted((landing / table).glob("*.parquet"))
    ]
    return pd.concat(frames, ignore_index=True)


def schema_of(landing: Path, table: str) -> pa.Schema:
    return pq.read_schema(sorted((landing / table).glob("*.parquet"))[0])


def append_rows(
    landing: Path, table: str, frame: pd.DataFrame, name: str, schema: pa.Schema | None = None
) -> None:
    schema = schema or schema_of(landing, table)
    data = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    for index, field in enumerate(schema):
        if pa.types.is_floating(field.type):
            # NaN stays NaN (pandas would write it as null); the generator writes no null floats.
            column = pa.array(frame[field.name].to_numpy(), field.type, from_pandas=False)
            data = data.set_column(index, field, column)
    pq.write_table(data, landing / table / f"part-{name}.parquet")


def edit_rows(landing: Path, table: str, change) -> None:
    """Rewrite every part of a table through `change(frame) -> frame` (same schema)."""
    schema = schema_of(landing, table)
    for part in sorted((landing / table).glob("*.parquet")):
        frame = change(pq.read_table(part).to_pandas())
        pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), part)


def quarantine_reasons(paths, table: str) -> dict[str, list[str]]:
    """record_key → reasons of the quarantined rows of a table."""
    reasons: dict[str, list[str]] = {}
    for key, reason in query(
        paths, f"select record_key, quarantine_reason from staging.stg_shop__{table}_quarantine"
    ):
        reasons.setdefault(key, []).append(reason)
    return reasons


def failed_nodes(paths) -> dict[str, str]:
    results = read_artifact(paths.target_dir, "run_results.json")["results"]
    return {r["unique_id"]: r["status"] for r in results if r["status"] not in {"success", "pass"}}


def mart_tables(paths) -> list[str]:
    listed = query(
        paths,
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_schema in {MART_SCHEMAS} order by 1",
    )
    return [name for (name,) in listed] + ["monitoring.mon_feature_drift"]


def differing_rows(left, right, table: str) -> int:
    """Rows of `table` in one database and not the other (multiset difference, both ways)."""
    connection = duckdb.connect()
    try:
        connection.execute(f"attach '{left.duckdb_path}' as left_db (read_only)")
        connection.execute(f"attach '{right.duckdb_path}' as right_db (read_only)")
        (count,) = connection.sql(
            f"select (select count(*) from (select * from left_db.{table} "
            f"except all select * from right_db.{table})) + (select count(*) from "
            f"(select * from right_db.{table} except all select * from left_db.{table}))"
        ).fetchone()
        return count
    finally:
        connection.close()


def staging_counts(paths) -> dict[str, tuple[int, int, int]]:
    """Per table: (staged, collapsed duplicates, quarantined) as the models hold them."""
    counts = {}
    for table in TABLES:
        (staged,) = query(paths, f"select count(*) from staging.stg_shop__{table}")[0]
        (collapsed,) = query(
            paths,
            f"select count(*) from staging.stg_shop__{table}_classified "
            "where quarantine_reason is null and duplicate_rank > 1",
        )[0]
        (quarantined,) = query(paths, f"select count(*) from staging.stg_shop__{table}_quarantine")[
            0
        ]
        counts[table] = (staged, collapsed, quarantined)
    return counts


def copy_landing(built: Built, tmp_path: Path):
    paths = make_paths(tmp_path)
    shutil.copytree(built.paths.landing_dir, paths.landing_dir)
    return paths


# --- re-delivered files and conflicting payloads ------------------------------------------


def test_redelivered_page_views_are_collapsed_and_change_no_feature(built, tmp_path):
    """71 page views of one customer land again a day later, unchanged: they are duplicates
    of rows already staged, so nothing is quarantined and every mart stays as it was."""
    assert built.success
    paths = copy_landing(built, tmp_path)
    events = landed(paths.landing_dir, "web_events")
    staged = {
        event_id
        for (event_id,) in query(built.paths, "select event_id from staging.stg_shop__web_events")
    }
    # The customer with the most page views in the last 30-day window of the training set.
    ((customer_id, page_views),) = query(
        built.paths,
        "select customer_id, page_views_sum_30d from training.train_churn_30d "
        "order by page_views_sum_30d desc, customer_id limit 1",
    )
    assert page_views > 0
    theirs = events[(events["customer_id"] == customer_id) & events["event_id"].isin(staged)]
    theirs = theirs.drop_duplicates("event_id").sort_values("event_id").head(71)
    assert len(theirs) == 71
    again = theirs.assign(_loaded_at=theirs["_loaded_at"] + pd.Timedelta(days=1))
    append_rows(paths.landing_dir, "web_events", again, "redelivered")

    assert build(paths), failed_nodes(paths)
    before, after = staging_counts(built.paths), staging_counts(paths)
    staged_before, collapsed_before, quarantined_before = before["web_events"]
    assert after["web_events"] == (staged_before, collapsed_before + 71, quarantined_before)
    assert {table: counts for table, counts in after.items() if table != "web_events"} == {
        table: counts for table, counts in before.items() if table != "web_events"
    }
    # Each re-delivered event keeps the load time of its first delivery as known_at.
    first_loaded = {
        int(event_id): loaded_at.tz_convert(None).to_pydatetime()
        for event_id, loaded_at in zip(theirs["event_id"], theirs["_loaded_at"], strict=True)
    }
    loaded = dict(
        query(
            paths,
            "select event_id, loaded_at from staging.stg_shop__web_events "
            f"where event_id in ({', '.join(map(str, first_loaded))})",
        )
    )
    assert loaded == first_loaded
    for table in mart_tables(paths):
        assert differing_rows(built.paths, paths, table) == 0, table


def test_redelivering_every_file_changes_no_mart(built, tmp_path):
    """Every file of every source lands a second time a day later: the build passes, copies of
    valid rows are collapsed, copies of invalid rows are quarantined beside the originals, and
    no intermediate, feature, label, training, serving or drift table changes."""
    assert built.success
    paths = copy_landing(built, tmp_path)
    for table in TABLES:
        for number, part in enumerate(sorted((paths.landing_dir / table).glob("*.parquet"))):
            frame = pq.read_table(part).to_pandas()
            frame["_loaded_at"] = frame["_loaded_at"] + pd.Timedelta(days=1)
            append_rows(paths.landing_dir, table, frame, f"again-{number}")

    assert build(paths), failed_nodes(paths)
    before, after = staging_counts(built.paths), staging_counts(paths)
    for table in TABLES:
        staged, collapsed, quarantined = before[table]
        assert after[table] == (staged, 2 * collapsed + staged, 2 * quarantined), table
        assert sum(after[table]) == 2 * len(landed(built.paths.landing_dir, table)), table
    for table in mart_tables(paths):
        assert differing_rows(built.paths, paths, table) == 0, table


def test_versions_corrections_and_conflicts_follow_the_first_known_row(built, tmp_path):
    """Orders: an identical re-delivery is no new version, a changed amount is one. Two
    payloads of a new key in one load are both quarantined; a later payload that conflicts
    with a staged page view is quarantined and the staged row stays."""
    assert built.success
    paths = copy_landing(built, tmp_path)
    orders = landed(paths.landing_dir, "orders")
    single = query(
        built.paths,
        "select order_id from intermediate.int_orders__versioned group by order_id "
        "having count(*) = 1 and bool_and(is_completed) order by order_id limit 2",
    )
    (redelivered_id,), (corrected_id,) = single
    redelivered = orders[orders["order_id"] == redelivered_id].head(1)
    corrected = orders[orders["order_id"] == corrected_id].head(1)
    corrected_at = corrected["_loaded_at"].iloc[0] + pd.Timedelta(days=2)
    new_id = int(orders["order_id"].max()) + 1000
    twins = pd.concat([redelivered, redelivered], ignore_index=True).assign(
        order_id=new_id, amount=[10.0, 11.0]
    )
    append_rows(
        paths.landing_dir,
        "orders",
        pd.concat(
            [
                redelivered.assign(_loaded_at=redelivered["_loaded_at"] + pd.Timedelta(days=1)),
                corrected.assign(amount=corrected["amount"] + 5, _loaded_at=corrected_at),
                twins,
            ],
            ignore_index=True,
        ),
        "versions",
    )
    events = landed(paths.landing_dir, "web_events")
    staged_event_id, staged_page, staged_loaded = query(
        built.paths,
        "select event_id, page, loaded_at from staging.stg_shop__web_events "
        "where page <> 'cart' order by event_id limit 1",
    )[0]
    original = events[events["event_id"] == staged_event_id].head(1)
    new_event_id = int(events["event_id"].max()) + 1000
    append_rows(
        paths.landing_dir,
        "web_events",
        pd.concat(
            [
                original.assign(
                    page="cart", _loaded_at=original["_loaded_at"] + pd.Timedelta(hours=5)
                ),
                original.assign(event_id=new_event_id, page="home"),
                original.assign(event_id=new_event_id, page="search"),
            ],
            ignore_index=True,
        ),
        "conflicts",
    )

    assert build(paths), failed_nodes(paths)
    versions = dict(
        query(
            paths,
            "select order_id, count(*) from intermediate.int_orders__versioned "
            f"where order_id in ({redelivered_id}, {corrected_id}, {new_id}) group by order_id",
        )
    )
    assert versions == {redelivered_id: 1, corrected_id: 2}
    (superseded_at, second_amount) = query(
        paths,
        "select max(superseded_at), max(order_amount) filter (where order_version = 2) "
        f"from intermediate.int_orders__versioned where order_id = {corrected_id}",
    )[0]
    assert superseded_at == corrected_at.tz_convert(None).to_pydatetime()
    expected_amount = Decimal(repr(float(corrected["amount"].iloc[0] + 5))).quantize(
        CENT, ROUND_HALF_UP
    )
    assert second_amount == expected_amount
    assert quarantine_reasons(paths, "orders")[str(new_id)] == ["conflicting_duplicate"] * 2
    assert str(redelivered_id) not in quarantine_reasons(paths, "orders")

    event_reasons = quarantine_reasons(paths, "web_events")
    assert event_reasons[str(staged_event_id)] == ["conflicting_duplicate"]
    assert event_reasons[str(new_event_id)] == ["conflicting_duplicate"] * 2
    assert query(
        paths,
        f"select page, loaded_at from staging.stg_shop__web_events where event_id = {staged_event_id}",
    ) == [(staged_page, staged_loaded)]
    (raw_values,) = query(
        paths,
        "select raw_values from staging.stg_shop__web_events_quarantine "
        f"where record_key = '{staged_event_id}'",
    )[0]
    assert "page_raw=cart" in raw_values


def test_quarantine_share_failure_names_table_reason_and_share(built, tmp_path):
    """800 unparseable page views push web_events over the quarantine share: the failing test
    names the table, each reason with its share, and the table's share."""
    paths = copy_landing(built, tmp_path)
    events = landed(paths.landing_dir, "web_events")
    valid = events[events["customer_id"].notna()].head(800)
    start = int(events["event_id"].max()) + 1
    append_rows(
        paths.landing_dir,
        "web_events",
        valid.assign(event_id=range(start, start + 800), event_at="not a time"),
        "garbage",
    )
    selection = ["+assert_quarantine_share_below_threshold", "quarantine_reasons"]
    assert not build(paths, "--select", *selection, "--indirect-selection", "cautious")
    failed = failed_nodes(paths)
    assert [node for node in failed if node.startswith("test.")] == [
        "test.trainset.assert_quarantine_share_below_threshold"
    ], failed
    compiled = next(
        (paths.target_dir / "compiled").rglob("assert_quarantine_share_below_threshold.sql")
    )
    connection = duckdb.connect(str(paths.duckdb_path), read_only=True)
    try:
        frame = connection.sql(compiled.read_text()).df()
    finally:
        connection.close()
    raw_rows = len(landed(paths.landing_dir, "web_events"))
    injected = built.summary["faults"]["web_events"]
    expected = {
        "unparseable_timestamp": injected["unparseable_timestamp"] + 800,
        "null_customer_id": injected["null_customer_id"],
        "unknown_customer": injected["unknown_customer"],
    }
    assert set(frame["source_table"]) == {"web_events"}
    assert dict(zip(frame["quarantine_reason"], frame["reason_rows"], strict=True)) == expected
    for row in frame.itertuples():
        assert row.reason_share == pytest.approx(expected[row.quarantine_reason] / raw_rows)
        assert row.quarantined_share == pytest.approx(sum(expected.values()) / raw_rows)
        assert row.quarantined_share > row.max_share


# --- one landing zone with row-level faults, built once -----------------------------------


@dataclass
class Faulty:
    paths: object
    success: bool
    injected: dict


def reference_utc(text: str) -> datetime | None:
    """The UTC instant of a timestamp string, by Python's own parsers: ISO 8601 with an
    offset, 'Z' or nothing (taken as UTC), or followed by an IANA zone name."""
    text = text.strip()
    zone = None
    head, _, tail = text.rpartition(" ")
    # a zone name is a word after the last space, starting with a letter ("11:00:00Z" is not)
    if head and re.fullmatch(r"[A-Za-z][A-Za-z0-9_+/-]*", tail) and tail != "Z":
        try:
            zone = ZoneInfo(tail)
        except (KeyError, ValueError):
            return None
        text = head
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if zone is not None:
        if parsed.tzinfo is not None:
            return None
        earlier, later = parsed.replace(tzinfo=zone, fold=0), parsed.replace(tzinfo=zone, fold=1)
        if earlier.utcoffset() != later.utcoffset():
            return None  # a local time the clocks skip or repeat: the instant is unknown
        parsed = earlier
    elif parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(tzinfo=None)


# A batch in one file: a named zone first, then naive strings (which DuckDB's timestamptz parser
# would read in that zone), then every other shape. None = must be quarantined as unparseable.
MIXED = [
    "2025-03-01 10:00:00 Europe/Berlin",
    "2025-03-01 10:00:00",
    "2025-03-01T10:00:00",
    "2025-06-15T08:30:00 America/New_York",
    "2025-03-02T11:00:00Z",
    "2025-03-02T11:00:00+02:00",
    "2025-03-02T11:00:00-05:30",
    "2025-07-01 23:15:00 Europe/Berlin",
    "2025-03-03 09:45:10",
    "2025-04-10 12:00:00 Asia/Kolkata",
    "2025-04-10T12:00:00.250000",
    "2025-05-05 05:05:05 Australia/Sydney",
    "2025-05-05 05:05:05",
    "not a timestamp",
    "2025-05-05 05:05:05 Mars/Olympus_Mons",
    "2025-02-30T10:00:00",
    "2025-03-30 02:30:00 Europe/Berlin",
    "2025-10-26 02:30:00 Europe/Berlin",
    "2025-10-26 03:30:00 Europe/Berlin",
    "2025-11-02 01:30:00 America/New_York",
    # the common shapes with space around them: not read by position, parsed all the same
    "  2025-03-02T11:00:00+02:00 ",
    " 2025-03-02 11:00:00Z",
    "2025-03-02T11:00:00-05:30  ",
]
IMPLAUSIBLE = [
    "1900-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00Z",
    "1970-01-01 00:00:00",
    "-infinity",
    "infinity",
]


def middle_rows(frame: pd.DataFrame, valid_ids: set, key: str, count: int, seen: set) -> list[int]:
    """Positions of `count` single-copy rows with valid keys, away from the ends of the data."""
    once = frame[key].map(frame[key].value_counts()) == 1
    candidates = frame[once & frame[key].isin(valid_ids) & ~frame[key].isin(seen)]
    picked = candidates.iloc[len(candidates) // 3 :: max(1, len(candidates) // (3 * count))].head(
        count
    )
    seen.update(picked[key])
    return list(picked.index)


@pytest.fixture(scope="module")
def faulty(small_landing, tmp_path_factory) -> Faulty:
    landing, summary = small_landing
    root = tmp_path_factory.mktemp("faulty")
    paths = make_paths(root)
    shutil.copytree(landing, paths.landing_dir)
    # Valid keys, from a plain reading of the generator's clean rows: staged rows are chosen so
    # that each injected row has exactly one fault.
    injected: dict[str, dict] = {}
    frames = {table: landed(paths.landing_dir, table) for table in TABLES}
    seen: dict[str, set] = {table: set() for table in TABLES}
    orders = frames["orders"]
    good_orders = set(
        orders[
            orders["customer_id"].notna()
            & orders["customer_id"].lt(10**12)
            & orders["amount"].between(0, 1000)
            & orders["status"].eq("completed")
            & orders["ordered_at"].str.match(r"^\d{4}-\d{2}-\d{2}T")
            & orders["ordered_at"].lt("2025-10-28")
        ]["order_id"]
    )
    items = frames["order_items"]
    good_items = set(items[items["order_id"].isin(good_orders)]["order_item_id"])
    events = frames["web_events"]
    good_events = set(
        events[
            events["customer_id"].notna()
            & events["customer_id"].lt(10**12)
            & events["event_at"].str.match(r"^\d{4}-\d{2}-\d{2}T", na=False)
        ]["event_id"]
    )
    refunds = frames["refunds"]
    plain_orders = set(
        orders[orders["customer_id"].lt(10**12) & orders["amount"].between(0, 1000)]["order_id"]
    )
    good_refunds = set(refunds[refunds["order_id"].isin(plain_orders - good_orders)]["refund_id"])

    # Implausible timestamps in every business timestamp column, and one load time.
    changes: dict[str, dict[int, dict]] = {table: {} for table in TABLES}
    for position, text in zip(
        middle_rows(orders, good_orders, "order_id", 5, seen["orders"]), IMPLAUSIBLE, strict=True
    ):
        changes["orders"][position] = {"ordered_at": text}
    implausible = {"orders": {int(orders.loc[p, "order_id"]) for p in changes["orders"]}}
    for table, column in [
        ("web_events", "event_at"),
        ("refunds", "refunded_at"),
        ("customer_changes", "changed_at"),
    ]:
        frame = frames[table]
        valid = set(frame[frame[column].str.match(r"^\d{4}-\d{2}-\d{2}T", na=False)][KEYS[table]])
        if table == "customer_changes":  # not the first change (signup) of a customer
            valid &= set(frame[frame.duplicated("customer_id")]["change_id"])
        valid &= {"web_events": good_events, "refunds": good_refunds}.get(table, valid)
        for position, text in zip(
            middle_rows(frame, valid, KEYS[table], 2, seen[table]),
            ["1970-01-01T00:00:00Z", "-infinity"],
            strict=True,
        ):
            changes[table][position] = {column: text}
            implausible.setdefault(table, set()).add(int(frame.loc[position, KEYS[table]]))
    (late_item,) = middle_rows(items, good_items, "order_item_id", 1, seen["order_items"])
    changes["order_items"][late_item] = {"_loaded_at": pd.Timestamp("1970-01-01", tz="UTC")}
    implausible["order_items"] = {int(items.loc[late_item, "order_item_id"])}
    injected["implausible"] = implausible

    # NaN and infinities in every floating-point column.
    non_finite = {}
    for table, column, values in [
        ("order_items", "unit_price", [float("nan"), float("inf"), float("-inf")]),
        ("refunds", "amount", [float("nan"), float("inf")]),
        ("orders", "amount", [float("nan"), float("-inf")]),
    ]:
        valid = {"order_items": good_items, "orders": good_orders, "refunds": good_refunds}[table]
        for position, value in zip(
            middle_rows(frames[table], valid, KEYS[table], len(values), seen[table]),
            values,
            strict=True,
        ):
            changes[table][position] = {column: value}
            non_finite.setdefault(table, set()).add(int(frames[table].loc[position, KEYS[table]]))
    products = frames["products"]
    later_prices = products[products.duplicated("product_id")].index
    changes["products"][later_prices[3]] = {"price": float("inf")}
    non_finite["products"] = {int(products.loc[later_prices[3], "product_id"])}
    injected["non_finite"] = non_finite

    # Unknown codes: a country that is not ISO 3166 ('UK' is GB), a page outside the taxonomy,
    # an unknown category; a page with stray spaces and capitals is valid after trimming.
    customers = frames["customers"]
    quiet = orders.groupby("customer_id").size()
    (country_customer,) = [int(c) for c in quiet[quiet == quiet[quiet > 0].min()].index[:1]]
    changes["customers"][int(customers.index[customers["customer_id"] == country_customer][0])] = {
        "country": "UK"
    }
    seen["customers"].add(country_customer)
    change_rows = middle_rows(
        frames["customer_changes"],
        set(
            frames["customer_changes"][frames["customer_changes"].duplicated("customer_id")][
                "change_id"
            ]
        ),
        "change_id",
        1,
        seen["customer_changes"],
    )
    changes["customer_changes"][change_rows[0]] = {"country": "XX"}
    page_rows = middle_rows(events, good_events, "event_id", 3, seen["web_events"])
    changes["web_events"][page_rows[0]] = {"page": "homepage"}
    changes["web_events"][page_rows[1]] = {"page": None}
    changes["web_events"][page_rows[2]] = {"page": "  Checkout "}
    changes["products"][later_prices[7]] = {"category": "gadgets"}
    injected["codes"] = {
        "customers": {country_customer: "unknown_country"},
        "customer_changes": {
            int(frames["customer_changes"].loc[change_rows[0], "change_id"]): "unknown_country"
        },
        "web_events": {
            int(events.loc[page_rows[0], "event_id"]): "unknown_page",
            int(events.loc[page_rows[1], "event_id"]): "unknown_page",
        },
        "products": {int(products.loc[later_prices[7], "product_id"]): "unknown_category"},
    }
    injected["trimmed_page"] = int(events.loc[page_rows[2], "event_id"])

    # Sub-cent amounts on every completed order and every order line: half a cent and more.
    # (by order_id, so exact copies of a row stay exact copies)
    shift = (orders["order_id"].fillna(0) % 4).map({0: 0.005, 1: 0.0049, 2: 0.0051, 3: -0.005})
    sub_cent = orders["amount"].round(2) + shift
    touched = implausible["orders"] | non_finite["orders"]
    orders_sub = orders.assign(
        amount=sub_cent.where(
            orders["amount"].gt(1) & ~orders["order_id"].isin(touched), orders["amount"]
        )
    )
    items_sub = items.assign(
        unit_price=(items["unit_price"].round(2) + 0.005).where(
            ~items["order_item_id"].isin(non_finite["order_items"]), items["unit_price"]
        )
    )

    def apply(table: str, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for position, values in changes[table].items():
            for column, value in values.items():
                frame.at[position, column] = value
        return frame

    for table in TABLES:
        frame = {"orders": orders_sub, "order_items": items_sub}.get(table, frames[table])
        frame = apply(table, frame)
        schema = schema_of(paths.landing_dir, table)
        for part in sorted((paths.landing_dir / table).glob("*.parquet")):
            part.unlink()
        append_rows(paths.landing_dir, table, frame, "faulty", schema)

    # The mixed-zone batch, for a customer with page views, loaded after every event in it.
    template = events[
        events["event_id"].isin(good_events - seen["web_events"])
        & events["customer_id"].ne(country_customer)
    ].head(1)
    first_id = int(events["event_id"].max()) + 1
    batch = pd.DataFrame(
        {
            "event_id": range(first_id, first_id + len(MIXED)),
            "customer_id": int(template["customer_id"].iloc[0]),
            "event_at": MIXED,
            "page": "home",
            "_loaded_at": pd.Timestamp("2025-10-27 12:00", tz="UTC"),
        }
    )
    append_rows(paths.landing_dir, "web_events", batch, "mixed-zones")
    injected["mixed"] = dict(zip(batch["event_id"], MIXED, strict=True))
    return Faulty(paths=paths, success=build(paths), injected=injected)


def test_row_faults_do_not_fail_the_build_and_every_row_is_accounted_for(faulty):
    assert faulty.success, failed_nodes(faulty.paths)
    for table, (staged, collapsed, quarantined) in staging_counts(faulty.paths).items():
        assert staged + collapsed + quarantined == len(landed(faulty.paths.landing_dir, table)), (
            table
        )


def test_implausible_timestamps_are_quarantined_and_do_not_move_the_window(built, faulty):
    assert faulty.success, failed_nodes(faulty.paths)
    for table, keys in faulty.injected["implausible"].items():
        reasons = quarantine_reasons(faulty.paths, table)
        for key in keys:
            assert reasons.get(str(key)) == ["implausible_timestamp"], (table, key)
    # The first cutoff and the longest tenure are those of the clean data.
    (first_before, tenure_before) = query(
        built.paths, "select min(cutoff_at), max(tenure_days) from training.train_churn_30d"
    )[0]
    (first_after, tenure_after) = query(
        faulty.paths, "select min(cutoff_at), max(tenure_days) from training.train_churn_30d"
    )[0]
    assert first_after == first_before
    assert tenure_after <= tenure_before
    (earliest,) = query(
        faulty.paths, "select min(effective_at) from intermediate.int_orders__versioned"
    )[0]
    assert earliest >= datetime(2000, 1, 1)


def test_named_zones_offsets_and_naive_strings_parse_to_the_same_instants_as_zoneinfo(faulty):
    assert faulty.success, failed_nodes(faulty.paths)
    staged = dict(
        query(
            faulty.paths,
            "select event_id, event_at from staging.stg_shop__web_events_classified "
            "where quarantine_reason is null or quarantine_reason <> 'unparseable_timestamp'",
        )
    )
    reasons = quarantine_reasons(faulty.paths, "web_events")
    for event_id, text in faulty.injected["mixed"].items():
        expected = reference_utc(text)
        if expected is None:
            assert reasons.get(str(event_id)) == ["unparseable_timestamp"], text
        else:
            assert staged.get(event_id) == expected, text
            assert str(event_id) not in reasons, text
    # Every generated timestamp string (naive, 'Z', offsets), parsed the same way.
    for table, column in [
        ("web_events", "event_at"),
        ("orders", "ordered_at"),
        ("customer_changes", "changed_at"),
    ]:
        key = KEYS[table]
        for record, raw, parsed in query(
            faulty.paths,
            f"select {key}, {column}_raw, {column} from staging.base_shop__{table} "
            f"where {column} is not null and isfinite({column})",
        ):
            assert parsed == reference_utc(raw), (table, record, raw)


def test_non_finite_numbers_are_quarantined_with_their_raw_value(faulty):
    assert faulty.success, failed_nodes(faulty.paths)
    for table, keys in faulty.injected["non_finite"].items():
        reasons = quarantine_reasons(faulty.paths, table)
        for key in keys:
            assert "non_finite_number" in reasons.get(str(key), []), (table, key)
    raw_values = [
        value
        for (value,) in query(
            faulty.paths,
            "select raw_values from staging.stg_shop__order_items_quarantine "
            "where quarantine_reason = 'non_finite_number'",
        )
    ]
    assert sorted(re.search(r"unit_price_raw=(\S+)", value).group(1) for value in raw_values) == [
        "-inf",
        "inf",
        "nan",
    ]


def test_money_is_rounded_once_half_away_from_zero_from_its_printed_digits(faulty):
    assert faulty.success, failed_nodes(faulty.paths)
    orders = landed(faulty.paths.landing_dir, "orders")
    staged = query(
        faulty.paths, "select order_id, loaded_at, order_amount from staging.stg_shop__orders"
    )
    keyed = orders.dropna(subset=["order_id"])
    raw = {
        (int(order_id), loaded_at.tz_convert(None).to_pydatetime()): amount
        for order_id, loaded_at, amount in zip(
            keyed["order_id"], keyed["_loaded_at"], keyed["amount"], strict=True
        )
    }
    half_cents = 0
    for order_id, loaded_at, amount in staged:
        value = raw[(order_id, loaded_at)]
        assert amount == Decimal(repr(value)).quantize(CENT, ROUND_HALF_UP), (order_id, value)
        half_cents += abs(Decimal(repr(value)) * 1000 % 10) == 5
    assert half_cents > 100
    items = landed(faulty.paths.landing_dir, "order_items").drop_duplicates("order_item_id")
    prices = dict(zip(items["order_item_id"], items["unit_price"], strict=True))
    for item_id, quantity, unit_price, item_amount in query(
        faulty.paths,
        "select order_item_id, quantity, unit_price, item_amount from staging.stg_shop__order_items",
    ):
        expected = Decimal(repr(prices[item_id])).quantize(CENT, ROUND_HALF_UP)
        assert (unit_price, item_amount) == (expected, expected * quantity), item_id
    types = dict(
        query(
            faulty.paths,
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where column_name in ('order_amount', 'unit_price', 'item_amount', 'refund_amount', "
            "'completed_amount', 'list_price') and table_schema in ('staging', 'intermediate', 'features') "
            "and table_name not like 'base_%'",
        )
    )
    assert types and set(types.values()) == {"DECIMAL(18,2)"}, types
    # Spend at each cutoff, recomputed from the staged decimals by brute force.
    versions = pd.DataFrame(
        query(
            faulty.paths,
            "select customer_id, effective_at, known_at, superseded_at, completed_amount "
            "from features.feat_customer__orders where completed_amount is not null",
        ),
        columns=["customer_id", "effective_at", "known_at", "superseded_at", "amount"],
    )
    training = query(
        faulty.paths, "select customer_id, cutoff_at, spend_sum_90d from training.train_churn_30d"
    )
    by_customer = dict(tuple(versions.groupby("customer_id")))
    for customer_id, cutoff_at, spend in training[::7]:
        rows = by_customer.get(customer_id, versions.iloc[0:0])
        visible = rows[
            (rows["effective_at"] <= cutoff_at)
            & (rows["effective_at"] > cutoff_at - timedelta(days=90))
            & (rows["known_at"] <= cutoff_at)
            & (rows["superseded_at"].isna() | (rows["superseded_at"] > cutoff_at))
        ]
        assert Decimal(str(spend or 0)) == sum(visible["amount"], Decimal("0")), (
            customer_id,
            cutoff_at,
        )


def test_unknown_codes_are_quarantined_against_the_reference_seeds(built, faulty):
    assert faulty.success, failed_nodes(faulty.paths)
    for table, expected in faulty.injected["codes"].items():
        reasons = quarantine_reasons(faulty.paths, table)
        for key, reason in expected.items():
            assert reason in reasons.get(str(key), []), (table, key, reasons.get(str(key)))
    trimmed = faulty.injected["trimmed_page"]
    assert query(
        faulty.paths, f"select page from staging.stg_shop__web_events where event_id = {trimmed}"
    ) == [("checkout",)]
    # The reference lists: all ISO 3166-1 alpha-2 codes, Namibia's 'NA' not read as a null.
    (count, namibia, uk) = query(
        faulty.paths,
        "select count(*), count(*) filter (where country_code = 'NA'), "
        "count(*) filter (where country_code = 'UK') from reference.countries",
    )[0]
    assert (count, namibia, uk) == (249, 1, 0)
    # The generator's clean data uses only known codes.
    unknown = query(
        built.paths,
        "select source_table, quarantine_reason, sum(quarantined_rows) from monitoring.mon_quarantine_summary "
        "where quarantine_reason in ('unknown_country', 'unknown_page', 'unknown_category', "
        "'invalid_plan', 'invalid_segment', 'invalid_status') group by all",
    )
    assert unknown == []
