"""What a profile photo upload may cost, and what survives its re-encoding.

The rules (marketplace/specialists/photos.py):

- at most MAX_PHOTO_BYTES (5 MB) and 40 megapixels declared in the header;
- the memory that decoding and shrinking will take, judged from the header before any pixel is
  decoded, at most 100 MiB (``DecodePlan.working_bytes``): Pillow's in-memory layout (RGB is 4 bytes
  a pixel), the premultiplied copy resizing makes of RGBA/LA, thumbnail's intermediates, libwebp's
  canvases, libjpeg's coefficient buffer for multi-scan JPEGs. Over it: refused, naming a size that fits;
- JPEGs decode at 1/2, 1/4 or 1/8 scale when that still covers the 1024 px output (a 12 MP phone
  photo decodes at 2016 × 1512);
- the output JPEG holds pixels only: no COM, no APPn but the JFIF APP0 (no Exif/XMP APP1, no ICC APP2).

Tests that need the new internals import them inside the test, so that on the code before these
rules each test fails on its own assertion rather than on an import.
"""
from __future__ import annotations

import io
import math
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFile, PngImagePlugin

from marketplace.specialists.photos import PhotoError, reencode_photo

MB = 1024 * 1024
LIMIT = 5 * MB  # MAX_PHOTO_BYTES in production
REPO = Path(__file__).resolve().parents[2]


# --- images ---------------------------------------------------------------------------------------

def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


@pytest.fixture(scope="module")
def flat_rgba_6300() -> bytes:
    """The measured attack: 170 KB on the wire, 6,300 × 6,300 RGBA (159 MB) once decoded."""
    return encode(Image.new("RGBA", (6300, 6300), (200, 30, 30, 255)), "PNG")


def phone_photo() -> Image.Image:
    """A 12 MP (4032 × 3024) picture with enough texture to weigh what a phone JPEG weighs."""
    size = (4032, 3024)
    shapes = Image.effect_mandelbrot((504, 378), (-2.0, -1.2, 1.0, 1.2), 64).resize(size, Image.Resampling.BILINEAR)
    return Image.merge("RGB", (shapes, Image.effect_noise(size, 12), Image.linear_gradient("L").resize(size)))


def phone_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SECRET-CAMERA"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS
    return exif


@pytest.fixture(scope="module")
def phone_jpeg() -> bytes:
    """Baseline, 4:2:0, quality 90, EXIF with GPS and orientation, a comment: what people upload."""
    data = encode(phone_photo(), "JPEG", quality=90, exif=phone_exif(), comment=b"SECRET-COMMENT")
    assert 2 * MB < len(data) < LIMIT
    return data


