"""Domain exceptions raised inside services; channels turn each into one user-facing sentence."""

from __future__ import annotations


class FinAssistError(Exception):
    """Base of every domain error."""


class CustomerNotFound(FinAssistError):
    def __init__(self, customer_id: str) -> None:
        super().__init__(f"no customer with ID {customer_id!r} in the store")
        self.customer_id = customer_id


class NoData(FinAssistError):
    """The store holds nothing yet (run `finassist ingest`) or nothing for the asked period."""


class NotTrained(FinAssistError):
    """Models have not been built yet (run `finassist train`)."""


class InvalidMonth(FinAssistError):
    """A month argument that is not YYYY-MM or lies outside the data."""
