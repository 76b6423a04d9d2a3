"""The one Markdown → safe HTML path (Markdown, then nh3 sanitising)."""
from __future__ import annotations

import re
import unicodedata

import markdown as md
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code", "pre",
    "h2", "h3", "h4", "a", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def render_markdown(source: str | None) -> Markup:
    """Render user Markdown to HTML that is safe to embed (scripts, handlers, styles removed)."""
    if not source:
        return Markup("")
    html = md.markdown(source, extensions=["sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above


def strip_control_chars(value: str) -> str:
    """Remove NUL and other control characters (keeps newlines and tabs)."""
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def slugify(text: str, max_length: int = 60) -> str:
    normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", normalized.lower()).strip("-")
    return slug[:max_length].strip("-") or "item"
