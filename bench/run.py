"""Tether's throughput benchmark: one command, one SQLite server, numbers against their limits.

Usage (from the repository root)::

    .venv/bin/python -m bench.run [--duration 10] [--workers 2]

What one run does, in order, all on this machine and on loopback only:

1. Raw limits. Signs access-token claims with Tether's own ``PrivateKey`` (RS256, 2048 bits)
   and verifies a password with Tether's own ``PasswordHasher`` (argon2id, the production
   parameters), first in one process, then in ``--workers`` processes at once: the rate the
   cores the server will use can reach with nothing else in the way.
2. Starts ``tether serve --workers N`` on 127.0.0.1 and a free port, with a fresh SQLite
   database in a temporary directory (``tether init``, one user from ``tether users create``),
   rate limits raised out of the way and uvicorn's access log off (``TETHER_LOG_LEVEL=warning``).
   Every per-request audit log event is still written to the database.
3. Drives it with ``wrk`` (a second process, ``bench/wrk.lua`` builds the JSON POSTs), each
   phase bounded by ``--duration``, after a short warm-up:

   - ``client_credentials`` tokens per second on ``POST /oauth/token``;
   - password-realm logins per second on ``POST /oauth/token`` (scope ``openid``: an access
     token and an ID token per login);
   - a login storm again, and beside it a light ``wrk --latency`` probe (2 connections) on
     ``GET /.well-known/jwks.json``, whose p99 is read.

4. Prints a table: each endpoint as a ratio to its limit, with the target and PASS/FAIL:

   - client credentials >= 50% of the raw N-way RS256 signing rate;
   - password logins >= 85% of the raw N-way argon2id verify rate;
   - jwks p99 < 50 ms during the login storm.

wrk runs on the same cores as the server (this is a single-machine benchmark), and the report
says how much CPU the server, wrk and everything else on the machine used in every phase. It
also gives a load-independent "CPU view": the server's CPU time per request against the CPU
time of one raw signature or hash, i.e. the ratio the server could reach at best if it were
CPU-bound on cores of its own.

Exit codes: 0 every target met, 1 a target missed, 2 the run is invalid (any non-2xx answer or
socket error: a benchmark of 429s or 503s measures nothing, and it says so loudly; or the
server did not start), 3 the machine was busy with other work (more than 0.15 cores of it), so
no verdict is given (PASS?/FAIL?).

5. Then the node peer (bench/peer.py): ``oidc-provider`` issuing the same kind of token
   (client credentials, a JWT signed RS256) with as many worker processes, driven by the same
   wrk phase once Tether has stopped; Tether's rate is printed as a ratio of the peer's
   (target >= 100%) beside its ratio to raw signing. Without npm the peer is skipped with a
   line that says so.

``wrk`` must be on PATH (Debian/Ubuntu: ``apt-get install wrk``); the peer's npm packages are
installed into bench/peers/oidc-provider by ``npm ci`` when missing. The
server is stopped at the end, on errors and on Ctrl-C too, and the temporary directory removed
(``--keep`` keeps it, with the server's log).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import peer

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk.lua"
CONNECTION = "Username-Password-Authentication"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
USER_EMAIL = "bench@example.com"
USER_PASSWORD = "a bench passphrase, long enough 123"

TARGET_CLIENT_CREDENTIALS = 0.50  # of the raw N-way RS256 signing rate
TARGET_LOGIN = 0.85  # of the raw N-way argon2id verify rate
TARGET_JWKS_P99_MS = 50.0
OTHER_LOAD_WARNING = 0.15  # cores used by other processes before the run is called noisy
#: The share of the server's CPU one of its processes may take before a phase is unbalanced
#: (two workers sharing evenly take about 50% each; the supervisor takes almost none).
UNBALANCED_SHARE = 0.75


class BenchError(Exception):
    """The benchmark could not run or its run is not valid."""


def machine_busy() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux /proc/stat), else None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# -- raw limits ------------------------------------------------------------------------------


def _sample_claims() -> dict[str, Any]:
    """Claims shaped like the Management client's client-credentials token."""
    from tether.domain.management_scopes import MANAGEMENT_SCOPES
    from tether.protocol.claims import access_token_claims

    now = int(time.time())
    return access_token_claims(
        issuer="http://localhost:8000/",
        subject="Xk3mB0qL9vTz2cYwR7nHf1aP4sDgJ6uE@clients",
        audience="http://localhost:8000/api/v2/",
        client_id="Xk3mB0qL9vTz2cYwR7nHf1aP4sDgJ6uE",
        scopes=[s["value"] for s in MANAGEMENT_SCOPES],
        issued_at=now,
        lifetime=86400,
        gty="client-credentials",
    )


