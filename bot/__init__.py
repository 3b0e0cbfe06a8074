"""FinAssist: the bank-facing side (store, facade, channels) built on the pure `analytics` package."""

import os

# Arrow allocates from the C heap, which `bot.services.memory.return_freed_memory` can hand back between the
# stages of a big ingest + train (Arrow's own pool kept 45-80 MB of a CSV parse). Arrow reads this once, when
# it is loaded, so it is set here, before any FinAssist code imports pyarrow; an explicit setting wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
