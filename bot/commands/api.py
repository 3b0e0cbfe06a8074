"""`finassist api`: serve the REST API with uvicorn on [api] host/port."""

from __future__ import annotations

import argparse
import socket

from bot.api.app import ApiKeyMissing, create_app
from bot.cli import CommandFailed
from bot.config import Config
from bot.container import build_services


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound and listening before uvicorn starts, so the line printed after it means "ready": a client that
    connects then is queued, never refused (and port 0 picks a free port, which the line names)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise CommandFailed(f"cannot listen on {host}:{port} ([api] host/port): {exc.strerror or exc}") from exc
    return sock


def run(args: argparse.Namespace, config: Config) -> int:
    import uvicorn

    services = build_services(config)
    try:
        try:
            app = create_app(services)
        except ApiKeyMissing as exc:
            raise CommandFailed(str(exc)) from exc
        sock = listening_socket(config.api.host, config.api.port)
        host, port = sock.getsockname()[:2]
        # log_config=None: uvicorn's loggers propagate to the root handler and its secret-masking filter
        # (its own logging config would give them handlers of their own that bypass it).
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, log_config=None))
        print(f"FinAssist API on http://{host}:{port} (X-API-Key required)", flush=True)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it shut down on: stopping is a normal end
            pass
    finally:
        services.close()
    return 0
