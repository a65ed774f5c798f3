"""Documents an enterprise uploads for its booking (容缺受理): what a file is, told by its content
(never by its name or the type the browser claims), and where it is kept (a directory outside the
database: LABS_DOCUMENT_DIR, by default instance/documents)."""
from __future__ import annotations

import hashlib
import io
import os
import unicodedata
import uuid
from pathlib import Path

from flask import current_app
from PIL import Image, UnidentifiedImageError

# A phone photo of a licence or a scanned certificate of several pages runs to a few MB; 10 MiB
# takes them with room, and keeps a booking's files (at most MAX_PER_BOOKING) under 200 MiB.
LIMIT_BYTES = 10 * 1024 * 1024
# The upload's request: the file and a few form fields in multipart framing.
REQUEST_LIMIT_BYTES = LIMIT_BYTES + 64 * 1024
MAX_PER_BOOKING = 20

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
_IMAGE_TYPES = {"PNG": PNG, "JPEG": JPEG}


def content_type(data: bytes) -> str | None:
    """The document's type from its bytes: a PDF (its header, and the end-of-file marker a complete
    file carries near its end), or a PNG or JPEG that Pillow can read through; None for anything else."""
    if data.startswith(b"%PDF-"):
        return PDF if b"%%EOF" in data[-2048:] else None
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return _IMAGE_TYPES.get(kind)


def clean_filename(name: str) -> str:
    """The uploaded file's name as shown and offered for download: its last path part, printable
    characters only, at most 200 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] not in ("C", "Z") or char == " ")
    return name.strip()[:200] or "document"


def directory() -> Path:
    return Path(current_app.config["DOCUMENT_DIR"])


def store(data: bytes) -> tuple[str, str]:
    """Write the file under a new random name (written whole, then renamed into place, so a reader
    never sees half a file); returns the name and the content's SHA-256."""
    stored_as = uuid.uuid4().hex
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{stored_as}.part"
    with open(partial, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, folder / stored_as)
    return stored_as, hashlib.sha256(data).hexdigest()


def path_of(stored_as: str) -> Path:
    return directory() / stored_as
