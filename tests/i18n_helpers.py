"""What the language tests count as Japanese left on a page that should be in English."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

#: Kana and kanji (a full-width bracket or 「・」 alone is punctuation, not Japanese).
JAPANESE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u3400-\u4dbf\u4e00-\u9fff]")


def japanese_left(html: str) -> list[str]:
    """Text and labels of a page with kana or kanji outside what is kept as written: member
    data (``[data-member]``: names, organisations, good practices' titles and awards), the
    source attributions (official titles), the language switch's own names, and the example
    address of the address search (the geocoder reads Japanese addresses)."""
    soup = BeautifulSoup(html, "html.parser")
    for kept in soup.select(".tg-attribution li, .tg-languages a, [data-member]"):
        kept.decompose()
    address = soup.select_one("#tg-address")
    if address is not None:
        del address["placeholder"]
    for script in soup.find_all(["script", "style"]):
        script.decompose()
    left = [t.strip() for t in soup.find_all(string=True) if JAPANESE.search(t)]
    left += [
        f"{tag.name}[{name}]={tag[name]}"
        for tag in soup.find_all(True)
        for name in ("aria-label", "title", "alt", "placeholder", "content")
        if tag.has_attr(name) and JAPANESE.search(str(tag[name]))
    ]
    return left
