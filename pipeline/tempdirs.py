"""Temp folders of stage runs, named after their process so a stopped process's leftovers can
be found and removed, and whether a process named in a lease or a folder is still alive."""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

_TEMP_NAME = re.compile(r"^sohoa-[a-z]+-(\d+)-")


def temp_prefix(kind: str) -> str:
    """Prefix of a stage's temp folder, naming this process so leftovers can be swept."""
    return f"sohoa-{kind}-{os.getpid()}-"


def owner_alive(owner: str | None) -> bool:
    """False when `owner` ("host:pid:…") names a process on this host that no longer exists;
    True otherwise (another host's process is judged by its lease's expiry alone)."""
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != socket.gethostname():
        return True
    try:
        pid = int(parts[1])
    except ValueError:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temp(folder: Path | None = None) -> list[Path]:
    """Remove temp folders left by sohoa processes on this host that no longer exist."""
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or not entry.is_dir():
            continue
        if owner_alive(f"{socket.gethostname()}:{match.group(1)}"):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed
