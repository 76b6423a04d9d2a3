"""The test harness's cheap password hashing (tests/password_hashing.py) swaps only the cost:
production keeps argon2id at full strength, and the login rules run the same with either hasher."""
from __future__ import annotations

from argon2 import Type

from marketplace.auth import services
from tests.password_hashing import PRODUCTION_HASHER, TEST_HASHER


def test_production_hashes_with_argon2id_at_full_cost():
    # argon2-cffi's defaults (RFC 9106's low-memory profile): what a fresh import of the service uses.
    assert PRODUCTION_HASHER is not TEST_HASHER
    assert PRODUCTION_HASHER.type is Type.ID
    assert PRODUCTION_HASHER.time_cost >= 3 and PRODUCTION_HASHER.memory_cost >= 64 * 1024
    assert PRODUCTION_HASHER.hash("x").startswith("$argon2id$v=19$m=65536,t=3,")


def test_the_tests_check_passwords_with_the_cheap_hasher_of_the_same_algorithm():
    assert services._hasher is TEST_HASHER, "tests/conftest.py installs the cheap hasher"
    assert services.hash_password("a-calm-river-at-dawn").startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert services._DUMMY_HASH.startswith("$argon2id$v=19$m=8,t=1,p=1$")  # unknown addresses cost the same

