"""Hot folder: complete files only, each once, moved aside; bad files rejected with a reason."""

from __future__ import annotations

import fcntl
import os
import time

import pytest
from PIL import Image

from scanners import ScannerError, ScanProfile
from scanners.hotfolder import HotFolder, JsonSeen


def _png(path, color="white"):
    Image.new("RGB", (850, 1100), color).save(path, dpi=(300, 300))
    old = time.time() - 10
    os.utime(path, (old, old))
    return path


def test_takes_complete_files_once_and_moves_them_to_done(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _png(inbox / "a.png")
    _png(inbox / "b.png", "gray")
    seen = JsonSeen(tmp_path / "seen.json")
    folder = HotFolder(inbox, seen=seen, settle=0.2)
    pages = folder.scan(ScanProfile())
    assert [p.source_name for p in pages] == ["a.png", "b.png"]
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["a.png", "b.png"]
    assert not (inbox / "a.png").exists()
    # The same bytes dropped again are not taken twice (sha256 remembered on disk).
    (inbox / "done" / "a.png").rename(inbox / "again.png")
    with pytest.raises(ScannerError) as err:
        HotFolder(inbox, seen=JsonSeen(tmp_path / "seen.json"), settle=0.2).scan(ScanProfile())
    assert err.value.kind == "no_docs"
    assert len(list((inbox / "done").iterdir())) == 2  # moved aside, never deleted


def test_waits_for_a_file_still_being_written(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "growing.png"
    folder = HotFolder(inbox, seen=JsonSeen(tmp_path / "seen.json"), settle=0.3)
    with open(path, "wb") as fh:  # a writer holding a lock, file fresh
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.flush()
        assert not folder.ready(path)
        with pytest.raises(ScannerError):
            folder.scan(ScanProfile())
        assert path.exists()  # untouched while incomplete
    path.unlink()
    _png(path)
    assert folder.wait_for_files(2.0)
    assert len(folder.scan(ScanProfile())) == 1


def test_unreadable_file_goes_to_rejected_with_reason(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bad = inbox / "scan.pdf"
    bad.write_bytes(b"this is not a pdf")
    os.utime(bad, (time.time() - 10, time.time() - 10))
    _png(inbox / "ok.png")
    pages = HotFolder(inbox, seen=JsonSeen(tmp_path / "s.json"), settle=0.1).scan(ScanProfile())
    assert len(pages) == 1
    assert (inbox / "rejected" / "scan.pdf").read_bytes() == b"this is not a pdf"
    reason = (inbox / "rejected" / "scan.pdf.reason.txt").read_text()
    assert "scan.pdf" in reason and "không được hỗ trợ" in reason
