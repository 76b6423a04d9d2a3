"""Test-process speed-up: passwords are hashed with argon2id at its smallest cost, not production's.

Production's hasher (argon2-cffi's defaults: argon2id, 3 passes over 64 MiB, 4 lanes) is
deliberately slow: ≈ 0.2 s per hash *and* per check on a CI core. The suite logs in through the
login form (and signs up, changes and resets passwords) thousands of times, and every check paid
that price — a fifth of the time of the HTTP-heavy modules. The tests are about who may log in,
never about how long argon2 takes, so the test process swaps in a hasher of the same algorithm with
the smallest parameters argon2 allows (and a dummy hash made by it, so an unknown address still costs
the same check as a known one). ``PRODUCTION_HASHER`` keeps the real one;
``tests/unit/test_password_hashing.py`` holds its strength and the swap. Production (and the
gunicorn subprocess of test_production_settings.py) is not touched.
"""
from __future__ import annotations

from argon2 import PasswordHasher, Type

from marketplace.auth import services

PRODUCTION_HASHER: PasswordHasher = services._hasher
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)


def install() -> None:
    if services._hasher is TEST_HASHER:
        return
    # Fail loudly (not silently slow) if the service stops keeping its hasher where we swap it.
    assert isinstance(services._hasher, PasswordHasher) and isinstance(services._DUMMY_HASH, str)
    services._hasher = TEST_HASHER
    services._DUMMY_HASH = TEST_HASHER.hash("not-a-real-password-used-for-timing")
