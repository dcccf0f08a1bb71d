"""The image under a real memory limit: build it with podman, serve a build mounted read-only
under ``--memory`` (default 512m, 2 workers), soak it with wrk, and measure each process's
private and proportional memory from inside the host.

    uv run python -m bench.container --build BUILD [--memory 512m] [--seconds 60]
    uv run movies bench --container --scale 1        # synthesises, builds, then the same

Machines without a Docker daemon or registry access get a base image made from Debian
packages (debootstrap), standing in for python:3.11-slim; the Dockerfile takes it through
``--build-arg BASE=...``. The flags below are the ones podman needs on such machines (vfs
storage, runc, cgroupfs, explicit ulimits).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BASE_IMAGE = "localhost/python:3.11-bookworm"
IMAGE = "localhost/movies-graph:bench"
# Where the image's server finds a build mounted from outside (the Dockerfile creates it).
MOUNTED_BUILD = "/var/lib/movies/build"

PODMAN = ["podman", "--storage-driver", "vfs", "--runtime", shutil.which("runc") or
          shutil.which("runc", path="/usr/sbin:/sbin") or "runc", "--cgroup-manager", "cgroupfs"]
# Without explicit limits podman fails here with "setrlimit ... Operation not permitted".
ULIMITS = ["--ulimit", "nofile=1024:4096", "--ulimit", "nproc=4096:4096"]
OOM_EXIT = 137  # 128 + SIGKILL: the kernel's out-of-memory killer ended the container

Step = Callable[[str], object]


def _quiet(_message: str) -> None:
    return None


def podman(*args: str, check: bool = True, timeout: float = 600,
           input_bytes: bytes | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*PODMAN, *args], capture_output=True, timeout=timeout, check=False,
                          input=input_bytes)
    result = subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"))
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])} failed ({result.returncode}): "
                           f"{result.stderr[-2000:]}")
    return result


def tool(name: str) -> str | None:
    """A program's path; the sbin directories count even when PATH leaves them out."""
    return shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")


