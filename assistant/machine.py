"""Facts about this machine and readings from it: CPU model and flags, cores, RAM, library versions, a fixed
speed check (so runs on a shared or throttled machine can be compared), CPU time used, peak and current RSS.
The evaluator's report names the machine with `machine()`; nothing here imports the evaluation package.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

PACKAGES = ("torch", "sentence-transformers", "transformers", "onnxruntime", "faiss-cpu", "numpy")
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def machine() -> dict:
    """CPU model, cores, RAM, Python / torch / ONNX Runtime / FAISS versions, date."""
    from importlib import metadata

    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = ""
    try:
        present = set(Path("/proc/cpuinfo").read_text(encoding="utf-8").split())
        flags = " ".join(f for f in CPU_FLAGS if f in present)
    except OSError:
        pass
    try:
        import psutil

        memory = psutil.virtual_memory().total
    except ImportError:
        memory = None
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "cpu": cpu, "cpu_flags": flags, "cores": os.cpu_count(),
            "memory_bytes": memory, "python": platform.python_version(), "platform": platform.platform(),
            "versions": versions}


def speed_check(seconds: float = 1.0) -> dict:
    """A fixed CPU workload, so runs on a shared or throttled machine can be compared: float32 matrix products
    (numpy's BLAS, all cores) and a pure-Python loop (one core)."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    a @ a
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        a @ a
        n += 1
    gflops = 2 * 1024**3 * n / (time.perf_counter() - start) / 1e9
    start = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    return {"matmul_gflops": round(gflops, 1), "python_mops": round(2.0 / (time.perf_counter() - start), 1)}


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds the whole machine was busy, CPU seconds this process and its finished children used)."""
    import resource

    try:
        import psutil

        times = psutil.cpu_times()
        busy = sum(times) - times.idle - getattr(times, "iowait", 0.0) - getattr(times, "guest", 0.0) \
            - getattr(times, "guest_nice", 0.0)
    except ImportError:
        busy = float("nan")
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return busy, own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def rss_mb() -> float:
    """This process's resident memory now, in MB (NaN without psutil)."""
    try:
        import psutil

        return round(psutil.Process().memory_info().rss / 2**20, 1)
    except ImportError:
        return float("nan")
