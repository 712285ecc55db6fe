"""What /proc says about a process: its state and start time (Linux; callers decide what "no procfs" means)."""

from __future__ import annotations

from pathlib import Path


def stat_fields(pid: int) -> list[str] | None:
    """Fields 3 onward of /proc/PID/stat (state first, start time at index 19); None when there is no entry.

    The command name (field 2) may hold spaces and parentheses, so the split starts after its last ")".
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def is_zombie(pid: int) -> bool | None:
    """True for a zombie (exited, not reaped yet), False for a live process, None when /proc has no entry."""
    fields = stat_fields(pid)
    return None if fields is None else fields[0] == "Z"


def start_time(pid: int) -> int | None:
    """Start time in clock ticks since boot (field 22): with the PID, an identity the kernel does not reuse."""
    fields = stat_fields(pid)
    return None if fields is None else int(fields[19])
