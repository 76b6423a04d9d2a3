"""Profile photos: validated by content with Pillow, re-encoded (metadata stripped), stored
under ``UPLOAD_FOLDER/photos`` with random names, never inside ``static/``.

Decoding is where an upload costs memory: a 170 KB flat-colour PNG can declare 6,300 × 6,300
RGBA pixels (~160 MB once decoded). So the header is read first (Pillow opens lazily: format,
size and mode are known before any pixel is decoded) and the upload is refused unless

- it is at most ``MAX_SOURCE_PIXELS`` pixels, whatever the format, and
- the memory Pillow and its codecs will hold to decode and shrink it stays within
  ``MAX_WORKING_BYTES`` (see ``DecodePlan.working_bytes``).

JPEGs are decoded at 1/2, 1/4 or 1/8 scale (``Image.draft``: libjpeg scales while decoding) when
the result is still at least as large as the 1024 px output, so a phone photo never exists in
memory at full size. The output is a new image made of the pixels alone: no comment, EXIF, XMP,
ICC profile or PNG text reaches it.
"""
from __future__ import annotations

import io
import math
import os
import re
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.domain import DomainError

OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # the only decoders Pillow may try on an upload
ACCEPTED_FORMATS = frozenset({*OPEN_FORMATS, "MPO"})  # MPO: a phone JPEG holding extra images (depth, gain map)
JPEG_FORMATS = ("JPEG", "MPO")
ACCEPTED_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "CMYK"})
MAX_DIMENSION = 1024  # longest side after re-encoding
MAX_SOURCE_PIXELS = 40_000_000  # refuse decompression bombs before decoding
MAX_WORKING_BYTES = 100 * 1024 * 1024  # memory one upload may take while it is decoded and shrunk
FILENAME_RE = re.compile(r"^[0-9a-f]{32}\.jpg$")
NOT_AN_IMAGE = "This file is not an image we can use. Please upload a JPEG, PNG, WebP or GIF photo."
UNSUPPORTED_COLOURS = "We can't process this photo's colour format. Please save it as a JPEG and upload it again."

# Bytes per pixel of Pillow's in-memory image (RGB is stored as 4 bytes a pixel, like RGBA).
_STORAGE_BYTES = {"1": 1, "L": 1, "P": 1}
# Resizing an image with alpha first makes a premultiplied full-size copy (RGBA -> RGBa).
_RESIZE_COPY_MODES = frozenset({"LA", "RGBA"})
# Pillow's WebP decoder keeps two canvases in libwebp and hands the frame over as a bytes object.
_WEBP_EXTRA_BYTES = 12
# Codec buffers and the work on the 1024 px result (measured at 3-4 MB).
_FIXED_OVERHEAD_BYTES = 4 * 1024 * 1024


class PhotoError(DomainError, ValueError):
    """The upload can't be used as a profile photo (message is safe to show)."""


def photo_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def max_photo_bytes() -> int:
    return int(current_app.config.get("MAX_PHOTO_BYTES", 5 * 1024 * 1024))


def reencode_photo(stream: IO[bytes], max_bytes: int) -> bytes:
    """Return the upload re-encoded as a JPEG of at most MAX_DIMENSION px, without metadata.

    Raises PhotoError for files that are too big (in bytes, in pixels or in the memory decoding
    them would take) or are not images (whatever their name says).
    """
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PhotoError(f"The photo is larger than {_size(max_bytes)}. Please choose a smaller image.")
    if not data:
        raise PhotoError("The photo file is empty.")
    try:
        with _open(data) as probe:  # reads the header only
            _check_header(probe)
            probe.verify()
        with _open(data) as image:
            source_size = image.size
            if image.format in JPEG_FORMATS:
                image.draft(image.mode, _output_size(source_size))  # libjpeg decodes at 1/2, 1/4 or 1/8 scale
            _check_working_memory(DecodePlan.of(image, source_size, data))
            image.load()
            image.thumbnail((MAX_DIMENSION, MAX_DIMENSION))
            upright = ImageOps.exif_transpose(image)  # after shrinking, so the copy it makes is small
            rgb = _flatten(upright)
        out = io.BytesIO()
        _pixels_only(rgb).save(out, "JPEG", quality=85, optimize=True, progressive=True)
    except PhotoError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own limit (far above ours) fired while opening
        raise PhotoError(_too_many_pixels()) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(NOT_AN_IMAGE) from exc
    return out.getvalue()


