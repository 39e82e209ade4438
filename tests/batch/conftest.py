"""Batch tests reuse the SANE test-device fixture of the scanner tests."""

from tests.scanners.conftest import sane_test  # noqa: F401
