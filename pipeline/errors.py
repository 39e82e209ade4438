"""How pipeline failures are told apart: permanent (bad input: never retried) or transient."""

from __future__ import annotations

import re

from ocr.pages import InputError
from signing.errors import SigningError


class PermanentError(Exception):
    """The document itself cannot be processed; retrying will not help."""


class InvalidTransition(RuntimeError):
    """A stage or a person tried to move a document along an edge the state machine lacks."""


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PermanentError | InputError | SigningError)


# A temp folder of ours inside a message ("/tmp/sohoa-ocr-x1y2/original/scan.pdf"): only the
# file's name means anything to the reader.
_TEMP_PATH = re.compile(r"(?:/[^\s'\"():]*)?/sohoa-[a-z]+-[A-Za-z0-9_-]+(?:/[^\s'\"():/]+)*/"
                        r"([^\s'\"():/]+)")
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")


def describe(exc: BaseException, name: str | None = None) -> str:
    """One line naming the problem (and the file `name`, if the message does not), for the
    catalog and the `--json` output: no temp paths, no object reprs, no library internals."""
    text = str(exc).strip() or exc.__class__.__name__
    text = text.splitlines()[0]
    if type(exc).__module__.split(".")[0] == "cv2" or text.startswith("OpenCV("):
        text = "the page image could not be processed (the image library rejected it)"
    text = " ".join(_OBJECT_REPR.sub("", _TEMP_PATH.sub(r"\1", text)).split())
    if name and name not in text:
        text = f"{name}: {text}"
    return text[:2000]
