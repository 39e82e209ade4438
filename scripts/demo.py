"""`make demo`: generate a few sample counter scans, digitize them on the embedded default,
export the signed PDFs and show where they are, then the progress table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ lives at the top

SCAN_SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}


def main() -> int:
    home = Path(os.environ.get("SOHOA_HOME", "var/demo")).resolve()
    samples, signed = home / "samples", home / "signed"
    sohoa = [str(Path(sys.executable).with_name("sohoa"))]
    from bench.corpus import generate_corpus

    generate_corpus(samples, count=4, seed=7, profile="counter")
    scans = sorted(p for p in samples.iterdir() if p.suffix.lower() in SCAN_SUFFIXES)
    print(f"sample scans in {samples}: {', '.join(p.name for p in scans)}", file=sys.stderr)

    run = subprocess.run([*sohoa, "digitize", *map(str, scans), "--unit", "00004", "--json"],
                         capture_output=True, text=True)
    sys.stderr.write(run.stderr)
    records = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    signed.mkdir(parents=True, exist_ok=True)
    for record in records:
        print(json.dumps(record, ensure_ascii=False))
        if record["status"] in ("stored", "needs_review"):
            target = signed / (Path(record["file"]).stem + ".pdf")
            subprocess.run([*sohoa, "export", record["document_id"], str(target)], check=True,
                           capture_output=True)
            label = "signed" if record["status"] == "stored" else "UNSIGNED (needs review)"
            print(f"  → {label} PDF: {target}")
    stored = [r for r in records if r["status"] == "stored"]
    print(f"\n{len(stored)} of {len(records)} scans stored, signed PDFs in {signed}")
    subprocess.run([*sohoa, "progress"], check=True)
    return 0 if stored and run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
