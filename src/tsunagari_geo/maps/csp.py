"""Content-Security-Policy of a page, with a hash for each of its inline scripts and styles.

folium writes the map's setup as inline ``<script>`` blocks and its sizing as inline
``<style>`` blocks. Rather than allow every inline script (``'unsafe-inline'``), the policy
lists the SHA-256 of each block the page actually holds, computed from the rendered HTML, so
a script injected into the page (through data shown in it, say) does not run. Everything
else comes from the page's own origin ('self'); the one exception is the 地理院タイル host in
``img-src`` when the base map is ``gsi``.

Inline ``style="…"`` attributes are allowed (``style-src-attr 'unsafe-inline'``): the legend
swatches and marker badges built by the page scripts colour themselves that way, and a style
attribute cannot run code. Inline event handlers (``onclick=``) are not allowed: the pages
bind their handlers from their scripts.

Example::

    >>> csp = content_security_policy('<script>var a = 1;</script>')
    >>> "script-src 'self' 'sha256-" in csp and "'unsafe-inline'" not in csp.split(";")[1]
    True
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

_INLINE = re.compile(r"<(script|style)(\s[^>]*)?>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def inline_hashes(html: str) -> tuple[list[str], list[str]]:
    """The CSP hash sources of the inline scripts and of the inline styles in ``html``.

    A ``<script src=…>`` is not inline (it is covered by 'self'); its empty body is skipped.
    """
    scripts: list[str] = []
    styles: list[str] = []
    for match in _INLINE.finditer(html):
        tag, attributes, body = match.group(1).lower(), match.group(2) or "", match.group(3)
        if tag == "script" and "src=" in attributes.lower():
            continue
        target = scripts if tag == "script" else styles
        digest = _digest(body)
        if digest not in target:
            target.append(digest)
    return scripts, styles


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL or URL template (``{z}`` placeholders allowed)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@functools.lru_cache(maxsize=128)
def content_security_policy(
    html: str, image_origins: tuple[str, ...] = (), *, for_meta: bool = False
) -> str:
    """The policy for the page ``html``; ``image_origins`` may serve its images (base map).

    ``for_meta`` leaves out what a ``<meta http-equiv>`` policy may not carry
    (``frame-ancestors``), for the static site where no response header can be set.
    The result is cached per page: the service renders each page once per dataset.
    """
    scripts, styles = inline_hashes(html)
    directives = [
        "default-src 'none'",
        " ".join(["script-src 'self'", *scripts]),
        " ".join(["style-src 'self'", *styles]),
        "style-src-attr 'unsafe-inline'",
        " ".join(["img-src 'self' data: blob:", *image_origins]),
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ]
    if not for_meta:
        directives.append("frame-ancestors 'none'")
    return "; ".join(directives)


def with_meta_policy(html: str, image_origins: Sequence[str] = ()) -> str:
    """``html`` with its policy in ``<head>`` (for static hosting), after the charset
    declaration, which must stay within the first 1,024 bytes, and before anything it
    governs."""
    policy = content_security_policy(html, tuple(image_origins), for_meta=True)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}" />'
    anchor = re.search(r"<meta\s+charset[^>]*>", html, re.IGNORECASE) or re.search(
        r"<head[^>]*>", html, re.IGNORECASE
    )
    if anchor is None:
        return meta + html
    return html[: anchor.end()] + "\n" + meta + html[anchor.end() :]
