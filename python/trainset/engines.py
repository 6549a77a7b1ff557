"""Which engine built the project, and reading a built table from it in the export's form.

The engine is the adapter type dbt records in `manifest.json` (`duckdb`, `postgres`, `spark`),
so the export and its manifest name the engine that produced the data, never an assumed one.

Every engine hands the export the same Arrow types: a Spark table's Parquet files carry UTC
instants (`timestamp[us, tz=UTC]`), which become the naive UTC microsecond timestamps DuckDB
gives (every `_at` column is UTC by the time contract); integer, decimal and float widths are
the ones the model's contract declares on both engines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
import pyarrow as pa
import yaml

from .errors import InputError
from .project import connect_duckdb


class EngineError(InputError):
    """Raised when a built table cannot be found or read where its engine keeps it."""


def adapter_type(manifest: dict[str, Any]) -> str:
    """The adapter type of the dbt invocation that wrote `manifest` (`duckdb`, `spark`, ...)."""
    return str(manifest.get("metadata", {}).get("adapter_type") or "duckdb")


def _profile_output(project_dir: Path, output: str) -> dict[str, Any]:
    profiles = yaml.safe_load((project_dir / "profiles.yml").read_text(encoding="utf-8"))
    outputs = profiles["trainset"]["outputs"]

    def env_var(name: str, default: str | None = None) -> str:
        value = os.environ.get(name, default)
        if value is None:
            raise EngineError(f"profiles.yml needs the environment variable {name}")
        return value

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def render(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        if isinstance(value, str):
            return environment.from_string(value).render(env_var=env_var)
        return value

    if output not in outputs:
        raise EngineError(f"profiles.yml has no output named {output!r}")
    return render(outputs[output])


def spark_warehouse_dir(project_dir: Path) -> Path:
    """The warehouse folder of the `spark` profile (`spark.sql.warehouse.dir`), relative paths
    taken from the project folder as dbt runs there."""
    parameters = _profile_output(project_dir, "spark").get("server_side_parameters", {})
    folder = Path(parameters.get("spark.sql.warehouse.dir", "spark-warehouse"))
    return folder if folder.is_absolute() else project_dir / folder


def spark_table_location(project_dir: Path, schema: str, table: str) -> Path:
    """Where a managed Spark table of the session metastore keeps its Parquet files:
    `<warehouse>/<schema>.db/<table>` (the metastore lowercases both names)."""
    location = spark_warehouse_dir(project_dir) / f"{schema.lower()}.db" / table.lower()
    if not location.is_dir():
        raise EngineError(
            f"{location} does not exist: the Spark table {schema}.{table} was not built in this "
            "warehouse. Run `TRAINSET_TARGET=spark trainset build` with the same "
            "TRAINSET_SPARK_DIR first."
        )
    return location


def canonical_types(table: pa.Table) -> pa.Table:
    """The table with instants (any zone) as naive UTC microsecond timestamps, the export's
    type. The files are read through DuckDB in a UTC session, which hands instants over in
    UTC."""
    fields = []
    for field in table.schema:
        kind = field.type
        if pa.types.is_timestamp(kind) and (kind.tz is not None or kind.unit != "us"):
            # an instant with a zone is stored as UTC: dropping the zone keeps the instant
            kind = pa.timestamp("us")
        fields.append(pa.field(field.name, kind, field.nullable))
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema)


def read_parquet_table(location: Path, order: list[str]) -> pa.Table:
    """Read a table's Parquet files (a pyarrow dataset over its folder, skipping `_SUCCESS`
    and hidden files) in the canonical order: `order` first, then every other column. The
    sort runs in DuckDB, which spills to disk rather than holding a second copy in memory."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(location), format="parquet", ignore_prefixes=[".", "_"])
    columns = dataset.schema.names
    missing = [column for column in order if column not in columns]
    if missing:
        raise EngineError(f"{location}: the table has no column {', '.join(missing)}")
    keys = order + [column for column in columns if column not in order]
    order_by = ", ".join('"' + column.replace('"', '""') + '"' for column in keys)
    connection = connect_duckdb()
    try:
        connection.register("spark_table", dataset)
        table = connection.sql(f"select * from spark_table order by {order_by}").to_arrow_table()
    finally:
        connection.close()
    return canonical_types(table)
