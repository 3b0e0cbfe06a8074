"""FinAssist: the bank-facing side (store, facade, channels) built on the pure `analytics` package."""
