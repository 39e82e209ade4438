"""Imports every module that defines catalog tables, so Alembic and tests see the whole schema.

A part that adds tables defines them in its own module on `storage.catalog.Base` and adds one
import line here.
"""

import api.models  # noqa: F401
import pipeline.review  # noqa: F401
import quotas.models  # noqa: F401
from storage import agencies, catalog  # noqa: F401
