"""Photo uploads through the profile editor: a decompression bomb is refused with a reason and
nothing stored; a phone photo is stored upright, at 1024 px, without its comment or EXIF."""
from __future__ import annotations

import io

from PIL import Image

from tests.integration.test_specialists_profile import EDIT, complete_form, reload


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def test_flat_6300_rgba_png_is_refused_and_nothing_is_stored(client, auth, draft, tmp_path):
    bomb = encode(Image.new("RGBA", (6300, 6300), (200, 30, 30, 255)), "PNG")
    assert len(bomb) < 200_000
    auth.login_as(draft.user)
    response = client.post(EDIT, data=complete_form(draft, title="Changed", photo=(io.BytesIO(bomb), "me.png")),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The photo is too large for us to process (6,300 × 6,300 pixels)" in page
    assert "save it as a JPEG" in page
    profile = reload(draft)
    assert profile.photo_filename is None and profile.title is None
    folder = tmp_path / "uploads" / "photos"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_phone_photo_is_stored_upright_without_comment_or_exif(client, auth, draft):
    exif = Image.Exif()
    exif[0x010F] = "SECRET-CAMERA"
    exif[0x0112] = 6  # rotate 90° clockwise to display
    upload = encode(Image.linear_gradient("L").resize((4032, 3024)).convert("RGB"), "JPEG", quality=90,
                    exif=exif, comment=b"SECRET home address")
    auth.login_as(draft.user)
    response = client.post(EDIT, data=complete_form(draft, photo=(io.BytesIO(upload), "IMG_0001.jpg")),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    stored = client.get(f"/specialists/photos/{reload(draft).photo_filename}").data
    assert Image.open(io.BytesIO(stored)).size == (768, 1024)
    assert b"SECRET" not in stored and b"\xff\xfe" not in stored and b"Exif\x00\x00" not in stored


# --- a photo over the size limit (issue 14: it used to end on a bare 413 page, every edit lost) ----

def test_over_limit_photo_is_a_field_error_and_the_other_edits_are_kept(client, auth, draft, tmp_path):
    big = b"\xff\xd8\xff\xe0" + bytes(7 * 1024 * 1024)  # 7 MB "phone photo", over MAX_PHOTO_BYTES (5 MB)
    auth.login_as(draft.user)
    response = client.post(EDIT, data=complete_form(draft, title="Psychotherapist in Leipzig",
                                                    photo=(io.BytesIO(big), "IMG_2040.jpg")),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="photo-error"' in page and "The photo is larger than 5 MB" in page
    assert 'value="Psychotherapist in Leipzig"' in page  # the edit is still in the form
    profile = reload(draft)
    assert profile.photo_filename is None and profile.title is None  # nothing saved
    folder = tmp_path / "uploads" / "photos"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_only_the_editor_takes_large_bodies(client, auth, draft):
    auth.login_as(draft.user)
    response = client.post("/contact", data={"message": "x" * (7 * 1024 * 1024)})
    assert response.status_code == 413
    assert "That file is too large" in response.get_data(as_text=True)


def test_a_body_over_the_editors_own_limit_is_still_refused_politely(app, client, auth, draft):
    auth.login_as(draft.user)
    huge = bytes(app.config["PROFILE_FORM_MAX_BYTES"] + 1024)
    response = client.post(EDIT, data=complete_form(draft, photo=(io.BytesIO(huge), "huge.jpg")),
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "That file is too large" in response.get_data(as_text=True)
