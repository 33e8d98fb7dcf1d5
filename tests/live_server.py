"""`duty-assistant serve` as a child process, for the browser tests, the load test and the README screenshots.

    with live_server.start(["--log-questions", str(path)], log=tmp / "server.log") as server:
        httpx.get(server.url)

`start` returns once the server answers HTTP (200, or 401 behind a login) and raises `ServerError` with the
tail of the server's log when it exits or does not answer in time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.settings import current
class ServerError(RuntimeError):
    """The server exited or did not answer; the message holds the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    process: subprocess.Popen
    url: str
    log: Path
    startup_s: float  # process start → first HTTP answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> "LiveServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(args: list[str] = (), *, log: Path, port: int | None = None, cwd: Path = current().root,
          env: dict[str, str] | None = None, timeout: float | None = None) -> LiveServer:
    """Start `python -m assistant.cli serve --port PORT ARGS…` and wait until it answers.

    `env` adds to (or, with value None, removes from) this process's environment; DUTY_ASSISTANT_AUTH is
    dropped unless given. `timeout` defaults to $DUTY_ASSISTANT_SERVER_TIMEOUT or 180 s (model load and index
    checks on a busy 2-core machine).
    """
    import httpx

    port = port or free_port()
    environment = {k: v for k, v in os.environ.items() if k != "DUTY_ASSISTANT_AUTH"}
    environment.update(PYTHONUNBUFFERED="1", GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(current().root))
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    timeout = timeout or float(os.environ.get("DUTY_ASSISTANT_SERVER_TIMEOUT", "180"))
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port), *args],
                                   cwd=cwd, env=environment, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(process, f"http://127.0.0.1:{port}/", Path(log), 0.0)
    while True:
        if process.poll() is not None:
            raise ServerError(f"the server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(server.url, timeout=2).status_code in (200, 401):
                server.startup_s = time.monotonic() - started
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() - started > timeout:
            server.stop()
            raise ServerError(f"the server did not answer within {timeout:.0f} s:\n{server.log_tail()}")
        time.sleep(1)
