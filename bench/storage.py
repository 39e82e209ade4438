"""Object-store benchmark: put/get/stat throughput of the local store and the S3 store.

Writes N objects of a given size (random bytes, like compressed scans) to each store, reads them
back verified, stats them, and prints MiB/s and ops/s per store and the S3/local ratio. The S3
store runs on a throw-away SeaweedFS (tests.support.seaweedfs) unless --s3-url names one.
It never asserts.

    .venv/bin/python -m bench.storage [--count 40] [--size-kib 1500] [--big-mib 40]
        [--s3-url s3+http://KEY:SECRET@host:port/bucket] [--no-s3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import results as bench_results  # noqa: E402
from storage.local_store import LocalObjectStore  # noqa: E402
from storage.objects import CHUNK  # noqa: E402

MIB = 1024 * 1024


def run(store, label: str, count: int, size: int, big: Path | None) -> dict[str, float]:
    payloads = [os.urandom(size) for _ in range(min(count, 8))]
    keys = [f"bench/{uuid.uuid4().hex}/{i:04d}.pdf" for i in range(count)]
    results: dict[str, float] = {}

    started = time.perf_counter()
    for i, key in enumerate(keys):
        store.put_bytes(key, payloads[i % len(payloads)], "application/pdf")
    elapsed = time.perf_counter() - started
    results["put MiB/s"] = count * size / MIB / elapsed
    results["put ops/s"] = count / elapsed

    started = time.perf_counter()
    for key in keys:
        store.get_bytes(key)
    elapsed = time.perf_counter() - started
    results["get MiB/s"] = count * size / MIB / elapsed

    started = time.perf_counter()
    for key in keys:
        store.stat(key)
    results["stat ops/s"] = count / (time.perf_counter() - started)

    if big is not None:
        started = time.perf_counter()
        store.put_file("bench/big.bin", big)
        results["big put_file MiB/s"] = big.stat().st_size / MIB / (time.perf_counter() - started)
        started = time.perf_counter()
        with store.open("bench/big.bin") as stream:
            while stream.read(CHUNK):
                pass
        results["big open MiB/s"] = big.stat().st_size / MIB / (time.perf_counter() - started)

    for key in keys:
        store.delete(key)
    print(f"{label}: " + ", ".join(f"{k} {v:.1f}" for k, v in results.items()))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--size-kib", type=int, default=1500)
    parser.add_argument("--big-mib", type=int, default=40, help="0 to skip the large file")
    parser.add_argument("--s3-url", help="an existing S3 bucket URL instead of a SeaweedFS")
    parser.add_argument("--no-s3", action="store_true")
    parser.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = parser.parse_args(argv)
    record = bench_results.start("storage", quick=args.quick, args=vars(args))

    with tempfile.TemporaryDirectory(prefix="sohoa-bench-storage-") as tmp, \
            contextlib.ExitStack() as stack:
        tmpdir = Path(tmp)
        big = None
        if args.big_mib:
            big = tmpdir / "big.bin"
            with open(big, "wb") as out:
                for _ in range(args.big_mib):
                    out.write(os.urandom(MIB))
        size = args.size_kib * 1024
        local = run(LocalObjectStore(tmpdir / "local"), "local", args.count, size, big)
        for name, value in local.items():
            record.figure(f"local {name}", value, name.rsplit(" ", 1)[1])
        if args.no_s3:
            return 0
        from storage.s3_store import S3ObjectStore

        url = args.s3_url
        if not url:
            from tests.support.seaweedfs import seaweedfs

            server = stack.enter_context(seaweedfs(tmpdir / "seaweed"))
            url = server.bucket_url("sohoa-bench")
        s3 = run(S3ObjectStore.from_url(url), "s3", args.count, size, big)
        print("s3/local: " + ", ".join(f"{k} {s3[k] / local[k]:.2f}" for k in local))
        for name, value in s3.items():
            record.figure(f"S3 (SeaweedFS) {name}", value, name.rsplit(" ", 1)[1],
                          comparator="local folder", comparator_value=local[name])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
