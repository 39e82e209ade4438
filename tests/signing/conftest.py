"""Fixtures for signing tests: a TEST PKI and small PDFs made at test time."""

from __future__ import annotations

import pytest

from signing.dev_pki import ensure_dev_pki
from signing.signer import SignerProvider
from tests.signing.helpers import UNIT_CODE, UNIT_NAME, make_pdf


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="session")
def pki(keys_dir):
    return ensure_dev_pki(keys_dir)


@pytest.fixture(scope="session")
def provider(keys_dir, pki):
    return SignerProvider("dev", keys_dir)


@pytest.fixture(scope="session")
def unit_signer(provider):
    return provider.for_unit(UNIT_CODE, UNIT_NAME)


@pytest.fixture(scope="session")
def signed_pdf(unit_signer):
    return unit_signer.sign(
        make_pdf(), reason="Bản sao điện tử từ sổ gốc", location="Hà Nội",
        signer_name=UNIT_NAME,
    )
