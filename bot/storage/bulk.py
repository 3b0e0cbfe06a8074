"""Bulk inserts of column arrays: many rows per INSERT statement, one shared parameter per constant column.

Python's sqlite3 spends about 1.4 s per million rows on the statement loop of `executemany` alone (reset,
bind, step, per row), on top of binding each value. Packing ROWS_PER_STATEMENT rows into one multi-row
`VALUES` list pays that loop once per group, and a column that is the same for every row (an ingest run id,
a scoring time) is bound once per statement as a numbered parameter (`?NNN`) instead of once per row.
Measured on 1M transactions of 14 columns: 5.8 s -> 3.7 s for the inserts alone.

On PostgreSQL the same call is a COPY: the column arrays become CSV in Arrow's C++ writer (no Python loop per
row) and stream into the table, or, for constants, derived columns and OR IGNORE / OR REPLACE, into a
temporary staging table that one INSERT ... SELECT then moves, in the given order, into the real one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from bot.storage.dialect import upsert_clause

ROWS_PER_STATEMENT = 50  # x 15 values = 750 parameters a statement, far below SQLite's 32,766


def insert_columns(
    conn: sqlite3.Connection,
    verb: str,
    table: str,
    columns: Mapping[str, Sequence[Any] | np.ndarray],
    constants: Mapping[str, Any] | None = None,
    derived: Mapping[str, str] | None = None,
    chunk_rows: int = 100_000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """`verb` (e.g. "INSERT OR IGNORE") the rows given column-wise into `table`; return the rows changed.

    Every array in `columns` has one value per row, already a type sqlite3 binds (str, int, float, None;
    NaN floats bind as NULL). `constants` are bound once per statement. `derived` columns are SQL expressions
    over a row's own values, named `{column}` (e.g. "substr({ts}, 1, 10)"): SQLite computes them, so they are
    never built or bound in Python. Rows go in order, so rowids follow it.
    """
    if getattr(conn, "backend", "sqlite") == "postgresql":
        return copy_columns(conn, verb, table, columns, constants, derived, chunk_rows, progress)
    constants = dict(constants or {})
    derived = dict(derived or {})
    names = list(columns)
    arrays = [np.asarray(columns[name], dtype=object) for name in names]
    total = len(arrays[0]) if arrays else 0
    if any(len(a) != total for a in arrays):
        raise ValueError("every column needs one value per row")
    changed = 0
    width = len(names)
    for start in range(0, total, chunk_rows):
        stop = min(start + chunk_rows, total)
        grid = np.empty((stop - start, width), dtype=object)
        for j, array in enumerate(arrays):
            grid[:, j] = array[start:stop]
        full = (stop - start) // ROWS_PER_STATEMENT * ROWS_PER_STATEMENT
        before = conn.total_changes
        if full:
            conn.executemany(
                _statement(verb, table, names, constants, derived, ROWS_PER_STATEMENT),
                _with_constants(grid[:full].reshape(-1, ROWS_PER_STATEMENT * width), constants),
            )
        if full < stop - start:
            rest = grid[full:]
            conn.execute(
                _statement(verb, table, names, constants, derived, len(rest)),
                _with_constants(rest.reshape(1, -1), constants)[0],
            )
        changed += conn.total_changes - before
        if progress is not None:
            progress(stop, total)
    return changed


def _statement(verb: str, table: str, names: list[str], constants: Mapping[str, Any], derived: Mapping[str, str],
               rows: int) -> str:
    """INSERT with `rows` groups of numbered parameters; the constants' numbers follow the last row's."""
    width = len(names)
    shared = [f"?{rows * width + k + 1}" for k in range(len(constants))]
    groups = []
    for r in range(rows):
        own = [f"?{r * width + j + 1}" for j in range(width)]
        computed = [expression.format(**dict(zip(names, own, strict=True))) for expression in derived.values()]
        groups.append("(" + ", ".join(own + shared + computed) + ")")
    return f"{verb} INTO {table} ({', '.join([*names, *constants, *derived])}) VALUES {', '.join(groups)}"


def _with_constants(grid: np.ndarray, constants: Mapping[str, Any]) -> list[list[Any]]:
    if not constants:
        return grid.tolist()
    out = np.empty((grid.shape[0], grid.shape[1] + len(constants)), dtype=object)
    out[:, : grid.shape[1]] = grid
    for k, value in enumerate(constants.values()):
        out[:, grid.shape[1] + k] = value
    return out.tolist()


# ------------------------------------------------------------------------------------------- PostgreSQL
_CONFLICT = {"INSERT": None, "INSERT OR IGNORE": "ignore", "INSERT OR REPLACE": "replace", "REPLACE": "replace"}
_CSV = pa_csv.WriteOptions(include_header=False)


def copy_columns(
    conn: Any,
    verb: str,
    table: str,
    columns: Mapping[str, Sequence[Any] | np.ndarray],
    constants: Mapping[str, Any] | None = None,
    derived: Mapping[str, str] | None = None,
    chunk_rows: int = 100_000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """`insert_columns` on PostgreSQL (`conn` is a PgConnection inside the caller's block): COPY, through a
    staging table when the rows need constants, derived columns or conflict handling. Returns rows stored."""
    if verb.upper() not in _CONFLICT:
        raise ValueError(f"unknown insert verb {verb!r}")
    conflict = _CONFLICT[verb.upper()]
    constants = dict(constants or {})
    derived = dict(derived or {})
    names = list(columns)
    arrays = [np.asarray(columns[name]) for name in names]
    total = len(arrays[0]) if arrays else 0
    if any(len(a) != total for a in arrays):
        raise ValueError("every column needs one value per row")
    raw = conn.raw
    with conn.guarded():
        if conflict is None and not derived:  # straight in; constants become columns of the CSV
            for name, value in constants.items():
                names.append(name)
                arrays.append(np.full(total, value, dtype=object))
            return _copy(raw, table, names, arrays, total, chunk_rows, progress, with_order=False)
        stage = "finassist_stage"
        raw.execute(f"DROP TABLE IF EXISTS pg_temp.{stage}")
        raw.execute(f"CREATE TEMP TABLE {stage} AS SELECT {', '.join(names)}, 0::bigint AS stage_order "
                    f"FROM {table} WITH NO DATA")
        _copy(raw, stage, names, arrays, total, chunk_rows, progress, with_order=True)
        identity = conn.identity_column(table)
        key = conn.primary_key(table)
        types = conn.column_types(table)
        staged = [f"s.{name} AS {name}" for name in names]
        staged += [f"CAST(? AS {types[name]}) AS {name}" for name in constants]
        staged += [f"{expression.format(**{n: 's.' + n for n in names})} AS {name}"
                   for name, expression in derived.items()]
        target = [*names, *constants, *derived]
        inner = f"SELECT {', '.join(staged)}, s.stage_order FROM {stage} s"
        if conflict == "ignore" and key and set(key) <= set(names):
            # Skip stored keys before they draw an identity value (ON CONFLICT would burn one per duplicate).
            inner += (f" WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE "
                      + " AND ".join(f"t.{k} = s.{k}" for k in key) + ")")
        if conflict == "replace":  # the last row of a key wins, as with SQLite's REPLACE
            inner = inner.replace("SELECT ", f"SELECT DISTINCT ON ({', '.join('s.' + k for k in key)}) ", 1)
            inner += f" ORDER BY {', '.join('s.' + k for k in key)}, s.stage_order DESC"
        sql = f"INSERT INTO {table} ({', '.join(target)}) SELECT {', '.join(target)} FROM ({inner}) d"
        if identity is not None:
            sql += " ORDER BY d.stage_order"  # identity values follow the given order
        if conflict == "ignore":
            sql += " ON CONFLICT DO NOTHING"
        elif conflict == "replace":
            sql += " " + upsert_clause(table, target, key, identity)
        changed = conn.execute(sql, list(constants.values())).rowcount  # the derived SQL is translated too
        raw.execute(f"DROP TABLE {stage}")
    return changed


def _copy(raw: Any, table: str, names: list[str], arrays: list[np.ndarray], total: int, chunk_rows: int,
          progress: Callable[[int, int], None] | None, *, with_order: bool) -> int:
    target = [*names, "stage_order"] if with_order else names
    copied = 0
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(target)}) FROM STDIN (FORMAT csv)") as copy:
            for start in range(0, total, chunk_rows):
                stop = min(start + chunk_rows, total)
                chunk = {str(j): _arrow(array[start:stop]) for j, array in enumerate(arrays)}
                if with_order:
                    chunk["order"] = pa.array(np.arange(start, stop, dtype=np.int64))
                sink = pa.BufferOutputStream()
                pa_csv.write_csv(pa.table(chunk), sink, _CSV)
                copy.write(sink.getvalue().to_pybytes())
                if progress is not None:
                    progress(stop, total)
        copied = cursor.rowcount
    return copied


def _arrow(values: np.ndarray) -> pa.Array:
    """A column as Arrow for the CSV writer: NaN and None become NULL (an unquoted empty field), booleans 0/1
    (the schema's flags are integers), text is quoted."""
    if values.dtype == bool:
        return pa.array(values.astype(np.int64))
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python types in one column: store their text
        array = pa.array([None if v is None or v != v else str(v) for v in values.tolist()], type=pa.string())
    if pa.types.is_boolean(array.type):
        array = array.cast(pa.int64())
    return array
