"""Request models of the REST API: a new transaction in the canonical field names (analytics.schema)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from analytics.ingest import latest_accepted_time
from analytics.schema import normalize_category

MAX_BATCH = 5000
DEFAULT_ZONE = "Asia/Kolkata"


class NewTransaction(BaseModel):
    """One transaction as a bank system posts it; times are bank-local (an offset is converted)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # callback data "fraud:yes:<id>" must stay under 64 bytes, hence 48
    transaction_id: str = Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_.:\-]+$")
    customer_id: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    ts: dt.datetime
    amount: float = Field(gt=0)
    balance: float | None = None
    txn_type: Literal["DEBIT", "CREDIT"] = "DEBIT"
    merchant: str | None = Field(default=None, max_length=200)
    category: str | None = None
    channel: str | None = Field(default=None, max_length=40)
    location: str | None = Field(default=None, max_length=200)
    dob: dt.date | None = None
    gender: Literal["M", "F"] | None = None

    @field_validator("amount", "balance")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("txn_type", "gender", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("ts")
    @classmethod
    def _bank_local(cls, value: dt.datetime, info: ValidationInfo) -> dt.datetime:
        if value.tzinfo is not None:
            zone = (info.context or {}).get("timezone", DEFAULT_ZONE)
            value = value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        return value

    def canonical(self) -> dict[str, Any]:
        row = self.model_dump()
        row["category"] = normalize_category(self.category)
        row["channel"] = self.channel.upper() if self.channel else None
        row["location"] = self.location.upper() if self.location else None
        row["dob"] = dt.datetime.combine(self.dob, dt.time()) if self.dob else None
        return row


def validate_rows(rows: list[Any], timezone: str = DEFAULT_ZONE, now: dt.datetime | None = None,
                  ) -> tuple[list[NewTransaction], list[dict[str, Any]]]:
    """Valid rows, and for each bad row its index and reasons (a repeated id in one batch is bad too).

    A row dated more than a day after `now` (default: the clock) is bad: one such row would move the
    analytics clock (`as_of`, the latest date in the store) for every customer.
    """
    latest = latest_accepted_time(now, timezone)
    good: list[NewTransaction] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(rows):
        if not isinstance(raw, dict):
            problems.append({"row": index, "errors": ["each transaction must be a JSON object"]})
            continue
        try:
            txn = NewTransaction.model_validate(raw, context={"timezone": timezone})
        except ValidationError as exc:
            reasons = [f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()]
            problems.append({"row": index, "transaction_id": raw.get("transaction_id"), "errors": reasons})
            continue
        if txn.ts > latest:
            problems.append({"row": index, "transaction_id": txn.transaction_id, "errors": [
                f"ts: {txn.ts.isoformat()} is in the future (after {latest.isoformat(timespec='minutes')} "
                f"{timezone} time, now plus 1 day)"]})
            continue
        if txn.transaction_id in seen:
            problems.append({"row": index, "transaction_id": txn.transaction_id,
                             "errors": ["transaction_id: repeated within this request"]})
            continue
        seen.add(txn.transaction_id)
        good.append(txn)
    return good, problems
