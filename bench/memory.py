"""Memory of server workers as the kernel accounts it: USS and PSS, not RSS.

RSS counts every page a process has mapped, so two workers mapping the same files each count
them in full. ``/proc/PID/smaps_rollup`` says how much is really the worker's own (USS =
Private_Clean + Private_Dirty) and its proportional share of what it shares (PSS).

A private page is not necessarily anonymous: a page of a mapped file that only this worker has
touched is private too (and shows as dirty while the kernel has not yet written a freshly
published build back). So ``/proc/PID/smaps`` is also read per mapping and split into
anonymous memory (heap, arenas, stacks), the build's mapped files, and other files (Python,
shared libraries).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

KIB = 1024
_HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def rollup(pid: int) -> dict[str, int]:
    """The process's ``smaps_rollup`` as bytes per field."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            values[name] = int(parts[0]) * KIB
    return values


@dataclass
class Usage:
    """Bytes of one kind of mapping."""

    rss: int = 0
    pss: int = 0
    private: int = 0
    private_dirty: int = 0

    def add(self, values: dict[str, int]) -> None:
        self.rss += values.get("Rss", 0)
        self.pss += values.get("Pss", 0)
        self.private += values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
        self.private_dirty += values.get("Private_Dirty", 0)

    def as_mb(self) -> dict[str, float]:
        return {"rss_mb": _mb(self.rss), "pss_mb": _mb(self.pss),
                "uss_mb": _mb(self.private), "private_dirty_mb": _mb(self.private_dirty)}


@dataclass
class Breakdown:
    anonymous: Usage = field(default_factory=Usage)
    build_files: Usage = field(default_factory=Usage)
    other_files: Usage = field(default_factory=Usage)


def _kind(path: str, build: str | None) -> str:
    if not path or path.startswith("["):  # [heap], [stack], [anon:...], [vdso], no name
        return "anonymous"
    if build is not None and path.startswith(build):
        return "build_files"
    return "other_files"


def breakdown(pid: int, build: Path | None) -> Breakdown:
    """Per-mapping sums from ``/proc/PID/smaps``: anonymous, the build's files, other files."""
    prefix = str(build.resolve().parent) if build is not None else None
    result = Breakdown()
    kind, values = "anonymous", {}
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if _HEADER.match(line):  # a new mapping: "start-end perms offset dev inode [path]"
            getattr(result, kind).add(values)
            fields = line.split(None, 5)
            kind, values = _kind(fields[5].strip() if len(fields) > 5 else "", prefix), {}
            continue
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            values[name] = int(parts[0]) * KIB
    getattr(result, kind).add(values)
    return result


def _mb(value: int) -> float:
    return round(value / 2**20, 1)


def process_memory(pid: int, build: Path | None) -> dict[str, Any]:
    """One process: RSS, PSS and USS from smaps_rollup, and USS/PSS by kind of mapping."""
    total = rollup(pid)
    parts = breakdown(pid, build)
    uss = total.get("Private_Clean", 0) + total.get("Private_Dirty", 0)
    return {
        "pid": pid,
        "rss_mb": _mb(total.get("Rss", 0)),
        "pss_mb": _mb(total.get("Pss", 0)),
        "uss_mb": _mb(uss),
        "private_dirty_mb": _mb(total.get("Private_Dirty", 0)),
        "anonymous": parts.anonymous.as_mb(),
        "build_files": parts.build_files.as_mb(),
        "other_files": parts.other_files.as_mb(),
    }


def workers(server_pid: int) -> list[psutil.Process]:
    """The worker processes under a uvicorn supervisor (multiprocessing spawn children, not
    its resource tracker), oldest first."""
    found = []
    for child in psutil.Process(server_pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
    return sorted(found, key=lambda p: p.create_time())


def server_memory(server_pid: int, build: Path | None) -> dict[str, Any]:
    """Every worker's memory, and the sums over workers the targets are stated in."""
    per_worker = [process_memory(w.pid, build) for w in workers(server_pid)]
    return {
        "workers": per_worker,
        "supervisor": process_memory(server_pid, build),
        "sum_pss_mb": round(sum(w["pss_mb"] for w in per_worker), 1),
        "max_uss_mb": max((w["uss_mb"] for w in per_worker), default=0.0),
        "max_anonymous_uss_mb": max((w["anonymous"]["uss_mb"] for w in per_worker),
                                    default=0.0),
    }
