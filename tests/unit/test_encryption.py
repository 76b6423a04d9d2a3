"""Keys of the notes encrypted at rest: parsing, the development key, refusal at start."""
from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet

from marketplace import create_app
from marketplace.consultations.models import EXTERNAL_CALENDAR_URL_MAX, EXTERNAL_CALENDAR_URL_TOKEN_MAX
from marketplace.encryption import KeyConfigurationError, development_key, parse_keys, token_length


def test_the_development_key_is_created_once_private_and_stable(tmp_path):
    first = development_key(str(tmp_path))
    assert development_key(str(tmp_path)) == first
    Fernet(first.encode())  # a valid key
    key_file = tmp_path / "notes.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["notes.key"]  # no temporary file left behind


def test_keys_are_comma_separated_and_a_bad_one_is_named_by_position_not_shown():
    good = Fernet.generate_key().decode()
    assert len(parse_keys(f" {good} , {Fernet.generate_key().decode()} ,")) == 2
    with pytest.raises(KeyConfigurationError, match="key 2 is not a Fernet key") as caught:
        parse_keys(f"{good},secret-but-wrong")
    assert "secret-but-wrong" not in str(caught.value)
    with pytest.raises(KeyConfigurationError, match="empty"):
        parse_keys(" , ")


def test_a_malformed_key_stops_the_app_at_start_in_any_environment():
    with pytest.raises(KeyConfigurationError, match="key 1"):
        create_app("testing", {"NOTES_KEYS": "short"})


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 31, 32, 100, 1999, 2000, 8000])
def test_token_length_is_the_length_of_a_real_token(size):
    assert len(Fernet(Fernet.generate_key()).encrypt(b"x" * size)) == token_length(size)


def test_the_calendar_address_column_holds_the_token_of_the_longest_address():
    """2000 characters of the widest UTF-8 (4 bytes each): the longest token an address can give."""
    longest = ("\U0001d11e" * EXTERNAL_CALENDAR_URL_MAX).encode("utf-8")
    assert len(Fernet(Fernet.generate_key()).encrypt(longest)) == EXTERNAL_CALENDAR_URL_TOKEN_MAX
