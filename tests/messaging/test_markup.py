"""Markdown rendering and sanitizing: what survives, what is neutralized."""

from __future__ import annotations

import pytest

from messaging.markup import mention_handles, render


def test_basic_markdown_renders() -> None:
    html = render("**Sandbags** at *Easton* depot\n\n- 20,000 requested\n- `urgent`")
    assert "<strong>Sandbags</strong>" in html and "<em>Easton</em>" in html
    assert "<li>20,000 requested</li>" in html and "<code>urgent</code>" in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<svg><script>alert(1)</script></svg>",
        "<iframe src='https://evil.example'></iframe>",
        "<style>body{display:none}</style>",
        "<math><mi>x</mi></math>",
        "<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>",
    ],
)
def test_raw_html_is_shown_as_text_never_as_markup(source: str) -> None:
    html = render(source)
    for tag in ("<script", "<img", "<svg", "<iframe", "<style", "<math", "<noscript"):
        assert tag not in html


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "data:text/html,<b>x</b>", "vbscript:x", "JaVaScRiPt:alert(1)"]
)
def test_dangerous_link_schemes_are_dropped(href: str) -> None:
    html = render(f"[click]({href})")
    assert "javascript:" not in html.lower() and "data:" not in html and "vbscript:" not in html.lower()


def test_safe_links_are_kept_with_rel_and_bare_urls_are_linked() -> None:
    html = render(
        "See [the map](https://lakeland.example/map) or https://water.lakeland.gov/notice and mailto:ops@x.example"
    )
    assert 'href="https://lakeland.example/map"' in html
    assert 'href="https://water.lakeland.gov/notice"' in html
    assert html.count('rel="nofollow noopener noreferrer"') >= 2


def test_code_blocks_are_not_linked_or_interpreted() -> None:
    html = render("```\n<b>https://x.lakeland.gov</b>\n```")
    assert "<pre><code>" in html and "&lt;b&gt;" in html and "<a " not in html


def test_mentions_are_found_outside_code() -> None:
    assert mention_handles("@jordan.reyes and @Harbor EM please; not `@ignored`") == ["jordan.reyes", "Harbor EM"]
    assert mention_handles("email me at ops@x.example") == []
