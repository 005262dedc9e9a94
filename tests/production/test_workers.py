"""``tether serve --workers 2`` (cli/workers.py): each worker listens on a socket of its own in
one ``SO_REUSEPORT`` group, so a burst of connections is spread over the workers by the kernel;
a worker that dies is replaced on its socket, ``SIGHUP`` replaces them all while the server
keeps answering, a second server on the same port is refused, and ``SIGTERM`` stops every
worker. Linux only (/proc)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.support import tether_bin
from tests.production.support import Node, free_port, prepared, start_node

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Node, dict[str, str], Path]]:
    folder = Path(tempfile.mkdtemp(prefix="tether-workers-test-"))
    port = free_port()
    with prepared(folder, public_url=f"http://localhost:{port}", log_level="warning") as (env, _):
        node = start_node(env, folder, port, workers=2)
        try:
            node.wait_ready("/readyz")
            _wait_for_workers(node, 2)
            yield node, env, folder
        finally:
            node.stop()


def _workers(node: Node) -> list[int]:
    """The supervisor's worker processes (multiprocessing's spawned children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")
        )
        if ppid == node.process.pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def _wait_for_workers(node: Node, count: int, timeout: float = 120) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = _workers(node)
        if len(pids) == count and all(_listening(pid, node.port) for pid in pids):
            return pids
        time.sleep(0.2)
    raise AssertionError(f"not {count} workers listening:\n{node.log()}")


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _tcp(port: int, state: str) -> set[int]:
    """Inodes of IPv4 TCP sockets on local ``port`` in ``state`` (0A listen, 01 established)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            inodes.add(int(fields[9]))
    return inodes


def _listening(pid: int, port: int) -> set[int]:
    return _socket_inodes(pid) & _tcp(port, "0A")


def test_each_worker_listens_on_a_socket_of_its_own(
    served: tuple[Node, dict[str, str], Path],
) -> None:
    node, _, _ = served
    first, second = _wait_for_workers(node, 2)
    mine, theirs = _listening(first, node.port), _listening(second, node.port)
    assert len(mine) == 1 and len(theirs) == 1 and mine != theirs
    assert _tcp(node.port, "0A") == mine | theirs


def test_a_burst_of_connections_is_spread_over_both_workers(
    served: tuple[Node, dict[str, str], Path],
) -> None:
    node, _, _ = served
    pids = _wait_for_workers(node, 2)
    connections = [socket.create_connection(("127.0.0.1", node.port)) for _ in range(32)]
    try:
        request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
        for conn in connections:
            conn.sendall(request)
        for conn in connections:
            assert conn.recv(64).startswith(b"HTTP/1.1 200")
        established = _tcp(node.port, "01")
        held = {pid: len(_socket_inodes(pid) & established) for pid in pids}
    finally:
        for conn in connections:
            conn.close()
    # 32 connections hashed over two sockets all land on one with a chance of 2 in 2^32.
    assert sum(held.values()) == 32, held
    assert all(count > 0 for count in held.values()), held


def test_a_dead_worker_is_replaced_and_sighup_replaces_them_all(
    served: tuple[Node, dict[str, str], Path],
) -> None:
    node, _, _ = served
    before = _wait_for_workers(node, 2)
    os.kill(before[0], signal.SIGKILL)
    after_kill = _wait_for_workers(node, 2)
    assert before[0] not in after_kill and before[1] in after_kill
    node.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 120
    answers = []
    while time.monotonic() < deadline:
        # Fresh connections all the while: none is refused or dropped.
        answers.append(httpx.get(node.url + "/healthz", timeout=60).status_code)
        pids = _workers(node)
        if len(pids) == 2 and not set(pids) & set(after_kill):
            break
        time.sleep(0.05)
    assert not set(_wait_for_workers(node, 2)) & set(after_kill)
    assert answers and set(answers) == {200}
    assert "Traceback" not in node.log()


def test_a_second_server_on_the_same_port_is_refused(
    served: tuple[Node, dict[str, str], Path],
) -> None:
    node, env, folder = served
    other = subprocess.run(
        [tether_bin(), "serve", "--host", "127.0.0.1", "--port", str(node.port), "--workers", "2"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert other.returncode != 0
    assert "Address already in use" in other.stdout + other.stderr


def test_sigterm_stops_every_worker() -> None:
    folder = Path(tempfile.mkdtemp(prefix="tether-workers-stop-"))
    port = free_port()
    with prepared(folder, public_url=f"http://localhost:{port}", log_level="info") as (env, _):
        node = start_node(env, folder, port, workers=2)
        try:
            node.wait_ready("/readyz")
            pids = _wait_for_workers(node, 2)
        finally:
            code = node.stop()
        assert code == 0, node.log()
        assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        assert node.log().count("stopped") >= 2
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
