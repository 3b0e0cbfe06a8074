"""The one place where the store's SQL (SQLite-flavoured, mostly portable) becomes PostgreSQL.

Repositories write SQL once, in the portable subset both engines share (ON CONFLICT upserts, explicit column
lists, ISO-8601 text dates, CASE instead of boolean sums). What is left is translated here, once per statement
text (the PostgreSQL store caches the result, so a hot query pays a dictionary look-up):

- placeholders: `?` -> `%s`, `:name` -> `%(name)s`, a literal `%` -> `%%` (psycopg's own syntax);
- `INSERT OR IGNORE` -> `INSERT ... ON CONFLICT DO NOTHING`; `INSERT OR REPLACE` / `REPLACE` -> an explicit
  `ON CONFLICT (primary key) DO UPDATE` of every other column (the key is read from the catalog);
- DDL types: INTEGER -> BIGINT (SQLite integers are 64-bit: Telegram ids need it), REAL -> DOUBLE PRECISION
  (PostgreSQL's REAL is 4 bytes), BLOB -> BYTEA, `INTEGER PRIMARY KEY [AUTOINCREMENT]` -> an identity key;
  tables in ROWID_TABLES get SQLite's implicit `rowid` as an explicit identity column with a unique index;
- `temp.` -> `pg_temp.`, `randomblob(n)` -> random bytes, `ifnull` -> `coalesce`, `LIKE` -> `ILIKE` (SQLite's
  LIKE ignores case), `PRAGMA` -> nothing.

Not translated (write the portable form instead): SQLite date functions (`date()`, `strftime`, `julianday`:
compute the bound in Python), sums of comparisons (`SUM(x = 'a')`: use CASE), two-argument `max()`/`min()`,
`GROUP BY` of columns not functionally dependent on the grouping key, `rowid` of tables not listed below.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Tables whose rows the code finds by SQLite's implicit rowid (new rows after a mark, cache versions, snapshot
# ranges, stored order): on PostgreSQL they get `rowid BIGINT GENERATED ALWAYS AS IDENTITY` plus a unique
# index. A new table whose code reads `rowid` must be named here.
ROWID_TABLES = frozenset({"transactions", "transaction_scores"})

_LITERAL = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)
_PLACEHOLDER = re.compile(r"\?(\d*)|(?<![:\w]):([A-Za-z_]\w*)")
_SENTINEL = re.compile(r"\x00(\d+)\x00")
_POSITIONAL, _NAMED_OPEN, _NAMED_CLOSE = "\x01", "\x02", "\x03"

_INSERT = re.compile(r"^\s*(?:INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO|(REPLACE)\s+INTO|INSERT\s+INTO)\s+"
                     r"([\w.]+)\s*(?:\(([^()]*)\))?", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+(?:(?:TEMP|TEMPORARY)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)\s*\(",
                           re.I)
_ALTER_ADD = re.compile(r"^(\s*ALTER\s+TABLE\s+[\w.]+\s+ADD\s+(?:COLUMN\s+)?(?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b)\w+\s+)"
                        r"(\w+)", re.I)
_TABLE_CONSTRAINT = re.compile(r"^\s*(PRIMARY\s+KEY|UNIQUE|CHECK|FOREIGN\s+KEY|CONSTRAINT)\b", re.I)
_COLUMN = re.compile(r"^(\s*\w+\s+)(\w+)(.*)$", re.S)
_INTEGER_KEY = re.compile(r"^\s*PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b", re.I)
_CAST_TYPE = re.compile(r"\bAS\s+(INTEGER|INT|REAL|BLOB)\s*\)", re.I)
_RANDOM_HEX = re.compile(r"\bhex\s*\(\s*randomblob\s*\(\s*(\d+)\s*\)\s*\)", re.I)
_RANDOM_BLOB = re.compile(r"\brandomblob\s*\(\s*(\d+)\s*\)", re.I)
_TYPES = {"INTEGER": "BIGINT", "INT": "BIGINT", "REAL": "DOUBLE PRECISION", "FLOAT": "DOUBLE PRECISION",
          "BLOB": "BYTEA"}


class TranslationError(ValueError):
    """A statement uses something only SQLite has and no translation exists (see the module docstring)."""


class Catalog:
    """What a translation may need to know about a table (the PostgreSQL store answers from pg_catalog)."""

    def primary_key(self, table: str) -> tuple[str, ...]:  # pragma: no cover - interface
        raise NotImplementedError

    def columns(self, table: str) -> tuple[str, ...]:  # pragma: no cover - interface
        raise NotImplementedError

    def identity_column(self, table: str) -> str | None:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class PgStatement:
    """A translated statement: `text` is None for a statement PostgreSQL has no use for (a PRAGMA)."""

    text: str | None
    named: bool = False                       # %(name)s placeholders: parameters come as a mapping
    returns_id: bool = False                  # RETURNING <identity> was added, for cursor.lastrowid
    after: tuple[str, ...] = ()               # statements to run right after (the rowid index of a new table)


def translate(sql: str, catalog: Catalog | None = None, *, many: bool = False) -> PgStatement:
    """`sql` (SQLite dialect) as PostgreSQL for psycopg; `many` for executemany (no RETURNING is added)."""
    literals: list[str] = []

    def hide(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith(("--", "/*")):
            return " "
        literals.append(text)
        return f"\x00{len(literals) - 1}\x00"

    code = _LITERAL.sub(hide, sql).strip().rstrip(";").strip()
    if re.match(r"PRAGMA\b", code, re.I):
        return PgStatement(None)
    code, named = _placeholders(code)
    after: tuple[str, ...] = ()
    returns_id = False
    create = _CREATE_TABLE.match(code)
    if create:
        code, after = _create_table(code, create)
    elif _ALTER_ADD.match(code):
        code = _ALTER_ADD.sub(lambda m: m.group(1) + _TYPES.get(m.group(2).upper(), m.group(2)), code, count=1)
    else:
        insert = _INSERT.match(code)
        if insert:
            code, returns_id = _insert(code, insert, catalog, many)
    code = _CAST_TYPE.sub(lambda m: f"AS {_TYPES[m.group(1).upper()]})", code)
    code = _RANDOM_HEX.sub(lambda m: f"upper(encode({_random_bytes(int(m.group(1)))}, 'hex'))", code)
    code = _RANDOM_BLOB.sub(lambda m: _random_bytes(int(m.group(1))), code)
    code = re.sub(r"\btemp\.(?=\w)", "pg_temp.", code, flags=re.I)
    code = re.sub(r"\bifnull\s*\(", "coalesce(", code, flags=re.I)
    code = re.sub(r"\bLIKE\b", "ILIKE", code, flags=re.I)
    code = re.sub(r"\bBEGIN\s+(IMMEDIATE|DEFERRED|EXCLUSIVE)\b", "BEGIN", code, flags=re.I)
    text = _SENTINEL.sub(lambda m: literals[int(m.group(1))], code).replace("%", "%%")
    text = text.replace(_POSITIONAL, "%s").replace(_NAMED_OPEN, "%(").replace(_NAMED_CLOSE, ")s")
    return PgStatement(text, named=named, returns_id=returns_id, after=after)


def upsert_clause(table: str, columns: Sequence[str], primary_key: Sequence[str], identity: str | None) -> str:
    """`ON CONFLICT (key) DO UPDATE SET ...`: what SQLite's INSERT OR REPLACE does to a conflicting row (the
    row takes the new values; a table with an identity rowid gives it a new one, as REPLACE does)."""
    if not primary_key:
        raise TranslationError(f"INSERT OR REPLACE into {table} needs a primary key to conflict on")
    keys = {k.lower() for k in primary_key}
    sets = [f"{c} = EXCLUDED.{c}" for c in columns if c.lower() not in keys]
    if identity is not None and identity.lower() not in keys:
        sets.append(f"{identity} = DEFAULT")
    if not sets:
        return f"ON CONFLICT ({', '.join(primary_key)}) DO NOTHING"
    return f"ON CONFLICT ({', '.join(primary_key)}) DO UPDATE SET {', '.join(sets)}"


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split on `separator` outside parentheses (literals are already hidden)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


# ------------------------------------------------------------------------------------------------- helpers
def _placeholders(code: str) -> tuple[str, bool]:
    kinds: set[str] = set()

    def swap(match: re.Match[str]) -> str:
        if match.group(0).startswith("?"):
            if match.group(1):
                raise TranslationError("numbered ?NNN parameters have no PostgreSQL form: use ? or :name")
            kinds.add("positional")
            return _POSITIONAL
        kinds.add("named")
        return f"{_NAMED_OPEN}{match.group(2)}{_NAMED_CLOSE}"

    code = _PLACEHOLDER.sub(swap, code)
    if len(kinds) > 1:
        raise TranslationError("a statement mixes ? and :name parameters")
    return code, kinds == {"named"}


def _random_bytes(n: int) -> str:
    """n random bytes (PostgreSQL 13+ has gen_random_uuid() built in: 16 bytes, 122 of them random bits)."""
    uuids = " || ".join(["uuid_send(gen_random_uuid())"] * max(1, -(-n // 16)))
    return f"substring({uuids} from 1 for {n})"


def _create_table(code: str, match: re.Match[str]) -> tuple[str, tuple[str, ...]]:
    table = match.group(1)
    open_at = match.end() - 1
    close_at = code.rindex(")")
    items = split_top_level(code[open_at + 1:close_at])
    out = [item if _TABLE_CONSTRAINT.match(item) else _column(item) for item in items]
    after: tuple[str, ...] = ()
    bare = table.split(".")[-1].lower()
    if bare in ROWID_TABLES:
        out.append("\n    rowid BIGINT GENERATED ALWAYS AS IDENTITY")
        after = (f"CREATE UNIQUE INDEX {bare}_rowid_key ON {table} (rowid)",)
    tail = re.sub(r"\bWITHOUT\s+ROWID\b|\bSTRICT\b", "", code[close_at + 1:], flags=re.I).strip(" ,")
    return code[: open_at + 1] + ",".join(out) + "\n)" + (f" {tail}" if tail else ""), after


def _column(item: str) -> str:
    match = _COLUMN.match(item)
    if not match:
        return item
    head, kind, rest = match.groups()
    upper = kind.upper()
    if upper in ("INTEGER", "INT"):
        key = _INTEGER_KEY.match(rest)
        if key:  # SQLite's rowid alias: a value is assigned when none is given
            return head + "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" + rest[key.end():]
    return head + _TYPES.get(upper, kind) + re.sub(r"\s+AUTOINCREMENT\b", "", rest, flags=re.I)


def _insert(code: str, match: re.Match[str], catalog: Catalog | None, many: bool) -> tuple[str, bool]:
    conflict = (match.group(1) or match.group(2) or "").upper()
    table, column_text = match.group(3), match.group(4)
    head = f"INSERT INTO {table}" + (f" ({column_text})" if column_text is not None else "")
    code = head + " " + code[match.end():].lstrip()
    returning = _RETURNING.search(code)
    body, tail = (code[: returning.start()].rstrip(), " " + code[returning.start():]) if returning else (code, "")
    if conflict == "IGNORE":
        body += " ON CONFLICT DO NOTHING"
    elif conflict == "REPLACE":
        if catalog is None:
            raise TranslationError("INSERT OR REPLACE needs the table's primary key")
        columns = ([c.strip() for c in column_text.split(",")] if column_text is not None
                   else list(catalog.columns(table)))
        body += " " + upsert_clause(table, columns, catalog.primary_key(table), catalog.identity_column(table))
    returns_id = False
    if (not returning and not many and catalog is not None and re.search(r"\bVALUES\b", body, re.I)
            and not re.search(r"\bSELECT\b", body, re.I)):
        identity = catalog.identity_column(table)
        if identity is not None:
            tail, returns_id = f" RETURNING {identity}", True
    return body + tail, returns_id


def make_catalog(primary_key: Callable[[str], tuple[str, ...]], columns: Callable[[str], tuple[str, ...]],
                 identity_column: Callable[[str], str | None]) -> Catalog:
    """A Catalog from three functions (tests and the PostgreSQL store)."""

    class _Functions(Catalog):
        def primary_key(self, table: str) -> tuple[str, ...]:
            return primary_key(table)

        def columns(self, table: str) -> tuple[str, ...]:
            return columns(table)

        def identity_column(self, table: str) -> str | None:
            return identity_column(table)

    return _Functions()