def _raw_worker(kind: str, material: bytes | str, seconds: float, barrier: Any, out: Any) -> None:
    """One process of a raw measurement: set up, wait for the others, loop for ``seconds``."""
    if kind == "sign":
        from tether.protocol.jose import PrivateKey

        key = PrivateKey.from_pem("bench", material if isinstance(material, bytes) else b"")
        claims = _sample_claims()

        def op() -> None:
            key.sign(claims, typ="at+jwt")

    else:
        from tether.domain.passwords import PasswordHasher

        hasher = PasswordHasher()
        stored = str(material)
        if not hasher.verify_sync(stored, USER_PASSWORD).ok:
            raise SystemExit("argon2 verify failed in the raw measurement")

        def op() -> None:
            hasher.verify_sync(stored, USER_PASSWORD)

    op()  # warm
    barrier.wait()
    count = 0
    busy0, cpu0 = machine_busy(), time.process_time()
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        op()
        count += 1
    wall = time.perf_counter() - start
    busy1, cpu1 = machine_busy(), time.process_time()
    machine = busy1 - busy0 if busy0 is not None and busy1 is not None else None
    out.put((count, cpu1 - cpu0, machine, wall))


def raw_rate(kind: str, material: bytes | str, processes: int, seconds: float) -> Raw:
    """Operations per second summed over ``processes`` processes running at the same time."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_raw_worker, args=(kind, material, seconds, barrier, out))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    try:
        results = [out.get(timeout=seconds + 120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    rate = sum(r[0] / r[3] for r in results)
    cpu_per_op = sum(r[1] for r in results) / max(1, sum(r[0] for r in results))
    # Each process saw the whole machine; the others' share is what none of ours used.
    others = [
        (machine - sum(r[1] for r in results)) / wall
        for _, _, machine, wall in results
        if machine is not None
    ]
    return Raw(rate, cpu_per_op, max(0.0, min(others)) if others else 0.0)


@dataclass
class Raw:
    rate: float
    cpu_per_op: float  # CPU seconds one operation took
    other_cores: float  # CPU other processes of the machine used meanwhile


@dataclass
class RawLimits:
    sign_1: Raw
    sign_n: Raw
    hash_1: Raw
    hash_n: Raw


def measure_raw(workers: int, seconds: float) -> RawLimits:
    from tether.domain.passwords import PasswordHasher
    from tether.protocol.jose import generate_private_pem

    pem = generate_private_pem()
    stored = PasswordHasher().hash_sync(USER_PASSWORD)
    print(f"raw: RS256 signing, 1 process, {seconds:g}s ...", flush=True)
    sign_1 = raw_rate("sign", pem, 1, seconds)
    print(f"raw: RS256 signing, {workers} processes, {seconds:g}s ...", flush=True)
    sign_n = raw_rate("sign", pem, workers, seconds)
    print(f"raw: argon2id verify, 1 process, {seconds:g}s ...", flush=True)
    hash_1 = raw_rate("hash", stored, 1, seconds)
    print(f"raw: argon2id verify, {workers} processes, {seconds:g}s ...", flush=True)
    hash_n = raw_rate("hash", stored, workers, seconds)
    return RawLimits(sign_1, sign_n, hash_1, hash_n)


# -- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    """Our environment without any TETHER_* of the caller's (no stray database URL), plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        {
            "TETHER_DATA_DIR": str(data_dir),
            "TETHER_HOST": "127.0.0.1",
            "TETHER_PORT": str(port),
            "TETHER_LOG_LEVEL": "warning",
            "TETHER_TOKEN_RATE_LIMIT": "1000000/minute",
            "TETHER_LOGIN_RATE_LIMIT_IP": "1000000/minute",
            "TETHER_LOGIN_RATE_LIMIT_ACCOUNT": "1000000/minute",
        }
    )
    return env