def image_exists(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


def unusable_reason() -> str | None:
    """Why podman cannot build and run containers on this machine, or None when it can."""
    if tool("podman") is None:
        return "podman is not installed (apt-get install podman runc debootstrap)"
    if tool("runc") is None:
        return "runc is not installed (apt-get install runc)"
    # Generous: podman waits for the storage lock while another podman copies a vfs layer.
    info = podman("info", "--format", "{{.Host.CgroupsVersion}}", check=False, timeout=600)
    if info.returncode != 0:
        return f"podman cannot run here: {info.stderr.strip()[-500:]}"
    if not image_exists(BASE_IMAGE):
        if tool("debootstrap") is None:
            return f"no {BASE_IMAGE} and debootstrap is not installed to make it"
        if os.geteuid() != 0:
            return f"no {BASE_IMAGE}, and debootstrap needs root to make it"
    return None


# --- the base image -------------------------------------------------------------------------


def debian_mirror() -> str:
    """The Debian mirror apt already uses (deb822 or one-line sources), else the default."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.is_file():
        found = re.search(r"^URIs:\s*(\S+)", sources.read_text(), re.M)
        if found:
            return found.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        found = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+\s+main", legacy.read_text(), re.M)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def ensure_base_image(step: Step = _quiet) -> bool:
    """Make the stand-in for python:3.11-slim if it is missing; True when it was made now.

    bookworm's python3 is 3.11. python:3.11-slim has ``python`` and ``pip`` on PATH, so the
    base gets a venv that provides them; builds reach the package index with the host's CA
    bundle, which is why the image carries it and points SSL_CERT_FILE at it.
    """
    if image_exists(BASE_IMAGE):
        return False
    step(f"making {BASE_IMAGE} with debootstrap (about 80 s)")
    rootfs = Path(tempfile.mkdtemp(prefix="movies-rootfs-", dir="/var/tmp"))
    try:
        subprocess.run(
            [tool("debootstrap") or "debootstrap", "--variant=minbase",
             "--include=python3,python3-venv,ca-certificates", "bookworm", str(rootfs),
             debian_mirror()],
            check=True, capture_output=True, timeout=1800)
        bundle = Path("/etc/ssl/certs/ca-certificates.crt")
        if bundle.is_file():
            shutil.copyfile(bundle, rootfs / "etc/ssl/certs/ca-certificates.crt")
        subprocess.run(
            [tool("chroot") or "chroot", str(rootfs), "sh", "-c",
             "python3 -m venv /opt/py && ln -sf /opt/py/bin/python /usr/local/bin/python"],
            check=True, capture_output=True, timeout=600)
        # mkdtemp made the directory 0700, and it becomes the image's /: the app user could
        # then reach no program at all.
        rootfs.chmod(0o755)
        tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], check=True,
                             capture_output=True, timeout=600)
        podman(
            "import",
            "--change", "ENV PATH=/opt/py/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
                        ":/sbin:/bin",
            "--change", "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            "--change", "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            "-", BASE_IMAGE, input_bytes=tar.stdout, timeout=900)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return True


# --- the image ------------------------------------------------------------------------------


def build_image(tag: str = IMAGE, context: Path = ROOT, step: Step = _quiet,
                timeout: float = 3600) -> float:
    """Build the project's Dockerfile on the local base; returns the wall time in seconds.

    ``--format docker`` keeps the HEALTHCHECK (the OCI format drops it); ``--network host``
    is how a build reaches the package index here.
    """
    step(f"building {tag} (several minutes: vfs copies every layer)")
    start = time.perf_counter()
    podman("build", "--format", "docker", "--isolation", "chroot", "--network", "host",
           *ULIMITS, "--build-arg", f"BASE={BASE_IMAGE}", "--layers=false", "-t", tag,
           str(context), timeout=timeout)
    return time.perf_counter() - start


def remove_image(tag: str) -> None:
    """Remove an image and the dangling layers its build left (vfs keeps full copies)."""
    podman("rmi", "-f", tag, check=False, timeout=600)
    podman("image", "prune", "-f", check=False, timeout=600)


def disk_free_gb(path: Path = ROOT) -> float:
    return round(shutil.disk_usage(path).free / 2**30, 1)


# --- a running container --------------------------------------------------------------------


@dataclass
class Container:
    name: str
    port: int
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"

    def state(self) -> tuple[str, int, bool]:
        """(status, exit code, killed by the OOM killer) as podman records them."""
        out = podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} "
                     "{{.State.OOMKilled}}", self.name, check=False).stdout.split()
        if len(out) != 3:
            return "gone", -1, False
        return out[0], int(out[1]), out[2] == "true"

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return (done.stdout + done.stderr)[-3000:]

    def cgroup(self) -> Path | None:
        """The container's memory cgroup directory on the host (cgroup v1 or v2)."""
        path = podman("inspect", "-f", "{{.State.CgroupPath}}", self.name,
                      check=False).stdout.strip()
        if not path:
            return None
        for root in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup")):
            candidate = root / path.lstrip("/")
            if (candidate / "cgroup.procs").is_file():
                return candidate
        return None

    def pids(self) -> list[int]:
        cgroup = self.cgroup()
        if cgroup is None:
            return []
        with contextlib.suppress(OSError):
            return [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
        return []


@contextmanager
def run_container(image: str, argv: Sequence[str], port: int, memory: str | None,
                  mounts: Sequence[tuple[Path, str]] = (), name: str | None = None,
                  env: dict[str, str] | None = None) -> Iterator[Container]:
    """Run ``image`` detached on the host network; always removed on the way out.

    ``--memory-swap`` equals ``--memory``: a box with no swap, as these machines are.
    """
    name = name or f"movies-bench-{os.getpid()}-{port}"
    args = ["run", "-d", "--name", name, "--network", "host", *ULIMITS]
    if memory:
        args += ["--memory", memory, "--memory-swap", memory]
    for source, target in mounts:
        args += ["-v", f"{source.resolve()}:{target}:ro"]
    for key, value in (env or {}).items():
        args += ["-e", f"{key}={value}"]
    podman(*args, image, *argv, timeout=300)
    try:
        yield Container(name, port)
    finally:
        podman("rm", "-f", "-t", "5", name, check=False, timeout=120)


def wait_ready(container: Container, path: str = "/readyz", timeout: float = 600,
               max_oom_kills: int | None = None) -> float | None:
    """Seconds until ``path`` answers 200, or None when the container stopped first or (with
    several workers, whose supervisor restarts a killed one) the OOM killer struck
    ``max_oom_kills`` times."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(container.url + path, timeout=2).status_code == 200:
                return time.perf_counter() - start
        status, _code, _oom = container.state()
        if status not in ("running", "created", "configured"):
            return None
        if max_oom_kills and cgroup_memory(container).get("oom_kills", 0) >= max_oom_kills:
            return None
        time.sleep(0.1)
    raise TimeoutError(f"{container.name}: {path} not ready after {timeout:g} s")


# --- memory ---------------------------------------------------------------------------------


def smaps_rollup(pid: int) -> dict[str, float]:
    """USS (Private_Clean + Private_Dirty), PSS and RSS of one process, in MB."""
    fields: dict[str, int] = {}
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1])
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"uss_mb": round(uss / 1024, 1), "pss_mb": round(fields.get("Pss", 0) / 1024, 1),
            "rss_mb": round(fields.get("Rss", 0) / 1024, 1),
            "shared_mb": round((fields.get("Shared_Clean", 0)
                                + fields.get("Shared_Dirty", 0)) / 1024, 1)}


def _cmdline(pid: int) -> str:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_memory(container: Container) -> list[dict[str, Any]]:
    """Every process of the container with its role: the supervisor started by ``movies
    serve``, the uvicorn workers it spawned, or anything else (the shared-memory tracker)."""
    rows = []
    pids = container.pids()
    for pid in pids:
        try:
            cmd, parent, memory = _cmdline(pid), _ppid(pid), smaps_rollup(pid)
        except (OSError, ValueError, IndexError):
            continue  # exited between listing and reading
        if "movies serve" in cmd or cmd.endswith("/movies serve"):
            role = "supervisor"
        elif "multiprocessing.spawn" in cmd or "spawn_main" in cmd:
            role = "worker" if parent in pids else "other"
        else:
            role = "other"
        rows.append({"pid": pid, "ppid": parent, "role": role, "cmd": cmd[:120], **memory})
    # A worker is spawned by the supervisor; the resource tracker is its other spawned child.
    supervisors = {r["pid"] for r in rows if r["role"] == "supervisor"}
    for row in rows:
        if row["role"] == "worker" and "resource_tracker" in row["cmd"]:
            row["role"] = "other"
        if row["role"] == "worker" and row["ppid"] not in supervisors:
            row["role"] = "other"
    if not any(r["role"] == "worker" for r in rows):
        for row in rows:  # one worker: uvicorn serves in the process `movies serve` started
            if row["role"] == "supervisor":
                row["role"] = "worker"
    return sorted(rows, key=lambda r: (r["role"], r["pid"]))


def cgroup_memory(container: Container) -> dict[str, Any]:
    """The container's memory as its cgroup counts it: now, peak, limit and OOM kills."""
    cgroup = container.cgroup()
    if cgroup is None:
        return {}

    def read(name: str) -> str | None:
        with contextlib.suppress(OSError):
            return (cgroup / name).read_text().strip()
        return None

    result: dict[str, Any] = {}
    v1 = read("memory.max_usage_in_bytes") is not None
    now = read("memory.usage_in_bytes" if v1 else "memory.current")
    peak = read("memory.max_usage_in_bytes" if v1 else "memory.peak")
    limit = read("memory.limit_in_bytes" if v1 else "memory.max")
    if now and now.isdigit():
        result["current_mb"] = round(int(now) / 2**20, 1)
    if peak and peak.isdigit():
        result["peak_mb"] = round(int(peak) / 2**20, 1)
    if limit and limit.isdigit():
        result["limit_mb"] = round(int(limit) / 2**20, 1)
    events = read("memory.oom_control" if v1 else "memory.events") or ""
    kills = re.search(r"^oom_kill (\d+)", events, re.M)
    if kills:
        result["oom_kills"] = int(kills.group(1))
    return result


def memory_summary(processes: list[dict[str, Any]]) -> dict[str, Any]:
    workers = [p for p in processes if p["role"] == "worker"]
    return {
        "workers": len(workers),
        "worker_uss_mb": [w["uss_mb"] for w in workers],
        "worker_pss_mb": [w["pss_mb"] for w in workers],
        "worker_rss_mb": [w["rss_mb"] for w in workers],
        "workers_pss_sum_mb": round(sum(w["pss_mb"] for w in workers), 1),
        "all_pss_sum_mb": round(sum(p["pss_mb"] for p in processes), 1),
    }


class MemoryWatch:
    """Samples the container's processes and cgroup in a thread; keeps the largest figures."""

    def __init__(self, container: Container, interval: float = 0.5) -> None:
        import threading

        self.container = container
        self.interval = interval
        self.max_worker_uss_mb = 0.0
        self.max_worker_rss_mb = 0.0
        self.max_pss_sum_mb = 0.0
        self.worker_pids: set[int] = set()
        self.cgroup_peak_mb: float | None = None
        self.oom_kills = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                processes = process_memory(self.container)
                workers = [p for p in processes if p["role"] == "worker"]
                # Spawned workers only: a restarted one has a new pid.
                self.worker_pids.update(w["pid"] for w in workers if "spawn_main" in w["cmd"])
                for w in workers:
                    self.max_worker_uss_mb = max(self.max_worker_uss_mb, w["uss_mb"])
                    self.max_worker_rss_mb = max(self.max_worker_rss_mb, w["rss_mb"])
                self.max_pss_sum_mb = max(self.max_pss_sum_mb,
                                          sum(p["pss_mb"] for p in processes))
                # Read while the cgroup exists: it goes with the container.
                cgroup = cgroup_memory(self.container)
                self.cgroup_peak_mb = cgroup.get("peak_mb", self.cgroup_peak_mb)
                self.oom_kills = max(self.oom_kills, cgroup.get("oom_kills", 0))
            self._stop.wait(self.interval)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        return {"max_worker_uss_mb": self.max_worker_uss_mb,
                "max_worker_rss_mb": self.max_worker_rss_mb,
                "max_pss_sum_mb": round(self.max_pss_sum_mb, 1),
                "worker_processes_seen": len(self.worker_pids),
                "cgroup_peak_mb": self.cgroup_peak_mb, "oom_kills": self.oom_kills}


def _snapshot(container: Container) -> dict[str, Any]:
    processes = process_memory(container)
    return {"processes": processes, **memory_summary(processes),
            "cgroup": cgroup_memory(container)}


def _build_movies(build: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, KeyError):
        manifest = json.loads((build / "manifest.json").read_text())
        return int(manifest["tables"]["movies"])
    return None


def bench_container(build: Path, memory: str | None = "512m", workers: int = 2,
                    seconds: float = 60.0, connections: int = 32, image: str = IMAGE,
                    rebuild: bool = True, remove: bool = False, ready_timeout: float = 300,
                    step: Step = _quiet) -> dict[str, Any]:
    """Serve ``build`` (mounted read-only) from the image under ``memory`` and soak it.

    Reports whether it started or was killed, wrk's errors, requests/s and p99 over the
    suite's realistic mix, and USS/PSS/RSS per process at ready (settled), under load and
    after, plus the cgroup's own peak and OOM-kill count.
    """
    from bench import measure
    from bench.suite import SETTLE_S, http_mixes, pick_parameters

    if (reason := unusable_reason()) is not None:
        return {"skipped": reason}
    if not measure.wrk_available():
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    build = build.resolve()
    result: dict[str, Any] = {
        "machine": measure.machine(), "build": str(build), "movies": _build_movies(build),
        "image": image, "memory_limit": memory, "workers": workers,
        "connections": connections, "seconds": seconds,
    }
    result["base_image_made"] = ensure_base_image(step)
    if rebuild or not image_exists(image):
        result["image_build_s"] = round(build_image(image, step=step), 1)
    step("picking the query mix from the build")
    _small, mix, _base = http_mixes(pick_parameters(build))
    port = measure.free_port()
    # The port goes in MOVIES_PORT, which the image's HEALTHCHECK follows too.
    argv = ["movies", "serve", "--profile", "production", "--host", "127.0.0.1",
            "--workers", str(workers), "--data", MOUNTED_BUILD]
    try:
        with run_container(image, argv, port, memory, [(build, MOUNTED_BUILD)],
                           env={"MOVIES_PORT": str(port)}) as container:
            step(f"serving {build.name} under --memory {memory} with {workers} workers")
            watch = MemoryWatch(container)
            try:
                ready = wait_ready(container, timeout=ready_timeout, max_oom_kills=3)
            except TimeoutError:
                ready = None
            result["startup"] = watch.stop()
            status, code, oom = container.state()
            result["cgroup_at_start"] = cgroup_memory(container)
            if ready is None:
                kills = max(result["cgroup_at_start"].get("oom_kills", 0),
                            result["startup"]["oom_kills"])
                killed = code == OOM_EXIT or oom or bool(kills)
                result.update(outcome="killed" if killed else "not ready", status=status,
                              exit_code=code, oom_killed=oom, oom_kills=kills,
                              logs=container.logs())
                return result
            result["ready_s"] = round(ready, 2)
            time.sleep(SETTLE_S)
            result["settled"] = _snapshot(container)
            step("warming up")
            measure.wrk(container.url, mix, "POST", "/graphql", connections,
                        min(5.0, seconds / 6))
            step(f"soak: {connections} connections for {seconds:g} s")
            watch = MemoryWatch(container, interval=2.0)
            result["soak"] = measure.wrk(container.url, mix, "POST", "/graphql", connections,
                                         seconds)
            result["under_load"] = watch.stop()
            result["after"] = _snapshot(container)
            with contextlib.suppress(httpx.HTTPError):
                result["healthy_after"] = httpx.get(container.url + "/healthz",
                                                    timeout=5).status_code == 200
            status, code, oom = container.state()
            kills = result["after"]["cgroup"].get("oom_kills", 0)
            restarted = (result["under_load"]["worker_processes_seen"] > workers
                         or result["startup"]["worker_processes_seen"] > workers)
            result.update(status=status, exit_code=code, oom_killed=oom, oom_kills=kills,
                          workers_restarted=restarted)
            result["outcome"] = ("served" if status == "running" and not kills
                                 and not restarted else "killed")
            if result["outcome"] != "served":
                result["logs"] = container.logs()
            return result
    finally:
        if remove:
            remove_image(image)
        result["disk_free_gb"] = disk_free_gb()


def markdown(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"container benchmark skipped: {result['skipped']}\n"
    lines = [
        f"Image under `--memory {result['memory_limit']}` with `--workers "
        f"{result['workers']}`, build of {result['movies']:,} movies mounted read-only; "
        f"{result['connections']} connections for {result['seconds']:g} s over the realistic "
        "mix. Memory from /proc/PID/smaps_rollup of the container's processes "
        "(USS = Private_Clean + Private_Dirty).",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| outcome | {result['outcome']} (container {result.get('status')}, exit code "
        f"{result.get('exit_code')}, OOM kills {result.get('oom_kills')}) |",
    ]
    start = result.get("startup", {})
    lines.append(f"| start-up: largest worker USS / RSS seen | {start.get('max_worker_uss_mb')}"
                 f" / {start.get('max_worker_rss_mb')} MB |")
    peak = result.get("cgroup_at_start", {}).get("peak_mb") or start.get("cgroup_peak_mb")
    lines.append(f"| start-up: cgroup peak | {peak} MB |")
    if "ready_s" in result:
        lines.append(f"| ready after | {result['ready_s']} s |")
        for label, key in (("settled at ready", "settled"), ("after the soak", "after")):
            snap = result[key]
            uss = " + ".join(f"{u:g}" for u in snap["worker_uss_mb"])
            pss = " + ".join(f"{u:g}" for u in snap["worker_pss_mb"])
            rss = " + ".join(f"{u:g}" for u in snap["worker_rss_mb"])
            lines += [
                f"| {label}: USS per worker | {uss} MB |",
                f"| {label}: PSS per worker (sum) | {pss} MB ({snap['workers_pss_sum_mb']} MB) |",
                f"| {label}: RSS per worker | {rss} MB |",
                f"| {label}: PSS of all processes | {snap['all_pss_sum_mb']} MB |",
                f"| {label}: cgroup usage / peak | {snap['cgroup'].get('current_mb')} / "
                f"{snap['cgroup'].get('peak_mb')} MB |",
            ]
        soak = result["soak"]
        lines += [
            f"| soak: requests | {soak['requests']:,} |",
            f"| soak: requests/s | {soak['rps']:,.0f} |",
            f"| soak: p50 / p99 | {soak['p50_ms']:.2f} / {soak['p99_ms']:.2f} ms |",
            f"| soak: errors (non-2xx) | {soak['errors']} ({soak['non_2xx']}) |",
            f"| healthy after | {result.get('healthy_after')} |",
        ]
    return "\n".join(lines) + "\n"


def write_results(result: dict[str, Any], out: Path, name: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    as_json, as_md = out / f"{name}.json", out / f"{name}.md"
    as_json.write_text(json.dumps(result, indent=2))
    as_md.write_text(markdown(result))
    return as_json, as_md


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.container", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, required=True,
                        help="a build directory (movies etl --out ...), mounted read-only")
    parser.add_argument("--memory", default="512m", help="container memory limit")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0, help="soak duration")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--image", default=IMAGE)
    parser.add_argument("--reuse-image", action="store_true",
                        help="serve the existing image instead of rebuilding it from this "
                             "checkout (only when the code has not changed since)")
    parser.add_argument("--remove-image", action="store_true",
                        help="remove the image afterwards (vfs keeps a full copy per layer)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--name", default="container", help="result file name (no suffix)")
    args = parser.parse_args(argv)
    result = bench_container(args.build, args.memory, args.workers, args.seconds,
                             args.connections, args.image, not args.reuse_image,
                             args.remove_image,
                             step=lambda s: print(s, file=sys.stderr, flush=True))
    paths = write_results(result, args.out, args.name)
    print(markdown(result))
    print(f"written: {paths[0]} {paths[1]}", file=sys.stderr)
    return 0 if passed(result) else 1


def passed(result: dict[str, Any]) -> bool:
    """Served through the whole soak with no error, no kill and no worker restart."""
    return result.get("outcome") == "served" and result.get("soak", {}).get("errors") == 0


def run_for_scale(scale: float | None, seed: int, out: Path, seconds: float,
                  step: Step = _quiet) -> dict[str, Any]:
    """`movies bench --container`: the sample (scale None) or a synthetic twin, built with
    our ETL into ``out``, then served from the image under 512m with 2 workers."""
    from bench import suite

    inputs = suite.prepare_inputs(scale, seed, out, step)
    label = "sample" if scale is None else f"{scale:g}"
    build = out / f"container-build-{label}"
    if not (build / "manifest.json").is_file():
        step(f"ETL of {label} into {build}")
        suite.etl_ours(inputs, build)
    result = bench_container(build, seconds=seconds, step=step)
    write_results(result, out, f"container-{label}")
    return result


if __name__ == "__main__":
    sys.exit(main())
