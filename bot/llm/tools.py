"""The facade's read functions as LLM tools, bound to one customer: no tool takes a customer ID."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
from typing import Any

from analytics.money import format_inr
from analytics.schema import CREDIT, DEBIT
from bot.llm import answers
from bot.llm.answers import Facade
from bot.services.errors import InvalidMonth, NoData, NotTrained

log = logging.getLogger(__name__)

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_KINDS = ["savings", "fd", "sip", "credit_card", "personal_loan", "overdraft"]
_MONTH_PARAM = {"type": "string", "description": "calendar month as YYYY-MM; omit for the last complete month"}


class ToolCallError(ValueError):
    """The model asked for a tool that does not exist or passed arguments the tool does not take."""


def _spec(name: str, description: str, properties: dict[str, Any] | None = None,
          required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties or {}, "required": list(required),
                       "additionalProperties": False}}}


TOOL_SPECS: tuple[dict[str, Any], ...] = (
    _spec("get_balance", "The customer's latest known account balance, its 30-day change and the low-balance level."),
    _spec("get_spending", "Money out and in for one month, by category, with the change from the month before.",
          {"month": _MONTH_PARAM}),
    _spec("get_budget", "A suggested monthly budget per category from recent complete months."),
    _spec("get_unusual_transactions", "Recent transactions flagged as unusual for this customer, with reasons: "
          "the latest 5 under `flagged`, how many there are in all (`n_flagged`) and how many are not listed."),
    _spec("get_recommendations", "Bank products that suit this customer, best first.",
          {"kind": {"type": "string", "enum": _KINDS, "description": "only this kind of product"}}),
    _spec("get_monthly_report", "The monthly report: money in/out, net savings, top categories, balance change.",
          {"month": _MONTH_PARAM}),
    _spec("get_profile", "How the customer banks: history length, transaction counts, typical spending, segment."),
    _spec("check_affordability", "Whether a purchase of `price` rupees is affordable now, or how long saving takes.",
          {"price": {"type": "number", "description": "price in rupees"}}, ("price",)),
    _spec("get_transactions", "The customer's transactions, newest first.",
          {"month": _MONTH_PARAM, "limit": {"type": "integer", "description": "at most this many (<= 20)"}}),
    _spec("list_months", "The months for which the customer has transactions."),
    _spec("get_income", "Money in for one month: the total credited, every credit (payer, date, amount) and the "
          "customer's regular income (salary or pension: payer, amount, usual day, last and next date) if any.",
          {"month": _MONTH_PARAM}),
    _spec("get_recurring_payments", "Subscriptions, bills, rent and EMIs that repeat: payee, amount, interval, "
          "next expected date, the monthly total, and recent price rises or double charges."),
)
_ALLOWED = {s["function"]["name"]: set(s["function"]["parameters"]["properties"]) for s in TOOL_SPECS}
_REQUIRED = {s["function"]["name"]: set(s["function"]["parameters"]["required"]) for s in TOOL_SPECS}


def to_plain(value: Any) -> Any:
    """Result dataclasses as JSON-ready values: dates ISO, tuples lists, floats as given."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class BoundTools:
    """Tool executor closed over one customer ID: whatever the model sends, it reads only this customer.

    Results go out unredacted from here: the client's redactor (bot.llm.privacy) scrubs every outgoing
    request in one place, tool results and history alike.
    """

    def __init__(self, insights: Facade, customer_id: str) -> None:
        self._insights = insights
        self._customer_id = customer_id
        self.results: list[Any] = []        # everything returned this turn, for the grounding check

    @staticmethod
    def specs() -> list[dict[str, Any]]:
        return [dict(s) for s in TOOL_SPECS]

    def parse(self, name: str, arguments: str | None) -> dict[str, Any]:
        """Validated arguments, or ToolCallError (unknown tool, bad JSON, unknown or wrong-typed arguments)."""
        if name not in _ALLOWED:
            raise ToolCallError(f"unknown tool {name!r}")
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ToolCallError(f"arguments of {name} are not JSON: {exc}") from exc
        if not isinstance(args, dict):
            raise ToolCallError(f"arguments of {name} must be an object")
        extra = set(args) - _ALLOWED[name]
        if extra:
            raise ToolCallError(f"{name} takes no argument(s) {sorted(extra)}")
        missing = _REQUIRED[name] - set(args)
        if missing:
            raise ToolCallError(f"{name} needs {sorted(missing)}")
        month = args.get("month")
        if month is not None and (not isinstance(month, str) or not _MONTH.match(month)):
            raise ToolCallError(f"month must be YYYY-MM, got {month!r}")
        if "kind" in args and args["kind"] not in _KINDS:
            raise ToolCallError(f"unknown product kind {args['kind']!r}")
        price = args.get("price")
        if "price" in args and (isinstance(price, bool) or not isinstance(price, int | float) or price < 0):
            raise ToolCallError(f"price must be a non-negative number, got {price!r}")
        limit = args.get("limit")
        if "limit" in args and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 20):
            raise ToolCallError(f"limit must be an integer from 1 to 20, got {limit!r}")
        return args

    def call(self, name: str, arguments: str | None) -> str:
        """Run a tool for the bound customer; the JSON text that goes back to the model (sync: reads the store)."""
        args = self.parse(name, arguments)
        try:
            result = to_plain(self._run(name, args))
        except (InvalidMonth, NoData, NotTrained) as exc:
            result = {"error": str(exc)}
        self.results.append(result)
        return json.dumps(result, ensure_ascii=False)

    def _run(self, name: str, args: dict[str, Any]) -> Any:
        f, cid = self._insights, self._customer_id
        if name == "get_balance":
            return f.balance(cid)
        if name == "get_spending":
            return f.spending(cid, args.get("month"))
        if name == "get_budget":
            return f.budget(cid)
        if name == "get_unusual_transactions":
            flags = f.anomalies(cid, limit=5)
            total = max(f.anomaly_count(cid), len(flags))
            return {"flagged": flags, "n_flagged": total, "n_not_shown": total - len(flags)}
        if name == "get_recommendations":
            return {"products": f.recommendations(cid, kind=args.get("kind"), limit=3)}
        if name == "get_monthly_report":
            return f.report(cid, args.get("month"))
        if name == "get_profile":
            return {"profile": f.profile(cid), "segment": f.segment(cid)}
        if name == "check_affordability":
            result = answers.affordability_for(f, cid, float(args["price"]))
            return {**to_plain(result), "price_text": format_inr(result.price)}
        if name == "get_transactions":
            return {"transactions": f.transactions(cid, args.get("month"), limit=args.get("limit", 10))}
        if name == "list_months":
            return {"months": f.months_available(cid), "as_of": f.as_of()}
        if name == "get_income":
            summary = f.spending(cid, args.get("month"))
            credits = [t for t in f.transactions(cid, month=summary.month) if t.txn_type == CREDIT]
            return {"month": summary.month, "so_far": summary.is_partial, "total_in": summary.total_in,
                    "n_credits": len(credits), "credits": credits[:20], "regular_income": f.regular_income(cid)}
        if name == "get_recurring_payments":
            payments = [p for p in f.recurring_payments(cid) if p.txn_type == DEBIT]
            return {"payments": payments, "n_payments": len(payments),
                    "monthly_total": round(sum(p.monthly_equivalent for p in payments), 2),
                    "alerts": f.recurring_alerts(cid)}
        raise ToolCallError(f"unknown tool {name!r}")   # pragma: no cover - parse() already refused it