def tether(args: list[str], data_dir: Path, env: dict[str, str]) -> str:
    """Run a ``tether`` command (cwd is the data dir: no stray tether.toml) and return stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "tether", *args],
        cwd=data_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"tether {' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log_path: Path

    def session_pids(self) -> list[int]:
        """The server and its workers: everything in the session it leads."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == self.proc.pid:  # field 6, session id
                pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's processes so far (Linux /proc)."""
        return sum(self.cpu_by_process().values())

    def cpu_by_process(self) -> dict[int, float]:
        """Each of the server's processes' user + system CPU time so far, in seconds."""
        tick = os.sysconf("SC_CLK_TCK")
        found = {}
        for pid in self.session_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[pid] = (int(fields[11]) + int(fields[12])) / tick  # fields 14, 15
        return found

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


@contextlib.contextmanager
def running_server(
    data_dir: Path, env: dict[str, str], port: int, workers: int
) -> Iterator[Server]:
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tether", "serve", "--port", str(port)]
            + ["--workers", str(workers)],
            cwd=data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_ready(server, workers)
        yield server
    finally:
        stop(proc)


@contextlib.contextmanager
def running_peer(data_dir: Path, port: int, workers: int) -> Iterator[Server]:
    """The node peer (bench/peer.py) with ``workers`` processes; ready once it says so."""
    log_path = data_dir / "peer.log"
    env = {**os.environ, "PORT": str(port), "WORKERS": str(workers)}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            peer.command(),
            cwd=peer.PEER_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 60
        while "listening" not in server.log_tail().splitlines():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"the node peer did not start:\n{server.log_tail()}")
            time.sleep(0.2)
        status, body = post_form(server.base + "/token", peer.TOKEN_BODY)
        if status != 200 or "access_token" not in body:
            raise BenchError(f"the node peer answered {status}: {body}")
        yield server
    finally:
        stop(proc)