@dataclass(frozen=True)
class DecodePlan:
    """What decoding one upload will take, known from its header before any pixel is decoded."""

    format: str
    mode: str
    source_size: tuple[int, int]  # in the file
    decode_size: tuple[int, int]  # in memory (smaller for a JPEG decoded at reduced scale)
    jpeg_sampling: tuple[tuple[int, int], ...] = ()  # (horizontal, vertical) factor of each component
    jpeg_scans: int = 1  # 2 stands for "more than one"

    @classmethod
    def of(cls, image: Image.Image, source_size: tuple[int, int], data: bytes) -> DecodePlan:
        """``image`` is opened, not loaded, with any JPEG draft already applied."""
        if image.format not in JPEG_FORMATS:
            return cls(image.format or "", image.mode, source_size, image.size)
        sampling = tuple((h, v) for _, h, v, _ in getattr(image, "layer", ())) or ((1, 1),) * 4
        return cls(image.format or "", image.mode, source_size, image.size, sampling, _jpeg_scan_count(data))

    def working_bytes(self) -> int:
        """Memory Pillow and its codecs hold at the peak of decoding and shrinking this image:

        - the decoded image at Pillow's in-memory layout (1 byte a pixel for 1/L/P, 4 otherwise:
          RGB is stored as 4 bytes like RGBA);
        - for LA/RGBA, the premultiplied full-size copy ``resize`` makes;
        - what ``thumbnail`` allocates while the decoded image is still alive;
        - for WebP, the two canvases libwebp decodes into and the bytes object Pillow copies through;
        - for JPEGs with more than one scan (progressive, or sequential non-interleaved), libjpeg's
          buffer of every DCT coefficient of the full-size image (2 bytes each), even when it
          decodes at reduced scale;
        - a fixed allowance for codec buffers and the work on the 1024 px result.

        Checked against the peak RSS growth of a fresh process (Pillow 13, Linux) for PNG, JPEG
        (baseline, progressive, CMYK), GIF and WebP: at most 0.5 MB under it, and mostly a few per cent above.
        """
        width, height = self.decode_size
        storage = _STORAGE_BYTES.get(self.mode, 4)
        copies = 2 if self.mode in _RESIZE_COPY_MODES else 1
        total = _FIXED_OVERHEAD_BYTES + width * height * storage * copies + _thumbnail_bytes(self.decode_size, storage)
        if self.format == "WEBP":
            total += width * height * _WEBP_EXTRA_BYTES
        if self.format in JPEG_FORMATS and self.jpeg_scans > 1:
            total += _jpeg_coefficient_bytes(self.source_size, self.jpeg_sampling)
        return total

    def resized(self, scale: float) -> DecodePlan:
        """The same kind of image with its sides multiplied by ``scale``."""
        width, height = self.source_size
        source = (max(1, int(width * scale)), max(1, int(height * scale)))
        decode = _jpeg_draft_size(source) if self.format in JPEG_FORMATS else source
        return replace(self, source_size=source, decode_size=decode)

    def largest_fitting_megapixels(self) -> int:
        """Whole megapixels an image like this one may have and still fit ``MAX_WORKING_BYTES``."""
        scale = 1.0
        while scale > 0.05:
            scale *= 0.95
            smaller = self.resized(scale)
            if smaller.working_bytes() <= MAX_WORKING_BYTES:
                return smaller.source_size[0] * smaller.source_size[1] // 1_000_000
        return 0


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=OPEN_FORMATS)


