"""Issue 13 soak: memory per worker under a mixed load, over minutes, at 100,000 users.

Usage (from the repository root)::

    .venv/bin/python -m bench.soak [--duration 600] [--users 100000] [--workers 2]
        [--every 5] [--postgres [URL]]

What one run does, on this machine and loopback only:

1. The database and server of bench/management.py: ``--users`` bulk-inserted database users
   with a known password, ``tether serve --workers N`` with the rate limits out of the way.
2. Before the clock starts: the Management client's machine token, and for ``--pairs``
   disjoint pairs (A, B) the tokens bench/linking.py uses (A's Management API token, B's ID
   token), from password-realm logins.
3. For ``--duration`` seconds (10 minutes by default), a closed-loop load from this process
   (asyncio, aiohttp), each kind a fixed number of tasks, so the load is bounded:

   - ``client_credentials`` tokens (the Management client), ``--cc`` tasks;
   - password-realm logins of random users (argon2id: slow on purpose), ``--logins`` tasks;
   - ``GET /api/v2/users/{id}`` of random users with the machine token, ``--reads`` tasks;
   - link + unlink pairs (bench/linking.py's calls), ``--links`` tasks over the pairs; B signs
     in again (password realm) before each link, since the unlink ended B's older tokens.
     Those sign-ins count as logins.

   The users that logins and reads pick are never in a pair (a linked B has no user).
4. Every ``--every`` seconds, each worker's resident memory: ``VmRSS`` in
   ``/proc/<pid>/status`` of the server's child processes (uvicorn's workers;
   multiprocessing's resource tracker is not one).
5. Prints RSS per worker over time (about 20 rows, with the requests served between them),
   then per worker: its RSS at the end of the first minute, at the end, the peak, and the
   growth between the first two.

Targets (issue 13): the peak RSS of every worker < 200 MB at 100,000 users; and flat: each
worker's growth from the end of the first minute (the warm-up: imports, caches filling) to the
end of the run under ``--flat-percent`` (10%) of its first-minute RSS. Exit codes as
bench/run.py's: 0 met, 1 missed, 2 invalid run (an unexpected answer, a socket error, a worker
that died or was replaced: a restarted worker hides a leak), 3 the machine was busy with other
work (more than 0.15 cores: fewer requests were served than it could, so the verdict is PASS?
or FAIL?).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.linking import Pair, login_pairs
from bench.management import (
    CONNECTION,
    PASSWORD,
    BenchUser,
    Deployment,
    add_common_arguments,
    count_database_cpu,
    deployment,
    machine_token,
    main_with,
    server_description,
)
from bench.run import (
    OTHER_LOAD_WARNING,
    PASSWORD_REALM,
    Server,
    machine_busy,
    running_server,
    self_cpu,
)

TARGET_RSS_MB = 200.0
FLAT_PERCENT = 10.0
FIRST_MINUTE = 60.0
MB = 1024.0  # VmRSS is in kB


# -- memory (pure: /proc text in, numbers out) ----------------------------------------------


def vm_rss_kb(status: str) -> int | None:
    """``VmRSS`` of a ``/proc/<pid>/status`` text, in kB; None for a process without one."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1])
    return None


def parent_pid(stat: str) -> int:
    """The parent's pid from a ``/proc/<pid>/stat`` text (field 4; the name may hold spaces)."""
    return int(stat.rsplit(")", 1)[1].split()[1])


