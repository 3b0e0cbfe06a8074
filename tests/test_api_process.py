"""`finassist api` as a real process: uvicorn on a free loopback port, X-API-Key enforced over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.slow
KEY = "process-test-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_api_process_serves_insights_with_the_key_only(trained_db, tmp_path):
    import sqlite3

    customer = sqlite3.connect(trained_db).execute("SELECT customer_id FROM transactions LIMIT 1").fetchone()[0]
    port = _free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndb_path = "{trained_db}"\n[api]\nhost = "127.0.0.1"\nport = {port}\n')
    env = dict(os.environ, FINASSIST_API_KEY=KEY)
    process = subprocess.Popen([sys.executable, "-m", "bot", "api", "--config", str(config)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/health", headers={"X-API-Key": KEY}, timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.2)
        refused = httpx.get(f"{base}/customer/{customer}/insights", timeout=5)
        answered = httpx.get(f"{base}/customer/{customer}/insights", headers={"X-API-Key": KEY}, timeout=30)
    finally:
        process.terminate()
        process.wait(30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert refused.status_code == 401
    assert answered.status_code == 200 and answered.json()["customer_id"] == customer
