"""Pure analytics for FinAssist: DataFrames and estimators in, plain results out.

Nothing here touches the database, the network, Telegram or an LLM.
"""