def workers_of(server_pid: int, proc: Path = Path("/proc")) -> list[int]:
    """The server's worker processes: its children but multiprocessing's resource tracker."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if parent_pid((entry / "stat").read_text()) != server_pid:
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def rss_kb(pid: int, proc: Path = Path("/proc")) -> int | None:
    try:
        return vm_rss_kb((proc / str(pid) / "status").read_text())
    except OSError:
        return None


@dataclass
class Sample:
    at: float  # seconds since the load started
    rss_kb: dict[int, int]
    served: dict[str, int]  # requests answered as expected so far, by kind


@dataclass(frozen=True)
class WorkerMemory:
    pid: int
    first_mb: float  # at the end of the first minute
    end_mb: float
    peak_mb: float

    @property
    def growth_mb(self) -> float:
        return self.end_mb - self.first_mb

    @property
    def growth_percent(self) -> float:
        return 100.0 * self.growth_mb / self.first_mb if self.first_mb else 0.0

    def under_target(self, target_mb: float = TARGET_RSS_MB) -> bool:
        return self.peak_mb < target_mb

    def flat(self, percent: float = FLAT_PERCENT) -> bool:
        return self.growth_percent < percent


def worker_memory(samples: list[Sample], pid: int, first_minute: float) -> WorkerMemory | None:
    """``pid``'s RSS at the last sample within ``first_minute``, at the last sample, and at its
    peak; None if no sample saw it."""
    seen = [(s.at, s.rss_kb[pid]) for s in samples if pid in s.rss_kb]
    if not seen:
        return None
    early = [kb for at, kb in seen if at <= first_minute] or [seen[0][1]]
    return WorkerMemory(pid, early[-1] / MB, seen[-1][1] / MB, max(kb for _, kb in seen) / MB)


def rows(samples: list[Sample], count: int = 20) -> list[Sample]:
    """About ``count`` samples spread over the run, the first and the last among them."""
    if len(samples) <= count:
        return samples
    step = (len(samples) - 1) / (count - 1)
    return [samples[round(i * step)] for i in range(count)]


# -- the load --------------------------------------------------------------------------------


@dataclass
class Load:
    served: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def ok(self, kind: str) -> None:
        self.served[kind] = self.served.get(kind, 0) + 1

    def error(self, what: str, detail: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1
        if len(self.examples) < 5:
            self.examples.append(f"{what}: {detail[:300]}")


async def soak(
    server: Server, dep: Deployment, args: argparse.Namespace, token: str, pairs: list[Pair]
) -> tuple[Load, list[Sample], list[str]]:
    """The mixed load for ``args.duration`` seconds beside the RSS sampler."""
    import aiohttp

    base, load, samples, problems = server.base, Load(), [], []
    paired = {u.user_id for p in pairs for u in (p.primary, p.secondary)}
    loose = [u for u in dep.users if u.user_id not in paired]
    mgmt, app = dep.management, dep.default_app
    cc_body = {
        "grant_type": "client_credentials",
        "client_id": mgmt["client_id"],
        "client_secret": mgmt["client_secret"],
        "audience": mgmt["audience"],
    }
    started = time.monotonic()
    deadline = started + args.duration
    rng = random.Random(13)

    async def expect(r: aiohttp.ClientResponse, status: int, kind: str) -> bool:
        body = await r.read()
        if r.status != status:
            load.error(f"{kind} {r.status}", body.decode(errors="replace"))
            return False
        load.ok(kind)
        return True

    async def client_credentials(s: aiohttp.ClientSession) -> None:
        async with s.post(base + "/oauth/token", json=cc_body) as r:
            await expect(r, 200, "client_credentials")

    def login_body(user: BenchUser) -> dict[str, str]:
        return {
            "grant_type": PASSWORD_REALM,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": user.email,
            "password": PASSWORD,
            "realm": CONNECTION,
            "scope": "openid",
        }

    async def login(s: aiohttp.ClientSession) -> None:
        async with s.post(base + "/oauth/token", json=login_body(rng.choice(loose))) as r:
            await expect(r, 200, "login")

    async def read(s: aiohttp.ClientSession) -> None:
        user_id = urllib.parse.quote(rng.choice(loose).user_id, safe="")
        headers = {"Authorization": f"Bearer {token}"}
        async with s.get(f"{base}/api/v2/users/{user_id}", headers=headers) as r:
            await expect(r, 200, "user_read")

    queue = list(pairs)

    async def link_pair(s: aiohttp.ClientSession) -> None:
        pair = queue.pop(0)  # each task takes the pair nobody is using
        try:
            headers = {"Authorization": f"Bearer {pair.token}"}
            if not pair.linked:
                # B's ID token from before the last unlink is refused (the unlink moved B's
                # "tokens valid after"): B signs in again for each link, as a person would.
                async with s.post(base + "/oauth/token", json=login_body(pair.secondary)) as r:
                    answer = await r.json(content_type=None)
                    if r.status != 200 or "id_token" not in answer:
                        load.error(f"login {r.status}", str(answer))
                        return
                    load.ok("login")
                    pair.id_token = answer["id_token"]
                body = {"link_with": pair.id_token}
                async with s.post(base + pair.link_path, json=body, headers=headers) as r:
                    pair.linked = await expect(r, 201, "link")
            if pair.linked:
                async with s.delete(base + pair.unlink_path, headers=headers) as r:
                    pair.linked = not await expect(r, 200, "unlink")
        finally:
            queue.append(pair)

    async def loop(call: Callable[[aiohttp.ClientSession], Awaitable[None]]) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as s:
            while time.monotonic() < deadline:
                try:
                    await call(s)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    load.error("socket", repr(exc))

    async def sample() -> None:
        known: set[int] = set()
        while True:
            now = time.monotonic()
            pids = workers_of(server.proc.pid)
            if known and set(pids) != known:
                problems.append(f"workers changed at {now - started:.0f}s: {known} -> {pids}")
            known = known or set(pids)
            got = {p: kb for p in pids if (kb := rss_kb(p)) is not None}
            samples.append(Sample(now - started, got, dict(load.served)))
            if now >= deadline:
                return
            await asyncio.sleep(min(args.every, max(0.0, deadline - now)))

    calls = (
        [client_credentials] * args.cc
        + [login] * args.logins
        + [read] * args.reads
        + [link_pair] * min(args.links, len(pairs))
    )
    await asyncio.gather(sample(), *(loop(c) for c in calls))
    return load, samples, problems


# -- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        print("bench: aiohttp is not installed in this environment.", file=sys.stderr)
        return 2
    with deployment(args.users, postgres=args.postgres, keep=args.keep, extra_env={}) as dep:
        chosen = random.Random(5).sample(dep.users, 2 * args.pairs)
        pairs = [Pair(chosen[2 * i], chosen[2 * i + 1]) for i in range(args.pairs)]
        print(
            f"server: tether serve --workers {args.workers} on 127.0.0.1:{dep.port}"
            f" ({server_description(dep)})",
            flush=True,
        )
        with running_server(dep.data_dir, dep.env, dep.port, args.workers) as server:
            count_database_cpu(server, dep)
            token = machine_token(server, dep)
            if pairs:
                took = asyncio.run(login_pairs(server.base, dep, pairs, 2))
                print(f"tokens: {2 * args.pairs} logins in {took:.1f} s", flush=True)
            print(
                f"soak: {args.duration:g}s; tasks: {args.cc} client_credentials,"
                f" {args.logins} login, {args.reads} user read, {args.links} link+unlink;"
                f" RSS every {args.every:g}s ...",
                flush=True,
            )
            server0, self0, busy0, wall0 = (
                server.cpu_seconds(),
                self_cpu(),
                machine_busy(),
                time.monotonic(),
            )
            load, samples, problems = asyncio.run(soak(server, dep, args, token, pairs))
            wall = time.monotonic() - wall0
            server_cpu, own_cpu, busy1 = (
                server.cpu_seconds() - server0,
                self_cpu() - self0,
                machine_busy(),
            )
    other = None
    if busy0 is not None and busy1 is not None:
        other = max(0.0, (busy1 - busy0 - server_cpu - own_cpu) / wall)
    return report(args, dep, load, samples, problems, (server_cpu / wall, own_cpu / wall, other))


def report(
    args: argparse.Namespace,
    dep: Deployment,
    load: Load,
    samples: list[Sample],
    problems: list[str],
    cores: tuple[float, float, float | None],
) -> int:
    kinds = ("client_credentials", "login", "user_read", "link", "unlink")
    pids = sorted({p for s in samples for p in s.rss_kb})
    print(f"\nRSS per worker (MB) over time; requests served since the row before ({dep.backend})")
    print("     t  " + "".join(f"  pid {p:>7}" for p in pids) + "  " + "  ".join(kinds))
    before: dict[str, int] = {}
    for s in rows(samples):
        rss = "".join(f"  {s.rss_kb[p] / MB:11.1f}" if p in s.rss_kb else " " * 13 for p in pids)
        counts = "  ".join(f"{s.served.get(k, 0) - before.get(k, 0):>{len(k)}}" for k in kinds)
        print(f"{s.at:6.0f}s{rss}  {counts}")
        before = s.served
    first = min(FIRST_MINUTE, args.duration / 5)
    memories = [m for p in pids if (m := worker_memory(samples, p, first)) is not None]
    print(
        f"\nworker       at {first:.0f}s      end     peak   growth    peak < {TARGET_RSS_MB:.0f} MB"
        f"   flat (growth < {args.flat_percent:g}%)"
    )
    for m in memories:
        print(
            f"pid {m.pid:>7}  {m.first_mb:6.1f}  {m.end_mb:7.1f}  {m.peak_mb:7.1f}"
            f"  {m.growth_mb:+6.1f} MB ({m.growth_percent:+.1f}%)"
            f"  {'yes' if m.under_target() else 'NO':>4}    {'yes' if m.flat(args.flat_percent) else 'NO'}"
        )
    total = sum(load.served.values())
    server_cores, own_cores, other = cores
    print(
        f"\nserved {total:,} requests in {args.duration:g}s ({total / args.duration:,.1f}/s):"
        f" {', '.join(f'{k} {load.served.get(k, 0):,}' for k in kinds)}"
    )
    shown_other = f"{other:.2f}" if other is not None else "?"
    print(f"cores: server {server_cores:.2f}, load generator {own_cores:.2f}, other {shown_other}")
    if load.errors:
        problems.append(
            f"{sum(load.errors.values())} unexpected answers: "
            + ", ".join(f"{k} x{v}" for k, v in load.errors.items())
        )
        problems.extend(f"  {e}" for e in load.examples)
    if len(memories) != args.workers:
        problems.append(f"{len(memories)} worker(s) sampled, {args.workers} expected")
    met = bool(memories) and all(m.under_target() and m.flat(args.flat_percent) for m in memories)
    noisy = other is not None and other > OTHER_LOAD_WARNING
    verdict = ("PASS" if met else "FAIL") + ("?" if noisy else "")
    print(f"verdict: {verdict}")
    if noisy:
        print(f"  other processes took {other:.2f} cores: the soak served less than it could")
    if problems:
        print("bench: INVALID RUN:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    if noisy:
        return 3
    return 0 if met else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_common_arguments(parser)
    parser.set_defaults(duration=600.0)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--cc", type=int, default=2, help="client_credentials tasks")
    parser.add_argument("--logins", type=int, default=1, help="password-realm login tasks")
    parser.add_argument("--reads", type=int, default=2, help="Management user-read tasks")
    parser.add_argument("--links", type=int, default=1, help="link + unlink tasks")
    parser.add_argument("--pairs", type=int, default=8, help="pairs the link tasks share")
    parser.add_argument(
        "--flat-percent", type=float, default=FLAT_PERCENT, help="growth bound for 'flat'"
    )
    return main_with(run, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