def _check_header(image: Image.Image) -> None:
    """Refuse from what the header declares, before any pixel is decoded."""
    if image.format not in ACCEPTED_FORMATS:
        raise PhotoError(NOT_AN_IMAGE)
    width, height = image.size
    if width * height > MAX_SOURCE_PIXELS:
        raise PhotoError(_too_many_pixels(width, height))
    if image.mode not in ACCEPTED_MODES:  # e.g. 16-bit greyscale PNG ("I;16")
        raise PhotoError(UNSUPPORTED_COLOURS)


def _check_working_memory(plan: DecodePlan) -> None:
    if plan.working_bytes() <= MAX_WORKING_BYTES:
        return
    width, height = plan.source_size
    megapixels = plan.largest_fitting_megapixels()
    smaller = f"at most {megapixels} megapixels" if megapixels else "a smaller size"
    jpeg = "" if plan.format in JPEG_FORMATS else " or save it as a JPEG"
    raise PhotoError(f"The photo is too large for us to process ({width:,} × {height:,} pixels). "
                     f"Please resize it to {smaller}{jpeg} and upload it again.")


def _output_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size ``thumbnail`` will give, rounded up (a JPEG draft must not decode smaller)."""
    width, height = size
    scale = min(1.0, MAX_DIMENSION / max(width, height))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _thumbnail_bytes(size: tuple[int, int], storage: int) -> int:
    """Intermediates of ``Image.thumbnail`` (reducing_gap=2): an integer ``reduce`` when the image is
    more than twice the output size, then a resize whose horizontal pass is output-wide, input-high."""
    width, height = size
    out_width, out_height = _output_size(size)
    factor_x, factor_y = int(width / out_width / 2) or 1, int(height / out_height / 2) or 1
    reduced = 0
    if factor_x > 1 or factor_y > 1:
        width, height = math.ceil(width / factor_x), math.ceil(height / factor_y)
        reduced = width * height * storage
    return reduced + out_width * height * storage


def _jpeg_draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size ``JpegImageFile.draft(mode, _output_size(size))`` decodes at."""
    out_width, out_height = _output_size(size)
    fits = min(size[0] // out_width, size[1] // out_height)
    scale = next((s for s in (8, 4, 2) if fits >= s), 1)
    return math.ceil(size[0] / scale), math.ceil(size[1] / scale)


_ENTROPY_END = re.compile(rb"\xff(?![\x00\xd0-\xd7])")  # inside scan data 0xFF is followed by 00 or RSTn


def _jpeg_scan_count(data: bytes) -> int:
    """Start-of-scan markers in the first image of a JPEG, counting up to 2.

    One scan: libjpeg decodes row by row. More (progressive, or one scan per colour component):
    it first buffers every coefficient of the image. Anything unexpected counts as 2.
    """
    pos, scans, size = 2, 0, len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            return 2
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:  # end of image
            return scans
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker == 0xDA:  # start of scan: skip the entropy-coded data after its header
            scans += 1
            if scans > 1:
                return scans
            end = _ENTROPY_END.search(data, pos)
            if end is None:
                return scans
            pos = end.start()
    return scans


def _jpeg_coefficient_bytes(source_size: tuple[int, int], sampling: tuple[tuple[int, int], ...]) -> int:
    h_max = max(max(1, h) for h, _ in sampling)
    v_max = max(max(1, v) for _, v in sampling)
    mcu_columns = math.ceil(source_size[0] / (8 * h_max))
    mcu_rows = math.ceil(source_size[1] / (8 * v_max))
    blocks = sum(mcu_columns * max(1, h) * mcu_rows * max(1, v) for h, v in sampling)
    return blocks * 64 * 2  # 64 coefficients of 2 bytes a block


def _too_many_pixels(width: int | None = None, height: int | None = None) -> str:
    dimensions = f" ({width:,} × {height:,})" if width and height else ""
    return (f"The photo has too many pixels{dimensions}. "
            f"Please upload an image under {MAX_SOURCE_PIXELS // 1_000_000} megapixels.")


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


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image with the pixels and nothing else.

    The JPEG encoder writes ``image.info["comment"]`` as a COM segment even when not asked to, and
    ``info`` carries whatever the upload held (JPEG comments, PNG text chunks, EXIF, XMP, ICC).
    """
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


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
