"""Profile photos: validated by content with Pillow, re-encoded (metadata stripped), stored
under ``UPLOAD_FOLDER/photos`` with random names, never inside ``static/``.
"""
from __future__ import annotations

import io
import os
import re
import secrets
import time
from pathlib import Path
from typing import IO

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_DIMENSION = 1024  # longest side after re-encoding
MAX_SOURCE_PIXELS = 40_000_000  # refuse decompression bombs before decoding
FILENAME_RE = re.compile(r"^[0-9a-f]{32}\.jpg$")
NOT_AN_IMAGE = "This file is not an image we can use. Please upload a JPEG, PNG, WebP or GIF photo."


class PhotoError(ValueError):
    """The upload can't be used as a profile photo (message is safe to show)."""


def photo_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def max_photo_bytes() -> int:
    return int(current_app.config.get("MAX_PHOTO_BYTES", 5 * 1024 * 1024))


def reencode_photo(stream: IO[bytes], max_bytes: int) -> bytes:
    """Return the upload re-encoded as a JPEG of at most MAX_DIMENSION px, without metadata.

    Raises PhotoError for files that are too big or are not images (whatever their name says).
    """
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PhotoError(f"The photo is larger than {_size(max_bytes)}. Please choose a smaller image.")
    if not data:
        raise PhotoError("The photo file is empty.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            probe.verify()
        if image_format not in ACCEPTED_FORMATS:
            raise PhotoError(NOT_AN_IMAGE)
        if width * height > MAX_SOURCE_PIXELS:
            raise PhotoError("The photo has too many pixels. Please upload an image under 40 megapixels.")
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((MAX_DIMENSION, MAX_DIMENSION))
            rgb = _flatten(upright)
            out = io.BytesIO()
            # Saving without exif=/icc_profile= drops the metadata (location, camera, …).
            rgb.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(NOT_AN_IMAGE) from exc
    return out.getvalue()


def _size(n_bytes: int) -> str:
    return f"{n_bytes / (1024 * 1024):g} MB" if n_bytes >= 1024 * 1024 else f"{max(1, n_bytes // 1024)} KB"


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on a white background (transparent PNG/GIF areas would otherwise turn black)."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def new_photo_filename() -> str:
    return f"{secrets.token_hex(16)}.jpg"


def store_photo(filename: str, data: bytes) -> None:
    """Write atomically (a reader never sees half a file)."""
    target = photo_folder() / filename
    temporary = target.with_suffix(".part")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def delete_photo(filename: str | None) -> None:
    if filename and FILENAME_RE.match(filename):
        (photo_folder() / filename).unlink(missing_ok=True)


def is_photo_filename(filename: str) -> bool:
    return bool(FILENAME_RE.match(filename))


def prune_unreferenced_photos(referenced: set[str], min_age_seconds: int = 3600) -> int:
    """Delete stored photos no profile references (left by replaced photos or rolled-back saves).

    Files younger than ``min_age_seconds`` are kept: their upload may still be committing.
    """
    removed = 0
    cutoff = time.time() - min_age_seconds
    for path in photo_folder().iterdir():
        if path.name in referenced or path.stat().st_mtime > cutoff:
            continue
        if FILENAME_RE.match(path.name) or path.suffix == ".part":
            path.unlink(missing_ok=True)
            removed += 1
    return removed
