"""`finassist api`: serve the REST API with uvicorn on [api] host/port."""

from __future__ import annotations

import argparse

from bot.api.app import ApiKeyMissing, create_app
from bot.cli import CommandFailed
from bot.config import Config
from bot.container import build_services


def run(args: argparse.Namespace, config: Config) -> int:
    import uvicorn

    services = build_services(config)
    try:
        try:
            app = create_app(services)
        except ApiKeyMissing as exc:
            raise CommandFailed(str(exc)) from exc
        print(f"FinAssist API on http://{config.api.host}:{config.api.port} (X-API-Key required)")
        uvicorn.run(app, host=config.api.host, port=config.api.port, log_level="warning", access_log=False)
    finally:
        services.close()
    return 0
