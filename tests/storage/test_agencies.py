"""Agencies (cơ quan, tổ chức): `sohoa agencies import|list|show` as a real process, and the
lookups the pipeline uses (dossier prefix, header match, validity dates)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

SOHOA = [str(Path(sys.executable).with_name("sohoa"))]
AGENCIES = """code,name,unit,parent,valid_from,valid_to,signing_key
000.00.00.H26,Ủy ban nhân dân thành phố Hà Nội,01,,,,
000.00.12.H26,Sở Tư pháp thành phố Hà Nội,01,000.00.00.H26,,,
000.00.04.H26,Ủy ban nhân dân phường Trúc Bạch,00004,,2021-01-01,2025-06-30,
000.00.04.H26,Ủy ban nhân dân phường Ba Đình,00004,,2025-07-01,,
"""


@pytest.fixture
def env(sohoa_home):
    return {**os.environ, "SOHOA_HOME": str(sohoa_home)}


def sohoa(env, *args):
    return subprocess.run([*SOHOA, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=120)


def test_import_list_show(env, tmp_path):
    csv = tmp_path / "co-quan.csv"
    csv.write_text(AGENCIES, encoding="utf-8")
    run = sohoa(env, "agencies", "import", csv)
    assert run.returncode == 0, run.stderr
    assert "4 agencies: 4 added, 0 updated, 0 unchanged" in run.stderr

    listed = [json.loads(line) for line in sohoa(env, "agencies", "list", "--json").stdout
              .splitlines()]
    assert [(a["code"], a["valid_from"]) for a in listed] == [
        ("000.00.00.H26", "1990-01-01"), ("000.00.04.H26", "2021-01-01"),
        ("000.00.04.H26", "2025-07-01"), ("000.00.12.H26", "1990-01-01")]
    so = next(a for a in listed if a["code"] == "000.00.12.H26")
    assert so["parent"] == "000.00.00.H26" and so["level"] == "city" and so["unit_code"] == "01"
    # the commune code 00004 was Phường Trúc Bạch, is Phường Ba Đình from 2025-07-01
    old = json.loads(sohoa(env, "agencies", "show", "000.00.04.H26", "--on", "2024-03-01").stdout)
    assert old["name"].endswith("Trúc Bạch") and old["unit_name"].endswith("Trúc Bạch")
    new = next(a for a in listed if a["valid_from"] == "2025-07-01")
    assert new["name"].endswith("Ba Đình") and new["level"] == "commune"
    unknown = sohoa(env, "agencies", "show", "000.00.99.H26")
    assert unknown.returncode == 1 and "no agency '000.00.99.H26'" in unknown.stderr

    bad = tmp_path / "hong.csv"
    bad.write_text(HEAD + "000.00.05.H26,UBND X,99999,,,,\n", encoding="utf-8")
    run = sohoa(env, "agencies", "import", bad)
    assert run.returncode == 1
    assert run.stderr.strip() == f"{bad}: row 3: unknown admin unit code '99999'"
    assert "000.00.05.H26" not in sohoa(env, "agencies", "list").stdout  # nothing imported


BAD_ROWS = [
    ("000.00.05.H26,,00004,,,,", "row 3: agency 000.00.05.H26 has no name"),
    ("000.00.05.H26,UBND X,99999,,,,", "row 3: unknown admin unit code '99999'"),
    ("000.00.05.H26,UBND X,00004,,2025-13-01,,", "row 3: valid_from '2025-13-01' is not a date"),
    ("000.00.05.H26,UBND X,00004,000.00.77.H26,,,", "row 3: parent agency 000.00.77.H26"),
    ("000.00.05.H26,UBND X,00004,,,,/keys/x.p12", "row 3: signing_key must be a pkcs12:"),
    ("000.00.00.H26,UBND X,01,,,,", "row 3: agency 000.00.00.H26 from 1990-01-01 is already"),
]
HEAD = ("code,name,unit,parent,valid_from,valid_to,signing_key\n"
        "000.00.00.H26,Ủy ban nhân dân thành phố Hà Nội,01,,,,\n")


def test_every_bad_row_is_named_and_nothing_is_imported(runtime, tmp_path):
    from sqlalchemy import func, select

    from storage.agencies import Agency, AgencyImportError, import_agencies

    for n, (row, problem) in enumerate(BAD_ROWS):
        csv = tmp_path / f"bad{n}.csv"
        csv.write_text(HEAD + row + "\n", encoding="utf-8")
        with pytest.raises(AgencyImportError) as caught, runtime.session() as session:
            import_agencies(session, csv)
        assert str(caught.value).startswith(f"{csv}: ") and problem in str(caught.value)
        with runtime.session() as session:
            assert session.scalar(select(func.count()).select_from(Agency)) == 0


def test_dossier_prefix_and_header_name_the_agency(runtime, tmp_path):
    from storage.agencies import agency_for_dossier, import_agencies, match_issuer

    csv = tmp_path / "co-quan.csv"
    csv.write_text(AGENCIES, encoding="utf-8")
    with runtime.session() as session:
        import_agencies(session, csv)
        now = agency_for_dossier(session, "000.00.04.H26-260105-0001")
        assert now.name.endswith("Ba Đình")
        then = agency_for_dossier(session, "000.00.04.H26-240105-0001", date(2024, 1, 5))
        assert then.name.endswith("Trúc Bạch")
        assert agency_for_dossier(session, "H26.01-0001") is None
        # header lines joined, parent body first; "UBND", tone marks and case vary
        header = "UBND QUẬN BA ĐÌNH UBND PHƯỜNG TRÚC BẠCH"
        assert match_issuer(session, header, date(2021, 1, 5)).name.endswith("Trúc Bạch")
        assert match_issuer(session, "UBND THÀNH PHỐ HÀ NỘI SỞ TƯ PHÁP",
                            date(2024, 1, 1)) is None  # not how that agency's name ends
        assert match_issuer(session, "UBND TP HÀ NỘI SỞ TƯ PHÁP THÀNH PHỐ HÀ NỘI",
                            date(2024, 1, 1)).code == "000.00.12.H26"
