"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp folder, pg_ctl on a free loopback port.

The server binaries come from `pg_config --bindir` (or the usual Debian folder). `initdb` refuses to run as root,
so as root the cluster belongs to `nobody` (its folder is made for that user). Nothing here is a mock: tests talk
to a real server over TCP on 127.0.0.1, and `restart()` stops and starts it for connection-loss tests.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "fa"


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL's server binaries are not installed."""
    pg_config = shutil.which("pg_config")
    candidates: list[str] = []
    if pg_config:
        try:
            candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                             check=True).stdout.strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """One server; `url(db)` names a database on it. Use as a context manager or call start()/stop()."""

    def __init__(self, bindir: Path | None = None, *, durable: bool = False) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bindir = found
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="finassist-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self._as_nobody = os.geteuid() == 0
        self.durable = durable  # tests skip fsync and full-page writes; a benchmark keeps a server's defaults

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        kwargs: dict = {"capture_output": True, "text": True, "check": check}
        if self._as_nobody:
            nobody = pwd.getpwnam("nobody")
            kwargs["user"], kwargs["group"] = nobody.pw_uid, nobody.pw_gid
            kwargs["extra_groups"] = []
        return subprocess.run(command, **kwargs)

    def start(self) -> PgCluster:
        os.chmod(self.root, 0o755)
        for folder in (self.data, self.socket_dir):
            folder.mkdir(mode=0o700)
            if self._as_nobody:
                nobody = pwd.getpwnam("nobody")
                os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8")
        self.start_server()
        return self

    def start_server(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c max_connections=100"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l", str(self.socket_dir / "server.log"),
                  "start")

    def stop_server(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        """Stop and start the server (every client connection is cut, as in a failover)."""
        self.stop_server("fast")
        self.start_server()

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._run("dropdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "--force", "--if-exists", name,
                  check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self.stop_server("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
