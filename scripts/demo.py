"""`make demo`: generate a few sample counter scans, digitize them on the embedded default,
export the signed PDFs and show where they are, then the progress table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ lives at the top

def main() -> int:
    home = Path(os.environ.get("SOHOA_HOME", "var/demo")).resolve()
    samples, signed = home / "samples", home / "signed"
    sohoa = [str(Path(sys.executable).with_name("sohoa"))]
    from bench.corpus import generate_corpus

    # multi-page documents as PDF or multi-page TIFF: one file is one result
    scans = generate_corpus(samples, count=4, seed=7, profile="counter", formats=("pdf", "tiff"))
    manifest = json.loads((samples / "manifest.json").read_text())
    unit_of = {d["file"]: d["fields"]["issuer_unit_code"] for d in manifest["documents"]}
    print(f"sample scans in {samples}: {', '.join(p.name for p in scans)}", file=sys.stderr)

    records, failed = [], False
    for unit in sorted(set(unit_of.values())):  # each issuing unit digitizes its own results
        batch = [str(p) for p in scans if unit_of[p.name] == unit]
        run = subprocess.run([*sohoa, "digitize", *batch, "--unit", unit, "--json"],
                             capture_output=True, text=True)
        sys.stderr.write(run.stderr)
        failed |= run.returncode != 0
        records += [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
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
    return 0 if stored and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
