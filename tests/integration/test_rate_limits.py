"""Rate limits on expensive or abusable actions count per account."""
from __future__ import annotations

import pytest

from tests.integration.test_specialists_profile import EDIT, complete_form


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_profile_edits_are_rate_limited_per_account(client, auth, make_specialist):
    profile = make_specialist()
    auth.login_as(profile.user)
    statuses = [client.post(EDIT, data=complete_form(profile, title=f"Psychologist {n}")).status_code
                for n in range(11)]
    assert 429 not in statuses[:10]
    assert statuses[10] == 429
    assert client.get(EDIT).status_code == 200  # reading the editor is not limited
