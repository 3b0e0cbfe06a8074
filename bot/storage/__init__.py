"""The store boundary: every SQL statement of FinAssist lives in this package."""
