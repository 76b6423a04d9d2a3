"""Real browser: a specialist picks a phone photo over the upload limit; the browser makes it
smaller before it is sent and the profile saves with it and the other edits (issue 14: it used to
end on a bare 413 page, every unsaved edit lost)."""
from __future__ import annotations

import io
import random

from PIL import Image
from playwright.sync_api import expect

from tests.factories import PASSWORD


def noisy_jpeg(path, size=(4000, 3000)) -> int:
    """A photo that compresses badly, like a real one: over 5 MB as JPEG."""
    rng = random.Random(7)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    path.write_bytes(out.getvalue())
    return len(out.getvalue())


def test_large_phone_photo_is_shrunk_in_the_browser_and_saved(page, live_server, make_specialist, tmp_path):
    profile = make_specialist(display_name="Dr Ines Vale")
    photo = tmp_path / "IMG_4032.jpg"
    size = noisy_jpeg(photo)
    assert size > live_server.app.config["MAX_PHOTO_BYTES"]

    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(profile.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/specialists/me/edit")
    page.get_by_label("Professional title").fill("Psychotherapist in Porto")
    page.get_by_label("Photo", exact=True).set_input_files(str(photo))
    expect(page.locator("[data-photo-status]")).to_contain_text("ready to upload", timeout=20000)
    sent = page.evaluate("document.querySelector('input[type=file]').files[0].size")
    assert sent <= live_server.app.config["MAX_PHOTO_BYTES"]

    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile has been saved.")).to_be_visible()
    expect(page.get_by_label("Professional title")).to_have_value("Psychotherapist in Porto")
    expect(page.get_by_role("img", name="Your current photo")).to_be_visible()
