"""`finassist api` as a real process: uvicorn on a loopback port, X-API-Key enforced over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

import httpx
import pytest

pytestmark = pytest.mark.slow
KEY = "process-test-key"


async def test_api_process_serves_insights_with_the_key_only(trained_db, tmp_path):
    import sqlite3

    customer = sqlite3.connect(trained_db).execute("SELECT customer_id FROM transactions LIMIT 1").fetchone()[0]
    config = tmp_path / "config.toml"
    # port 0: the process listens on a free port and names it in its ready line (no port race, no polling)
    config.write_text(f'[storage]\ndb_path = "{trained_db}"\n[api]\nhost = "127.0.0.1"\nport = 0\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "api", "--config", str(config), env=dict(os.environ, FINASSIST_API_KEY=KEY),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        ready = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
        base = re.fullmatch(r"FinAssist API on (http://127\.0\.0\.1:\d+) \(X-API-Key required\)\n", ready).group(1)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            health = await client.get("/health", headers={"X-API-Key": KEY})
            refused = await client.get(f"/customer/{customer}/insights")
            answered = await client.get(f"/customer/{customer}/insights", headers={"X-API-Key": KEY})
    finally:
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert refused.status_code == 401
    assert answered.status_code == 200 and answered.json()["customer_id"] == customer
    assert process.returncode == 0, err.decode()[-2000:]


def test_api_on_a_port_in_use_fails_in_one_line(trained_db, tmp_path, capsys, monkeypatch):
    import socket

    from bot.cli import main

    monkeypatch.setenv("FINASSIST_API_KEY", KEY)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(f'[storage]\ndb_path = "{trained_db}"\n[api]\nhost = "127.0.0.1"\nport = {port}\n')
        assert main(["api", "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"finassist api: cannot listen on 127.0.0.1:{port} ([api] host/port): ")
    assert len(err.splitlines()) == 1
