"""bench.soak's pure parts: reading /proc and judging memory (issue 13's soak)."""

from __future__ import annotations

import os
from pathlib import Path

from bench.soak import (
    Sample,
    parent_pid,
    rows,
    rss_kb,
    vm_rss_kb,
    worker_memory,
    workers_of,
)

STATUS = "Name:\tpython\nVmPeak:\t  300000 kB\nVmRSS:\t  153600 kB\nThreads:\t4\n"


def test_vm_rss_is_read_in_kb_and_absent_for_a_process_without_memory() -> None:
    assert vm_rss_kb(STATUS) == 153600
    assert vm_rss_kb("Name:\tkthreadd\nState:\tS (sleeping)\n") is None


def test_parent_pid_survives_a_process_name_with_spaces_and_parentheses() -> None:
    assert parent_pid("4242 (a (weird) name) S 17 4242 4242 0 -1") == 17


def test_workers_are_the_servers_children_but_the_resource_tracker(tmp_path: Path) -> None:
    def proc(pid: int, ppid: int, cmdline: bytes) -> None:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (python3) S {ppid} 1 1 0")
        (tmp_path / str(pid) / "cmdline").write_bytes(cmdline)
        (tmp_path / str(pid) / "status").write_text(STATUS)

    proc(100, 1, b"python\0-m\0tether\0serve")
    proc(101, 100, b"python\0-c\0from multiprocessing.resource_tracker import main;main(5)")
    proc(102, 100, b"python\0-c\0from multiprocessing.spawn import spawn_main")
    proc(103, 100, b"python\0-c\0from multiprocessing.spawn import spawn_main")
    proc(104, 102, b"python\0helper")
    (tmp_path / "self").mkdir()
    assert workers_of(100, tmp_path) == [102, 103]
    assert rss_kb(102, tmp_path) == 153600
    assert rss_kb(999, tmp_path) is None


def test_this_process_is_found_among_its_parents_children() -> None:
    assert os.getpid() in workers_of(os.getppid())
    assert (rss_kb(os.getpid()) or 0) > 0


def samples(*points: tuple[float, int]) -> list[Sample]:
    return [Sample(at, {7: kb}, {}) for at, kb in points]


def test_growth_is_from_the_end_of_the_first_minute_to_the_end() -> None:
    run = samples(
        (0, 60_000), (30, 100 * 1024), (60, 110 * 1024), (300, 118 * 1024), (600, 115 * 1024)
    )
    m = worker_memory(run, 7, 60)
    assert m is not None
    assert (m.first_mb, m.end_mb, m.peak_mb) == (110, 115, 118)
    assert round(m.growth_percent, 2) == 4.55
    assert m.flat(10) and m.under_target(200)


def test_a_leak_is_not_flat_and_a_fat_worker_misses_the_target() -> None:
    leak = worker_memory(samples((60, 100 * 1024), (600, 125 * 1024)), 7, 60)
    assert leak is not None and not leak.flat(10) and leak.growth_mb == 25
    fat = worker_memory(samples((60, 190 * 1024), (300, 205 * 1024), (600, 195 * 1024)), 7, 60)
    assert fat is not None and fat.flat(10) and not fat.under_target(200)


def test_an_unseen_worker_has_no_memory_and_rows_keep_the_first_and_last() -> None:
    assert worker_memory(samples((0, 1)), 8, 60) is None
    many = samples(*((float(i), i) for i in range(121)))
    shown = rows(many, 20)
    assert len(shown) == 20 and shown[0] is many[0] and shown[-1] is many[-1]
    assert rows(many[:5], 20) == many[:5]