def png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring a size, with a few bytes of pixel data (refusal must come from the header)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def jpeg_markers(data: bytes) -> list[tuple[int, bytes]]:
    """Every (marker, payload) of a JPEG file, scans skipped."""
    assert data[:2] == b"\xff\xd8"
    pos, found = 2, []
    while pos < len(data):
        assert data[pos] == 0xFF, f"no marker at {pos}"
        marker = data[pos + 1]
        if marker == 0xD9:
            return found
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        found.append((marker, data[pos + 4:pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:  # entropy-coded data: 0xFF only as FF00 or a restart marker
            while data[pos] != 0xFF or data[pos + 1] == 0x00 or 0xD0 <= data[pos + 1] <= 0xD7:
                pos += 1
    return found


def assert_pixels_only(jpeg: bytes) -> None:
    markers = jpeg_markers(jpeg)
    assert 0xFE not in [m for m, _ in markers], "a COM (comment) segment survived"
    app = [(m, payload[:14]) for m, payload in markers if 0xE0 <= m <= 0xEF]
    assert app == [(0xE0, app[0][1])] and app[0][1].startswith(b"JFIF\x00"), f"metadata segments survived: {app}"
    assert b"SECRET" not in jpeg


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str | None, tuple[int, int]]]:
    """(format, size) of every image Pillow decodes from here on."""
    seen: list[tuple[str | None, tuple[int, int]]] = []
    load = ImageFile.ImageFile.load

    def recording_load(self: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        if self.tile:
            seen.append((self.format, self.size))
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return seen


# --- refused before decoding ------------------------------------------------------------------------

def test_flat_6300_rgba_png_is_refused_before_any_pixel_is_decoded(flat_rgba_6300, decoded) -> None:
    assert len(flat_rgba_6300) < 200_000
    with pytest.raises(PhotoError, match=r"too large for us to process \(6,300 × 6,300 pixels\)") as refused:
        reencode_photo(io.BytesIO(flat_rgba_6300), LIMIT)
    assert decoded == []
    assert "save it as a JPEG" in str(refused.value)


def test_the_size_a_refusal_names_is_accepted(flat_rgba_6300) -> None:
    with pytest.raises(PhotoError) as refused:
        reencode_photo(io.BytesIO(flat_rgba_6300), LIMIT)
    found = re.search(r"at most (\d+) megapixels", str(refused.value))
    assert found, str(refused.value)
    side = math.isqrt(int(found.group(1)) * 1_000_000)
    fitting = encode(Image.new("RGBA", (side, side), (200, 30, 30, 255)), "PNG")
    assert Image.open(io.BytesIO(reencode_photo(io.BytesIO(fitting), LIMIT))).size == (1024, 1024)


@pytest.mark.parametrize(("width", "height", "shown"), [
    (7000, 6000, "(7,000 × 6,000)"),  # over our 40 MP
    (20000, 20000, ""),  # over Pillow's own decompression-bomb limit, which fires while opening
])
def test_too_many_pixels_is_refused_from_the_header(width, height, shown) -> None:
    with pytest.raises(PhotoError, match="has too many pixels") as refused:
        reencode_photo(io.BytesIO(png_header_only(width, height)), LIMIT)
    assert shown in str(refused.value) and "40 megapixels" in str(refused.value)


def test_16_bit_greyscale_is_refused_with_a_reason_and_not_decoded(decoded) -> None:
    data = encode(Image.new("I;16", (2000, 1500), 300), "PNG")
    with pytest.raises(PhotoError, match="colour format"):
        reencode_photo(io.BytesIO(data), LIMIT)
    assert decoded == []


def test_progressive_jpeg_counts_the_coefficients_libjpeg_buffers(decoded) -> None:
    """A progressive JPEG is decoded from a buffer of every DCT coefficient (here 4:4:4, 6 bytes a
    pixel: 122 MB for 20 MP), whatever the scale it is drawn at; the same pixels in one scan are cheap."""
    flat = Image.new("RGB", (4500, 4500), (40, 90, 200))
    progressive = encode(flat, "JPEG", progressive=True, subsampling=0, quality=95)
    baseline = encode(flat, "JPEG", subsampling=0, quality=95)
    with pytest.raises(PhotoError, match=r"too large for us to process \(4,500 × 4,500 pixels\)"):
        reencode_photo(io.BytesIO(progressive), LIMIT)
    assert decoded == []
    assert Image.open(io.BytesIO(reencode_photo(io.BytesIO(baseline), LIMIT))).size == (1024, 1024)
    assert decoded == [("JPEG", (1125, 1125))]  # 1/4 scale


def test_webp_counts_the_decoder_canvases() -> None:
    """Pillow's WebP decoder holds 16 bytes a pixel: a 12 MP WebP would take ~190 MB."""
    with pytest.raises(PhotoError, match=r"\(4,000 × 3,000 pixels\).*save it as a JPEG"):
        reencode_photo(io.BytesIO(encode(Image.new("RGB", (4000, 3000), "teal"), "WEBP")), LIMIT)
    small = reencode_photo(io.BytesIO(encode(Image.new("RGB", (2000, 1500), "teal"), "WEBP")), LIMIT)
    assert Image.open(io.BytesIO(small)).size == (1024, 768)


# --- accepted, at reduced cost -------------------------------------------------------------------

def test_12_megapixel_phone_jpeg_is_accepted_and_decoded_at_half_scale(phone_jpeg, decoded) -> None:
    out = Image.open(io.BytesIO(reencode_photo(io.BytesIO(phone_jpeg), LIMIT)))
    assert out.format == "JPEG" and out.size == (768, 1024)  # upright: the EXIF orientation was applied
    assert decoded == [("JPEG", (2016, 1512))]  # never 4032 × 3024 in memory


def test_phone_jpeg_holding_extra_images_is_accepted(phone_jpeg) -> None:
    """Phones write MPO (a JPEG followed by a depth map or gain map); Pillow calls the format "MPO"."""
    photo = Image.open(io.BytesIO(phone_jpeg))
    mpo = encode(photo, "MPO", save_all=True, append_images=[Image.new("L", (640, 480))], quality=90, exif=phone_exif())
    assert Image.open(io.BytesIO(mpo)).format == "MPO" and len(mpo) < LIMIT
    out = reencode_photo(io.BytesIO(mpo), LIMIT)
    assert Image.open(io.BytesIO(out)).size == (768, 1024)
    assert_pixels_only(out)


def test_progressive_phone_jpeg_is_accepted(phone_jpeg) -> None:
    progressive = encode(Image.open(io.BytesIO(phone_jpeg)), "JPEG", quality=85, progressive=True)
    assert Image.open(io.BytesIO(reencode_photo(io.BytesIO(progressive), LIMIT))).size == (1024, 768)


def test_reduced_scale_decoding_looks_like_full_decoding(phone_jpeg) -> None:
    out = Image.open(io.BytesIO(reencode_photo(io.BytesIO(phone_jpeg), LIMIT))).convert("RGB")
    full = Image.open(io.BytesIO(phone_jpeg))
    full.load()  # full size, then the same shrink and rotation
    full = full.transpose(Image.Transpose.ROTATE_270)
    full.thumbnail((1024, 1024))
    histogram = ImageChops.difference(out, full.convert("RGB")).histogram()
    mse = sum((value % 256) ** 2 * count for value, count in enumerate(histogram)) / (out.size[0] * out.size[1] * 3)
    assert 10 * math.log10(255 ** 2 / mse) > 35  # dB: differences invisible at profile-photo size


def test_jpeg_scan_count() -> None:
    from marketplace.specialists.photos import _jpeg_scan_count

    picture = Image.new("RGB", (300, 200), "navy")
    assert _jpeg_scan_count(encode(picture, "JPEG", exif=phone_exif(), comment=b"x")) == 1
    assert _jpeg_scan_count(encode(picture, "JPEG", progressive=True)) == 2
    assert _jpeg_scan_count(encode(picture, "MPO", save_all=True, append_images=[picture])) == 1  # first image only
    assert _jpeg_scan_count(b"\xff\xd8\x00garbage") == 2  # unreadable: assume the expensive layout


def test_jpeg_draft_size_matches_pillow() -> None:
    from marketplace.specialists.photos import _jpeg_draft_size, _output_size

    for size in [(4032, 3024), (3024, 4032), (6300, 6300), (40000, 1000), (2048, 1024), (1000, 700), (8000, 6000)]:
        image = Image.open(io.BytesIO(encode(Image.new("L", size), "JPEG")))
        image.draft("L", _output_size(size))
        assert image.size == _jpeg_draft_size(size), size


# --- memory, measured in a fresh process ---------------------------------------------------------

MEASURE = r"""
import io, os, resource, sys
from PIL import Image
from marketplace.specialists.photos import PhotoError, reencode_photo
for fmt in ("PNG", "JPEG", "WEBP", "GIF"):  # load the plugins and codecs before measuring
    warm = io.BytesIO(); Image.new("RGB", (64, 64)).save(warm, fmt); reencode_photo(io.BytesIO(warm.getvalue()), 1 << 20)
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    if os.fork() == 0:  # a forked child's peak RSS starts at its RSS when forked
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            reencode_photo(io.BytesIO(data), len(data)); outcome = "accepted"
        except PhotoError:
            outcome = "refused"
        print(outcome, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024, flush=True)
        os._exit(0)
    os.wait()
"""

MEASURED = {  # case: how to make the upload (None: a module fixture)
    "flat 6300 × 6300 RGBA PNG": None,
    "12 MP phone JPEG": None,
    "12 MP progressive JPEG": lambda: encode(phone_photo(), "JPEG", quality=85, progressive=True),
    "9 MP RGBA PNG": lambda: encode(Image.new("RGBA", (3464, 2598), (9, 9, 9, 99)), "PNG"),
    "12 MP RGB PNG": lambda: encode(Image.new("RGB", (4000, 3000), (1, 2, 3)), "PNG"),
    "24 MP GIF": lambda: encode(Image.new("P", (6000, 4000), 3), "GIF"),
    "3 MP WebP": lambda: encode(Image.new("RGB", (2000, 1500), "teal"), "WEBP"),
}


@pytest.fixture(scope="module")
def measured(tmp_path_factory, flat_rgba_6300, phone_jpeg) -> dict[str, tuple[bytes, str, int]]:
    """case: (upload, outcome, peak RSS growth in bytes), each re-encoded in a freshly forked process."""
    if not sys.platform.startswith("linux"):
        pytest.skip("ru_maxrss is in KiB on Linux")
    fixtures = {"flat 6300 × 6300 RGBA PNG": flat_rgba_6300, "12 MP phone JPEG": phone_jpeg}
    uploads = {case: make() if make else fixtures[case] for case, make in MEASURED.items()}
    folder = tmp_path_factory.mktemp("uploads")
    paths = [folder / f"upload-{number}" for number in range(len(uploads))]
    for path, data in zip(paths, uploads.values()):
        path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", MEASURE, *map(str, paths)], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert len(lines) == len(uploads), done.stdout + done.stderr
    return {case: (data, outcome, int(grown)) for (case, data), (outcome, grown) in zip(uploads.items(), lines)}


@pytest.mark.parametrize(("case", "outcome", "at_most"), [
    ("flat 6300 × 6300 RGBA PNG", "refused", 8 * MB),  # was accepted, at ~480 MB
    ("12 MP phone JPEG", "accepted", 40 * MB),  # was ~110 MB
    ("12 MP progressive JPEG", "accepted", 70 * MB),
    ("9 MP RGBA PNG", "accepted", 100 * MB),  # near the budget
])
def test_peak_memory_of_one_upload(measured, case, outcome, at_most) -> None:
    _, result, grown = measured[case]
    assert result == outcome
    assert grown <= at_most, f"{case}: peak RSS grew {grown / MB:.0f} MB"


@pytest.mark.parametrize("case", [case for case in MEASURED if not case.startswith("flat")])
def test_memory_model_is_not_below_what_decoding_takes(measured, case) -> None:
    from marketplace.specialists.photos import JPEG_FORMATS, MAX_WORKING_BYTES, DecodePlan, _output_size

    data, outcome, grown = measured[case]
    with Image.open(io.BytesIO(data)) as image:
        source = image.size
        if image.format in JPEG_FORMATS:
            image.draft(image.mode, _output_size(source))
        modelled = DecodePlan.of(image, source, data).working_bytes()
    assert outcome == "accepted" and modelled <= MAX_WORKING_BYTES
    assert grown <= modelled + 2 * MB, f"{case}: measured {grown / MB:.1f} MB, modelled {modelled / MB:.1f} MB"


# --- nothing but pixels -----------------------------------------------------------------------------

def test_jpeg_comment_is_not_copied() -> None:
    """Pillow writes ``image.info["comment"]`` on save even when not asked to."""
    upload = encode(Image.new("RGB", (300, 200), "navy"), "JPEG", comment=b"SECRET home address")
    assert b"SECRET" in upload
    assert_pixels_only(reencode_photo(io.BytesIO(upload), LIMIT))


def test_png_text_chunks_do_not_become_a_jpeg_comment() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("comment", "SECRET note")  # read into info["comment"], which the JPEG encoder writes
    text.add_text("Author", "SECRET author", zip=True)
    text.add_itxt("Description", "SECRET description")
    upload = encode(Image.new("RGB", (300, 200), "navy"), "PNG", pnginfo=text)
    assert_pixels_only(reencode_photo(io.BytesIO(upload), LIMIT))


def test_phone_jpeg_keeps_no_metadata(phone_jpeg) -> None:
    assert b"SECRET-CAMERA" in phone_jpeg and b"SECRET-COMMENT" in phone_jpeg
    assert_pixels_only(reencode_photo(io.BytesIO(phone_jpeg), LIMIT))


@pytest.mark.parametrize(("fmt", "mode"), [("JPEG", "RGB"), ("JPEG", "L"), ("JPEG", "CMYK"), ("WEBP", "RGB"), ("PNG", "RGBA")])
def test_no_metadata_segment_survives(fmt, mode) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    params: dict[str, object] = {"exif": phone_exif(), "xmp": b"<x:xmpmeta>SECRET-XMP</x:xmpmeta>"}
    if mode == "RGB":
        params["icc_profile"] = icc
    if fmt == "JPEG":
        params["comment"] = b"SECRET-COMMENT"
    upload = encode(Image.new(mode, (300, 200)), fmt, **params)
    assert b"SECRET" in upload
    assert_pixels_only(reencode_photo(io.BytesIO(upload), LIMIT))
