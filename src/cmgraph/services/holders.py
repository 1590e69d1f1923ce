"""Which process holds an Idempotency-Key, named so that another process can tell at once
that it no longer exists (killed, say) instead of waiting out the key's lease.

A holder is "<machine>/<pid>/<start>": the machine is the kernel's boot id and the process's
pid namespace (processes that see the same /proc), the pid, and the pid's start time (a pid
is reused; a pid with another start time is another process). Only a holder on this machine
and namespace can be judged; any other (another host or container, no /proc) is presumed
alive, and its key waits for the lease as before. Read from /proc by hand: no library says
"is this (pid, start time) alive" across namespaces, and psutil would be a dependency for
two file reads.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

_PROC = Path("/proc")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


@functools.cache
def _machine() -> str | None:
    boot = _read(_PROC / "sys/kernel/random/boot_id")
    try:
        namespace = os.readlink(_PROC / "self/ns/pid")
    except OSError:
        return None
    return f"{boot}:{namespace}" if boot else None


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (proc(5), stat field 22); None
    when there is no such process, or only its corpse (a zombie its parent has not reaped)."""
    stat = _read(_PROC / str(pid) / "stat")
    if stat is None:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces
    if len(fields) <= 19 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


@functools.cache
def _this(pid: int) -> str:
    machine, started = _machine(), _start_time(pid)
    return f"{machine}/{pid}/{started}" if machine and started else f"unknown/{pid}/"


def this_process() -> str:
    """This process, as a holder (computed per pid: a forked worker is another holder)."""
    return _this(os.getpid())


def is_gone(holder: str | None) -> bool:
    """True only when holder surely no longer exists: it ran on this machine, and its pid is
    gone or belongs to a process started at another time."""
    if not holder:
        return False
    machine, pid_text, started = [*holder.split("/"), "", ""][:3]
    if machine == "unknown" or machine != _machine() or not pid_text.isdigit():
        return False
    return _start_time(int(pid_text)) != started
