"""The REST API (contract §6) on FastAPI: every route needs the X-API-Key header; figures come from the facade."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import json
import logging
import math
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from analytics.recommend import PRODUCT_KINDS
from analytics.results import CustomerInsights, Recommendation
from bot.api.guard import KeyFirstGuard
from bot.api.schemas import MAX_BATCH, validate_rows
from bot.notify.checks import ProactiveChecks
from bot.notify.intake import IntakeResult, TransactionIntake
from bot.notify.outbox import Outbox
from bot.notify.runner import linking_and_preferences
from bot.services.errors import CustomerNotFound, FinAssistError, InvalidMonth, NoData, NotTrained
from bot.services.trained_scores import TrainedScores
from bot.storage.database import StoreUnavailable
from bot.storage.fraud_checks import FraudCheckRepository
from bot.storage.transactions import TransactionRepository

log = logging.getLogger(__name__)

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="the key from [api] api_key_env")
# A POST carries at most MAX_BATCH transactions, each well under 1 KiB at the field limits of schemas.py.
MAX_BODY_BYTES = MAX_BATCH * 1024
ProductKind = Literal[PRODUCT_KINDS]  # type: ignore[valid-type]  # ?kind=foo is a 422, not a 500


class ApiKeyMissing(RuntimeError):
    """No API key configured: the API refuses to start rather than serve customer data to anyone."""


def _plain(value: Any) -> Any:
    """Dataclasses to JSON-safe values; NaN/inf become null (JSON has no NaN)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    encoded = jsonable_encoder(value)

    def clean(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, dict):
            return {k: clean(v) for k, v in item.items()}
        if isinstance(item, list):
            return [clean(v) for v in item]
        return item

    return clean(encoded)


# Response shapes for the OpenAPI document (routes return JSONResponse; these only describe it).
class Health(BaseModel):
    status: str
    latest_transaction: dt.date | None


class Recommendations(BaseModel):
    customer_id: str
    recommendations: list[Recommendation]


class AnomalyCheck(BaseModel):
    transaction_id: str
    customer_id: str
    ts: dt.datetime
    amount: float
    scored: bool
    anomaly_score: float | None
    flagged: bool | None
    reasons: list[str]
    scored_at: dt.datetime | None
    fraud_check: Literal["pending", "confirmed", "disputed"] | None
    answered_at: dt.datetime | None


class ErrorBody(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong X-API-Key"},
    404: {"model": ErrorBody, "description": "unknown customer or transaction"},
    413: {"model": ErrorBody, "description": "request body too large"},
    422: {"model": ErrorBody, "description": "invalid parameter or transaction (each bad row with its reasons)"},
    503: {"model": ErrorBody, "description": "no model trained yet"},
}


