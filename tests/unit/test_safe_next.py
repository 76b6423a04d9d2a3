import pytest

from marketplace.security import is_safe_next


@pytest.mark.parametrize("target", ["/", "/specialists/anna?x=1", "/questions/new", "/a/b#frag"])
def test_local_paths_are_safe(target):
    assert is_safe_next(target)


@pytest.mark.parametrize(
    "target",
    [
        None, "", "//evil.example", "https://evil.example/", "http:/evil.example", "/\\evil.example",
        "\\\\evil.example", "javascript:alert(1)", "evil.example", "/\x00/x", " //evil.example",
        "/\t/evil.example", "///evil.example",
    ],
)
def test_foreign_or_malformed_targets_are_refused(target):
    assert not is_safe_next(target)
