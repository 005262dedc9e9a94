"""``tether serve --workers N``: N worker processes, each with a listening socket of its own.

uvicorn's own supervisor binds one socket and shares it with every worker. A worker woken by a
new connection accepts every connection waiting on it (asyncio and uvloop both do), so a burst
of connects (a load balancer's keep-alive pool opening, a client's connection pool) lands on one
worker while the others idle: benchmarks saw one worker take all of wrk's connections in about
one phase of three (the server then on one core of two, logins at 43% of the hashing rate).

Here the supervisor binds one socket per worker, all with ``SO_REUSEPORT`` on the same address,
and the kernel spreads new connections over them by a hash of each connection's addresses, at
SYN time, whoever is awake. Each socket belongs to its worker's slot for the life of the
supervisor: a worker that dies is replaced on the same socket (the connections queued on it in
the meantime are served by the replacement, not dropped), and ``SIGHUP`` replaces the workers
one by one, each new one serving beside the old before the old is stopped. ``SIGTERM`` and
``SIGINT`` stop every worker with ``SIGTERM`` (each drains, web/lifecycle.py) and wait for them.

Without ``SO_REUSEPORT`` (not Linux or BSD) ``serve`` keeps uvicorn's supervisor.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from multiprocessing.context import SpawnProcess
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("uvicorn.error")

#: How often the supervisor looks for workers that died.
_CHECK_EVERY = 0.5


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listener(host: str, port: int, backlog: int) -> socket.socket:
    """One worker's listening socket, in the group of sockets sharing ``host:port``."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        # Listening from here on: connections queue for the worker while it starts.
        sock.listen(backlog)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def _check_free(host: str, port: int) -> None:
    """Fail as a shared socket would when something listens on the address already: sockets
    with ``SO_REUSEPORT`` would join another server's group (an older Tether still running)
    and silently split its traffic with it."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _serve(config: uvicorn.Config, sock: socket.socket) -> None:
    """A worker process: uvicorn's server on this slot's socket."""
    config.configure_logging()
    uvicorn.Server(config).run(sockets=[sock])


class Workers:
    """The supervisor (module docstring)."""

    def __init__(self, config: uvicorn.Config, count: int):
        self._config = config
        self._spawn = multiprocessing.get_context("spawn")
        if config.port:
            _check_free(config.host, config.port)
        first = listener(config.host, config.port, config.backlog)
        port = first.getsockname()[1]  # the same port for all, also when asked for port 0
        self.sockets = [first] + [
            listener(config.host, port, config.backlog) for _ in range(count - 1)
        ]
        self.processes: list[SpawnProcess] = []
        self._stop = threading.Event()
        self._restart = threading.Event()
        self.failed = False

    def _start(self, sock: socket.socket) -> SpawnProcess:
        process = self._spawn.Process(target=_serve, args=(self._config, sock), daemon=False)
        process.start()
        log.info("Started worker process [%s]", process.pid)
        return process

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._restart.set()
        else:
            self._stop.set()

    def run(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            self.processes = [self._start(sock) for sock in self.sockets]
            while not self._stop.wait(_CHECK_EVERY):
                if self._restart.is_set():
                    self._restart.clear()
                    self._replace_all()
                self._replace_dead()
        finally:
            self._stop_all()
            for sock in self.sockets:
                sock.close()

    def _replace_dead(self) -> None:
        for slot, process in enumerate(self.processes):
            if process.is_alive():
                continue
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # It failed before serving (the app or its configuration is broken): every
                # replacement would fail the same way.
                log.error("Worker process [%s] failed to start; stopping", process.pid)
                self.failed = True
                self._stop.set()
                return
            log.warning(
                "Worker process [%s] exited with %s; starting another",
                process.pid,
                process.exitcode,
            )
            self.processes[slot] = self._start(self.sockets[slot])

    def _replace_all(self) -> None:
        for slot, old in enumerate(self.processes):
            if self._stop.is_set():
                return
            self.processes[slot] = self._start(self.sockets[slot])
            _terminate(old)
            old.join()

    def _stop_all(self) -> None:
        for process in self.processes:
            _terminate(process)
        for process in self.processes:
            process.join()
            log.info("Worker process [%s] stopped", process.pid)


def _terminate(process: SpawnProcess) -> None:
    if process.is_alive() and process.pid is not None:
        process.terminate()  # SIGTERM: the worker drains (web/lifecycle.py)
