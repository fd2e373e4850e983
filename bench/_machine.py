"""What every benchmark table is printed with: the machine, its load, the date, the libraries.

    from _machine import header, load_line
    print(header(threads=2))      # before the table: CPU model, cores, load average, date, versions
    ...
    print(load_line("after"))     # after it: the load average the figures were taken under

A figure means little without the CPU it was measured on and what else was running: the load
average (processes wanting a core, averaged over 1, 5 and 15 minutes) is printed before and after,
so a reader can see a table taken on a busy machine for what it is. Everything here is read from
the running system (/proc/cpuinfo, os.getloadavg): nothing is assumed about the machine.
"""
from __future__ import annotations

import os
import platform
import time


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def simd() -> str:
    """The widest x86 vector extension the CPU reports (the C kernels are built for it)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return "?"
    for name in ("avx512f", "avx2", "avx", "sse2"):
        if name in flags:
            return name.upper()
    return "?"


def cores() -> tuple[int, int]:
    """(CPUs online, CPUs this process may run on)."""
    online = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else online
    return online, usable


def load_line(when: str = "now") -> str:
    """'load average (when): 1-min 5-min 15-min' -- or a note that this system has none."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return f"load average ({when}): unavailable"
    return f"load average ({when}): {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min)"


def versions() -> str:
    """Python and the libraries' versions, without importing torch into this process."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"Python {platform.python_version()}"]
    for dist in ("numpy", "torch"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


def header(threads: int, clock: str = "wall clock") -> str:
    """The lines printed above every table: machine, threads, clock, load (before), date, versions."""
    online, usable = cores()
    return "\n".join([
        f"machine: {cpu_model()} ({simd()}), {online} CPUs online, {usable} usable by this process",
        f"threads: {threads} in every library (ours, NumPy's BLAS, torch); clock: {clock}",
        load_line("before"),
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {versions()}",
    ])
