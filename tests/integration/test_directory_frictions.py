"""Directory frictions found on a phone and by careful readers (issue 14): an inverted fee range,
"1 specialist match", and the folded filter panel's summary of what is applied."""
from __future__ import annotations

import re

from tests.integration.test_specialists_directory import names, trio  # noqa: F401  (fixture)


def _summary(html: str) -> str:
    found = re.search(r'<summary data-testid="filter-summary">(.*?)</summary>', html, re.S)
    assert found, "the filter panel has a summary"
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_an_inverted_fee_range_is_swapped_and_said(client, trio):  # noqa: F811
    response = client.get("/specialists?fee_min=100&fee_max=80")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert names(response) == ["Alice Anchor"]  # €90: between 80 and 100, as meant
    assert 'data-testid="filter-notice"' in html
    assert "The fee range was the wrong way round; showing fees from 80 to 100." in html
    assert 'value="80"' in html and 'value="100"' in html  # the form shows the range applied


def test_a_proper_fee_range_has_no_notice(client, trio):  # noqa: F811
    html = client.get("/specialists?fee_min=80&fee_max=100").get_data(as_text=True)
    assert "filter-notice" not in html


def test_count_agrees_with_its_verb(client, trio):  # noqa: F811
    one = client.get("/specialists?specialty=anxiety").get_data(as_text=True)
    assert re.search(r"1 specialist\s+matches your filters", one)
    several = client.get("/specialists?free=1").get_data(as_text=True)
    assert re.search(r"2 specialists\s+match your filters", several)
    unfiltered = client.get("/specialists").get_data(as_text=True)
    assert "3 specialists" in unfiltered and "your filters" not in unfiltered


def test_the_folded_panel_says_which_filters_are_applied(client, trio):  # noqa: F811
    html = client.get("/specialists?specialty=anxiety&language=en&free=1&fee_max=200&q=worry").get_data(as_text=True)
    summary = _summary(html)
    assert "5 applied" in summary
    for words in ("Specialty: Anxiety", "Language: English", "Offers a free 30-minute consultation",
                  "Fee up to 200", "“worry”"):
        assert words in summary, (words, summary)
    assert "applied" not in _summary(client.get("/specialists").get_data(as_text=True))


def test_invalid_filters_are_not_summarised(client, trio):  # noqa: F811
    summary = _summary(client.get("/specialists?specialty=nonsense&fee_min=abc").get_data(as_text=True))
    assert "applied" not in summary