def iso_8601(value: Any) -> str | None:
    """A stored time as ISO 8601 (`2016-08-02T14:32:07`), the form /insights uses (the store writes a space)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    try:
        return dt.datetime.fromisoformat(str(value)).isoformat()
    except ValueError:
        return str(value)


def create_app(services: Any) -> FastAPI:
    """Build the API over the composition root's Services. Raises ApiKeyMissing without a configured key."""
    config = services.config
    api_key = config.api.api_key
    if not api_key:
        raise ApiKeyMissing(f"no API key: set the environment variable {config.api.api_key_env} "
                            "(named by [api] api_key_env) before serving the API")
    store = services.store
    linking, preferences = linking_and_preferences(services, services.extras.get("linking"),
                                                   services.extras.get("preferences"))
    checks = ProactiveChecks(services.insights, linking, preferences, Outbox(store, config), config)
    intake = TransactionIntake(store, checks)
    fraud_checks = FraudCheckRepository(store)
    trained_scores = TrainedScores(store)

    def key_is_right(provided: str | None) -> bool:
        return provided is not None and hmac.compare_digest(provided.encode(), api_key.encode())

    def require_key(provided: str | None = Depends(API_KEY_HEADER)) -> None:
        if not key_is_right(provided):
            raise HTTPException(status_code=401, detail="missing or wrong X-API-Key",
                                headers={"WWW-Authenticate": "APIKey"})

    # FastAPI's built-in /docs, /redoc and /openapi.json bypass app dependencies: they are switched off and
    # served below as ordinary routes, so they too answer only with the key.
    app = FastAPI(title="FinAssist API", version="1", dependencies=[Depends(require_key)],
                  docs_url=None, redoc_url=None, openapi_url=None,
                  description="Figures about one bank customer at a time, and new transactions in. Every route "
                              "needs the `X-API-Key` header. Times are ISO 8601, amounts rupees.")
    # The key is checked before a body is read, and a body is cut off at MAX_BODY_BYTES (413).
    app.add_middleware(KeyFirstGuard, key_is_right=key_is_right, max_body_bytes=MAX_BODY_BYTES)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        # The document is embedded: the browser's own fetch of /openapi.json would carry no key.
        return get_swagger_ui_html(openapi_url="/openapi.json", title="FinAssist API",
                                   swagger_ui_parameters={"spec": app.openapi()})

    @app.exception_handler(FinAssistError)
    async def domain_error(request: Request, exc: FinAssistError) -> JSONResponse:
        status = 404 if isinstance(exc, CustomerNotFound | NoData) else 422 if isinstance(exc, InvalidMonth) \
            else 503 if isinstance(exc, NotTrained) else 400
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        # The database server went away (a restart, a failover): a 503 the client can retry; a POST that
        # got it stored all its rows or none (transaction IDs make re-sending safe).
        log.warning("api: %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(status_code=503, headers={"Retry-After": "2"},
                            content={"detail": "the database is unavailable just now; try again shortly"})

    @app.get("/health", response_model=Health, summary="the store answers; its latest transaction date")
    def health() -> dict[str, Any]:
        latest = TransactionRepository(store).latest_date()  # one index look-up: the store answers
        return {"status": "ok", "latest_transaction": latest.isoformat() if latest else None}

    @app.get("/customer/{customer_id}/insights", response_model=CustomerInsights,
             summary="everything the assistant knows about one customer", responses=ERRORS)
    def customer_insights(customer_id: str) -> JSONResponse:
        return JSONResponse(_plain(services.insights.insights(customer_id)))

    @app.get("/customer/{customer_id}/recommendations", response_model=Recommendations,
             summary="bank products that suit the customer, best first", responses=ERRORS)
    def customer_recommendations(customer_id: str,
                                 kind: Annotated[ProductKind | None, Query(description="only this kind")] = None,
                                 limit: int = 3) -> JSONResponse:
        items = services.insights.recommendations(customer_id, kind=kind, limit=max(1, min(limit, 20)))
        return JSONResponse({"customer_id": customer_id, "recommendations": _plain(list(items))})

    @app.get("/transaction/{transaction_id}/anomaly-check", response_model=AnomalyCheck,
             summary="a transaction's anomaly score, reasons and the customer's answer", responses=ERRORS)
    def anomaly_check(transaction_id: str) -> JSONResponse:
        row = fraud_checks.anomaly_check(transaction_id)
        if row is None:
            raise HTTPException(status_code=404, detail=f"no transaction with ID {transaction_id!r}")
        if row["anomaly_score"] is None and (quiet := trained_scores.for_transaction(transaction_id)) is not None:
            row.update(anomaly_score=quiet["anomaly_score"], flagged=quiet["flagged"],
                       reasons=json.dumps(quiet["reasons"]), category=quiet["category"], scored_at=quiet["scored_at"])
        scored = row["anomaly_score"] is not None
        return JSONResponse(_plain({
            "transaction_id": row["transaction_id"],
            "customer_id": row["customer_id"],
            "ts": iso_8601(row["ts"]),
            "amount": row["amount"],
            "scored": scored,
            "anomaly_score": row["anomaly_score"],
            "flagged": bool(row["flagged"]) if scored else None,
            "reasons": json.loads(row["reasons"]) if scored else [],
            "scored_at": iso_8601(row["scored_at"]),
            "fraud_check": row["fraud_check"],        # null, "pending", "confirmed" or "disputed"
            "answered_at": iso_8601(row["answered_at"]),
        }))

    @app.post("/transactions", response_model=IntakeResult, responses=ERRORS,
              summary="new transactions: stored, scored, alerts queued (all or nothing on a bad row)")
    def post_transactions(rows: Annotated[list[Any], Body(description="new transactions, canonical names")]
                          ) -> JSONResponse:
        if len(rows) > MAX_BATCH:
            raise HTTPException(status_code=413, detail=f"at most {MAX_BATCH} transactions per request")
        good, problems = validate_rows(rows, config.scheduler.timezone)
        if problems:  # all or nothing: a client fixes its batch and re-sends (ids make re-sending safe)
            return JSONResponse(status_code=422, content={"detail": problems})
        result = intake.submit([txn.canonical() for txn in good])
        log.info("api: %d transactions received, %d new, %d flagged", result.received, result.inserted,
                 result.flagged)
        return JSONResponse(status_code=200, content=_plain(result))

    return app