def post_form(url: str, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
    data = urllib.parse.urlencode(body).encode()
    req = urllib.request.Request(url, data=data, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def measure_peer(args: argparse.Namespace, tmp: Path) -> WrkResult | str:
    """The node peer's client_credentials rate, measured as Tether's (same wrk, connections,
    duration, warm-up and worker count); a string says why it was skipped."""
    reason = peer.unavailable()
    if reason:
        return reason
    print(f"peer: node oidc-provider, {args.workers} worker(s) ...", flush=True)
    with running_peer(tmp, free_port(), args.workers) as server:
        url, c = server.base + "/token", args.cc_connections
        if args.warmup > 0:
            phase(
                server,
                [
                    Wrk(
                        "warm peer",
                        url,
                        connections=c,
                        seconds=args.warmup,
                        body=peer.TOKEN_BODY,
                        form=True,
                    )
                ],
            )
        print(f"phase: node oidc-provider client_credentials, {c} connections ...", flush=True)
        (result,) = phase(
            server,
            [
                Wrk(
                    "peer client_credentials",
                    url,
                    connections=c,
                    seconds=args.duration,
                    body=peer.TOKEN_BODY,
                    form=True,
                )
            ],
        )
    return result


def wait_ready(server: Server, workers: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(
                f"the server exited with {server.proc.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.base + "/healthz", timeout=2) as r:  # noqa: S310
                # One worker answering is not all of them: wait for the supervisor and N workers.
                if r.status == 200 and (workers == 1 or len(server.session_pids()) > workers):
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise BenchError(f"the server did not come up within {timeout:g}s:\n{server.log_tail()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers in the group, if any
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (loopback URL we built)
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


# -- wrk -------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    name: str
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_us: dict[str, float]
    server_cpu: float = 0.0  # CPU seconds the server used during the phase
    wrk_cpu: float = 0.0  # CPU seconds wrk used during the phase
    other_cores: float = 0.0  # CPU other processes of the machine used, in cores
    #: The share of the server's CPU its busiest process used (1.0 = one worker did it all).
    busiest_share: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


class Wrk:
    """One wrk process, started now, read later."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        connections: int,
        seconds: float,
        body: dict[str, Any] | None = None,
        latency: bool = False,
        threads: int = 1,
        form: bool = False,
    ):
        self.name = name
        env = dict(os.environ)
        env["BENCH_METHOD"] = "POST" if body is not None else "GET"
        if body is None:
            env["BENCH_BODY"] = ""
        elif form:
            env["BENCH_BODY"] = urllib.parse.urlencode(body)
            env["BENCH_CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        else:
            env["BENCH_BODY"] = json.dumps(body)
        args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s"]
        args += ["--timeout", "10s", "-s", str(WRK_SCRIPT)]
        if latency:
            args.append("--latency")
        self.proc = subprocess.Popen(
            [*args, url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.timeout = seconds + 30

    def result(self) -> WrkResult:
        try:
            out, err = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BenchError(f"wrk ({self.name}) did not finish in time") from None
        if self.proc.returncode != 0:
            raise BenchError(f"wrk ({self.name}) failed ({self.proc.returncode}):\n{out}{err}")
        line = next((x for x in out.splitlines() if x.startswith("BENCH_RESULT ")), None)
        if line is None:
            raise BenchError(f"wrk ({self.name}) printed no result:\n{out}{err}")
        data = json.loads(line.removeprefix("BENCH_RESULT "))
        errors = {
            "non-2xx": data["status_errors"],
            "connect": data["connect_errors"],
            "read": data["read_errors"],
            "write": data["write_errors"],
            "timeout": data["timeouts"],
        }
        return WrkResult(
            self.name,
            data["requests"],
            data["duration_us"] / 1e6,
            errors,
            data["latency_us"],
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def phase(server: Server, runs: list[Wrk]) -> list[WrkResult]:
    """Wait for wrk processes started together; charge the CPU each side used to the first.

    Whatever the machine spent beyond the server, wrk and this script was spent by someone
    else: it is reported, because it was taken from the cores being measured."""
    server_before, wrk_before, self_before = server.cpu_seconds(), children_cpu(), self_cpu()
    by_process_before = server.cpu_by_process()
    busy_before, start = machine_busy(), time.monotonic()
    try:
        results = [w.result() for w in runs]
    finally:
        for w in runs:
            w.kill()
    wall = time.monotonic() - start
    first = results[0]
    first.server_cpu = server.cpu_seconds() - server_before
    used = [cpu - by_process_before.get(pid, 0.0) for pid, cpu in server.cpu_by_process().items()]
    if first.server_cpu > 0:
        first.busiest_share = max(used, default=0.0) / first.server_cpu
    first.wrk_cpu = children_cpu() - wrk_before
    busy_after = machine_busy()
    if busy_before is not None and busy_after is not None:
        ours = first.server_cpu + first.wrk_cpu + self_cpu() - self_before
        first.other_cores = max(0.0, (busy_after - busy_before - ours) / wall)
    return results


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    measured: str
    limit: str
    ratio: float
    target: str
    ok: bool
    errors: int


def check_valid(results: list[WrkResult]) -> list[str]:
    problems = []
    for r in results:
        if r.requests == 0:
            problems.append(f"{r.name}: no request completed")
        if r.error_count:
            detail = ", ".join(f"{k} {v}" for k, v in r.errors.items() if v)
            problems.append(f"{r.name}: {r.error_count} failed of {r.requests} ({detail})")
    return problems


def sanity_check(server: Server, cc_body: dict[str, Any], login_body: dict[str, Any]) -> None:
    """One request of each kind by hand, so wrk's 200s are known to be real tokens."""
    status, body = post_json(server.base + "/oauth/token", cc_body)
    if status != 200 or "access_token" not in body:
        raise BenchError(f"client_credentials answered {status}: {body}")
    status, body = post_json(server.base + "/oauth/token", login_body)
    if status != 200 or "access_token" not in body or "id_token" not in body:
        raise BenchError(f"password-realm login answered {status}: {body}")
    with urllib.request.urlopen(server.base + "/.well-known/jwks.json", timeout=10) as r:  # noqa: S310
        keys = json.loads(r.read()).get("keys")
    if r.status != 200 or not keys:
        raise BenchError(f"jwks answered {r.status}: {keys}")


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print(
            "bench: wrk is not installed. Install it (Debian/Ubuntu: `apt-get install wrk`) "
            "and run again.",
            file=sys.stderr,
        )
        return 2
    cpus = os.cpu_count() or 1
    print(f"bench: {args.workers} server worker(s), {cpus} CPU(s), {args.duration:g}s per phase")
    raw = measure_raw(args.workers, args.raw_seconds)

    tmp = Path(tempfile.mkdtemp(prefix="tether-bench-"))
    try:
        port = free_port()
        env = server_env(tmp, port)
        print(f"server: tether init in {tmp}", flush=True)
        init = json.loads(tether(["init", "--json"], tmp, env))
        app, mgmt = init["default_app"], init["management_client"]
        tether(
            ["users", "create", "--email", USER_EMAIL, "--password", USER_PASSWORD, "--verified"],
            tmp,
            env,
        )
        cc_body = {
            "grant_type": "client_credentials",
            "client_id": mgmt["client_id"],
            "client_secret": mgmt["client_secret"],
            "audience": mgmt["audience"],
        }
        login_body = {
            "grant_type": PASSWORD_REALM,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": USER_EMAIL,
            "password": USER_PASSWORD,
            "realm": CONNECTION,
            "scope": "openid",
        }
        print(f"server: tether serve --workers {args.workers} on 127.0.0.1:{port}", flush=True)
        with running_server(tmp, env, port, args.workers) as server:
            token_url = server.base + "/oauth/token"
            jwks_url = server.base + "/.well-known/jwks.json"
            sanity_check(server, cc_body, login_body)

            def wrk(name: str, url: str, seconds: float, **kw: Any) -> Wrk:
                return Wrk(name, url, seconds=seconds, **kw)

            warm = args.warmup
            cc_c, login_c = args.cc_connections, args.login_connections
            if warm > 0:
                print(f"warm-up: {warm:g}s of each", flush=True)
                phase(server, [wrk("warm cc", token_url, warm, connections=cc_c, body=cc_body)])
                phase(
                    server,
                    [wrk("warm login", token_url, warm, connections=login_c, body=login_body)],
                )

            print(f"phase: client_credentials, {cc_c} connections ...", flush=True)
            (cc,) = phase(
                server,
                [
                    wrk(
                        "client_credentials",
                        token_url,
                        args.duration,
                        connections=cc_c,
                        body=cc_body,
                    )
                ],
            )
            print(f"phase: password-realm logins, {login_c} connections ...", flush=True)
            (login,) = phase(
                server,
                [
                    wrk(
                        "password-realm",
                        token_url,
                        args.duration,
                        connections=login_c,
                        body=login_body,
                    )
                ],
            )
            print("phase: login storm + jwks latency probe (2 connections) ...", flush=True)
            storm_w = wrk(
                "login storm", token_url, args.duration, connections=login_c, body=login_body
            )
            try:
                time.sleep(1.0)  # let the storm build up before probing
                probe_w = wrk(
                    "jwks probe", jwks_url, max(1.0, args.duration - 2), connections=2, latency=True
                )
            except BaseException:
                storm_w.kill()
                raise
            storm, probe = phase(server, [storm_w, probe_w])
        # The peer after Tether has stopped: each has the cores to itself.
        peer_result = measure_peer(args, tmp)
    except BaseException:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            log = tmp / "server.log"
            if log.exists():
                print("server log (tail):", file=sys.stderr)
                print(
                    "\n".join(log.read_text(errors="replace").splitlines()[-30:]), file=sys.stderr
                )
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)

    n = args.workers
    sign_n, hash_n = raw.sign_n.rate, raw.hash_n.rate
    p99_ms = probe.latency_us["p99"] / 1000
    rows = [
        Row(
            "client_credentials tokens/s",
            f"{cc.rate:,.0f}/s",
            f"{sign_n:,.0f}/s RS256 signs ({n} proc)",
            cc.rate / sign_n,
            f">= {TARGET_CLIENT_CREDENTIALS:.0%}",
            cc.rate / sign_n >= TARGET_CLIENT_CREDENTIALS,
            cc.error_count,
        ),
        Row(
            "password-realm logins/s",
            f"{login.rate:,.1f}/s",
            f"{hash_n:,.1f}/s argon2id verifies ({n} proc)",
            login.rate / hash_n,
            f">= {TARGET_LOGIN:.0%}",
            login.rate / hash_n >= TARGET_LOGIN,
            login.error_count,
        ),
        Row(
            "jwks p99 during login storm",
            f"{p99_ms:,.1f} ms",
            f"{TARGET_JWKS_P99_MS:g} ms budget",
            p99_ms / TARGET_JWKS_P99_MS,
            "< 100%",
            p99_ms < TARGET_JWKS_P99_MS,
            storm.error_count + probe.error_count,
        ),
    ]
    if isinstance(peer_result, WrkResult):
        rows.insert(
            1,
            Row(
                "client_credentials vs node peer",
                f"{cc.rate:,.0f}/s",
                f"{peer_result.rate:,.0f}/s oidc-provider ({n} proc)",
                cc.rate / peer_result.rate if peer_result.rate else 0.0,
                f">= {peer.TARGET_PEER:.0%}",
                peer_result.rate > 0 and cc.rate / peer_result.rate >= peer.TARGET_PEER,
                peer_result.error_count,
            ),
        )
    else:
        print(f"\npeer: the node oidc-provider peer is skipped: {peer_result}")
    peer_phase = peer_result if isinstance(peer_result, WrkResult) else None
    noisy = report(args, cpus, raw, rows, [cc, login, storm, probe], peer_phase)
    measured = [cc, login, storm, probe] + ([peer_phase] if peer_phase else [])
    problems = check_valid(measured)
    if problems:
        print("\n" + "!" * 78, file=sys.stderr)
        print(
            "INVALID RUN: requests failed; these figures measure errors, not Tether:",
            file=sys.stderr,
        )
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        print("!" * 78, file=sys.stderr)
        return 2
    if noisy:
        return 3
    return 0 if all(r.ok for r in rows) else 1


def _ms(us: float) -> str:
    return f"{us / 1000:7.1f} ms"


def report(
    args: argparse.Namespace,
    cpus: int,
    raw: RawLimits,
    rows: list[Row],
    phases: list[WrkResult],
    peer_phase: WrkResult | None = None,
) -> bool:
    """Print everything; True if other processes took so much CPU that no verdict holds."""
    n = args.workers
    cc, login, storm, probe = phases
    others = [x.other_cores for x in (raw.sign_1, raw.sign_n, raw.hash_1, raw.hash_n)]
    others += [r.other_cores for r in phases]
    if peer_phase is not None:
        others.append(peer_phase.other_cores)
    noisy = max(others) > OTHER_LOAD_WARNING
    print()
    print(f"Raw limits: Tether's own code on this machine ({cpus} CPUs), no server running")
    for label, one, many, fmt in (
        ("RS256 sign", raw.sign_1, raw.sign_n, ",.0f"),
        ("argon2id verify", raw.hash_1, raw.hash_n, ",.1f"),
    ):
        print(
            f"  {label:16} 1 proc {one.rate:>9{fmt}}/s   {n} proc {many.rate:>9{fmt}}/s"
            f"   (x{many.rate / one.rate:.2f})   {one.cpu_per_op * 1000:6.2f} ms CPU/op"
            f"   other load {max(one.other_cores, many.other_cores):.2f} cores"
        )
    print()
    header = ("endpoint", "measured", "limit", "ratio", "target", "result", "errors")
    table = [header]
    for r in rows:
        ok = ("PASS" if r.ok else "FAIL") + ("?" if noisy else "")
        table.append((r.name, r.measured, r.limit, f"{r.ratio:.0%}", r.target, ok, str(r.errors)))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print("Phases (latency from wrk; cores = CPU seconds / wall seconds):")
    for label, r in (("client_credentials", cc), ("password-realm", login), ("login storm", storm)):
        per = r.server_cpu / r.requests * 1000 if r.requests else 0.0
        print(
            f"  {label:18} {r.rate:9,.1f}/s  p50 {_ms(r.latency_us['p50'])}  p99 {_ms(r.latency_us['p99'])}"
            f"  server {r.server_cpu / r.seconds:4.2f} cores ({per:5.2f} ms CPU/req)"
            f"  wrk {r.wrk_cpu / r.seconds:4.2f}  other {r.other_cores:4.2f}"
            f"  busiest process {r.busiest_share:4.0%}"
        )
    print(
        f"  {'jwks probe':18} {probe.rate:9,.1f}/s  p50 {_ms(probe.latency_us['p50'])}"
        f"  p99 {_ms(probe.latency_us['p99'])}  p90 {_ms(probe.latency_us['p90'])}"
        f"  max {_ms(probe.latency_us['max'])}   (beside the login storm)"
    )
    if peer_phase is not None and peer_phase.requests:
        per = peer_phase.server_cpu / peer_phase.requests * 1000
        print(
            f"  {'node peer cc':18} {peer_phase.rate:9,.1f}/s  p50 {_ms(peer_phase.latency_us['p50'])}"
            f"  p99 {_ms(peer_phase.latency_us['p99'])}"
            f"  peer   {peer_phase.server_cpu / peer_phase.seconds:4.2f} cores ({per:5.2f} ms CPU/req)"
            f"  wrk {peer_phase.wrk_cpu / peer_phase.seconds:4.2f}  other {peer_phase.other_cores:4.2f}"
        )
    print()
    print("CPU view (load-independent): what one request costs the server against its limit's op")
    for label, r, op, what in (
        ("client_credentials", cc, raw.sign_1.cpu_per_op, "RS256 sign"),
        ("password-realm", login, raw.hash_1.cpu_per_op, "argon2id verify"),
        *(
            [("node peer cc", peer_phase, raw.sign_1.cpu_per_op, "RS256 sign")]
            if peer_phase
            else []
        ),
    ):
        if not r.requests or not r.server_cpu:
            continue
        per = r.server_cpu / r.requests
        print(
            f"  {label:18} {per * 1000:6.2f} ms CPU/req = {per / op:5.2f} x one {what}"
            f" ({op * 1000:.2f} ms): CPU-bound ceiling {op / per:4.0%} of the limit"
        )
    lopsided = [
        label
        for label, r in (
            ("client_credentials", cc),
            ("password-realm", login),
            ("login storm", storm),
        )
        if n > 1 and r.busiest_share > UNBALANCED_SHARE
    ]
    if lopsided:
        print()
        print(
            f"UNBALANCED: in {', '.join(lopsided)} one server process used over"
            f" {UNBALANCED_SHARE:.0%} of the server's CPU: the kernel handed it most of wrk's"
            " connections (a worker accepts every connection waiting when it wakes), and one"
            " worker hashes at most its share of the cores at once (TETHER_HASH_CONCURRENCY)."
            " That phase measured one worker, not the server. Run again."
        )
    if noisy:
        print()
        print(
            f"NOISY RUN: other processes used up to {max(others):.2f} cores of {cpus} during this"
            " run, so the rates and ratios above are not this machine's (hence PASS?/FAIL?)."
            " The CPU view still holds. Run again on an idle machine."
        )
    return noisy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk phase")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--raw-seconds", type=float, default=5.0, help="seconds per raw measurement"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per endpoint")
    parser.add_argument(
        "--cc-connections", type=int, default=16, help="wrk connections, client credentials"
    )
    parser.add_argument("--login-connections", type=int, default=8, help="wrk connections, logins")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir and log")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.duration < 3:
        parser.error("--workers must be >= 1 and --duration >= 3")

    def stop_on(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds: the server and wrk get stopped

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_on)
    try:
        return run(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
