"""uvicorn in a thread, so `vigie run`, `vigie demo` and the tests keep the main thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class ServerThread(threading.Thread):
    """uvicorn in a thread, so `vigie run` and `vigie demo` keep the main thread for supervision."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        super().__init__(name="vigie-http", daemon=True)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", access_log=False)
        )

    def run(self) -> None:
        self.server.run()

    @property
    def port(self) -> int:
        for server in self.server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("server is not listening")

    def wait_started(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.is_alive():
                raise RuntimeError("the HTTP server did not start (is the port taken?)")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.join(timeout=10)
