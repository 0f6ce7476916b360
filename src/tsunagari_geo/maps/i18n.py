"""The pages' languages: one gettext catalogue for every string a page shows.

The message ids are the Japanese source text itself (the templates and scripts stay readable
as Japanese, and Japanese needs no translation file). ``locale/<lang>/LC_MESSAGES/messages.po``
holds English (``en``, complete) and やさしい日本語 (``easy``, complete for the public map; the
dashboard falls back to the Japanese text). The ``.po`` files are read directly at start-up
(:func:`babel.messages.pofile.read_po`), so the wheel carries them as they are and nothing is
compiled at build time.

Where the strings come from (``babel.cfg`` maps each kind of file to its extractor):

- Jinja templates (``{% trans %}``, ``_()``) and Python (``_()``, ``gettext()``);
- the page scripts ``static/maps/*.js`` (``_('…')``): the page embeds the translations of these
  for its language as JSON (:func:`js_messages`), so no script keeps a dictionary of its own;
- labels that are data (theme, life-stage and circumstance names in the taxonomies, the
  region's titles, the label tables of :mod:`tsunagari_geo.maps.data` and of
  :mod:`tsunagari_geo.geocode.labels`), pulled out by :func:`extract_label_tables` and
  :func:`extract_label_files`, so they stay where they are decided.

Adding a string: write it in Japanese inside ``_()`` (template, Python or page script), then
``make messages`` (``pybabel extract`` + ``pybabel update``) and fill its ``msgstr`` in
``en`` (and ``easy`` for the public map). ``tests/test_i18n.py`` fails until every message of
``messages.pot`` has its English, and every message of the map its やさしい日本語.

Example::

    >>> gettext_for("en")("検索")
    'Search'
    >>> choose_language(query="easy", cookie=None, accept_language="en-US,en;q=0.8")
    'easy'
"""

from __future__ import annotations

import ast
import csv
import io
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import IO, Any

from babel import Locale
from babel.core import negotiate_locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
#: The page languages, the default first: 日本語, English, やさしい日本語.
LANGUAGES = ("ja", "en", "easy")
DEFAULT_LANGUAGE = "ja"
#: ``<html lang>`` of each: やさしい日本語 is Japanese to a screen reader and a browser.
HTML_LANG = {"ja": "ja", "en": "en", "easy": "ja"}
#: Languages whose planners' pages (dashboard, municipality page) are not translated: they
#: show the Japanese text with a note saying so (the public map is complete in each).
FALLBACK_TO_JAPANESE = frozenset({"easy"})
#: The switch's labels, each in its own language (never translated).
LANGUAGE_NAMES = {"ja": "日本語", "en": "English", "easy": "やさしい にほんご"}
#: The cookie the switch sets; the query parameter ``?lang=`` sets it too.
COOKIE = "tsunagari_lang"
#: What a browser's Accept-Language is matched against (やさしい日本語 is chosen, never sent).
_NEGOTIABLE = {"ja": "ja", "en": "en"}
#: The files whose messages make the public map (what ``easy`` must translate completely).
MAP_SOURCES = (
    "maps/templates/map_panel.html",
    "maps/templates/language_switch.html",
    "maps/static/maps/map.js",
    "maps/static/maps/common.js",
    "maps/static/maps/search.js",
    "maps/pages.py",
    "maps/data.py",
    "geocode/labels.py",
    "resources/taxonomies/",
    "region/data/",
)

Gettext = Callable[[str], str]


def normalize_language(value: str | None) -> str | None:
    """``value`` if it names a page language (``ja``, ``en``, ``easy``; case and blanks
    ignored), else None."""
    lang = (value or "").strip().lower()
    return lang if lang in LANGUAGES else None


def choose_language(*, query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=``, else the switch's cookie, else the browser's
    Accept-Language (Babel's ``negotiate_locale``), else Japanese."""
    for chosen in (query, cookie):
        lang = normalize_language(chosen)
        if lang:
            return lang
    preferred = _accepted(accept_language or "")
    found = negotiate_locale(preferred, list(_NEGOTIABLE), sep="-")
    return _NEGOTIABLE.get(found or "", DEFAULT_LANGUAGE)


def _accepted(header: str) -> list[str]:
    """Accept-Language's tags by quality, highest first (``en-US,en;q=0.8`` → en-US, en);
    the primary subtag follows each, so ``en-GB`` alone still matches ``en``."""
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, i, tag.strip()))
    out: list[str] = []
    for _, _, tag in sorted(weighted):
        for candidate in (tag, tag.split("-")[0]):
            if candidate.lower() not in (c.lower() for c in out):
                out.append(candidate)
    return out


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalog(lang: str) -> Catalog:
    """The ``.po`` catalogue of ``lang`` as Babel reads it (``ja`` has none: an empty one)."""
    path = po_path(lang)
    if lang == DEFAULT_LANGUAGE or not path.is_file():
        return Catalog(locale="ja")
    with path.open("rb") as handle:
        return read_po(handle, locale=_babel_locale(lang))


def _babel_locale(lang: str) -> Locale:
    # Babel knows no やさしい日本語: its plural rules and formats are Japanese ones.
    return Locale.parse("en" if lang == "en" else "ja")


@cache
def translations(lang: str) -> NullTranslations:
    """gettext translations of ``lang``; a message without a translation shows its Japanese
    source (which is also how ``ja`` reads every message)."""
    if lang == DEFAULT_LANGUAGE:
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog(lang))
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext_for(lang: str) -> Gettext:
    """``gettext`` of ``lang`` (an unknown language reads as Japanese)."""
    return translations(normalize_language(lang) or DEFAULT_LANGUAGE).gettext


def js_messages(lang: str) -> dict[str, str]:
    """Message id → translation of every message the page scripts use (``_('…')`` in
    ``static/maps/*.js``), for the page to embed; empty for Japanese (the scripts' own text)."""
    if lang == DEFAULT_LANGUAGE:
        return {}
    out: dict[str, str] = {}
    for message in catalog(lang):
        if message.id and message.string and _from_script(message.locations):
            out[str(message.id)] = str(message.string)
    return out


def _from_script(locations: Sequence[tuple[str, Any]]) -> bool:
    return any(name.endswith(".js") for name, _ in locations)


def translate_labels(labels: Mapping[str, Any], gettext: Gettext) -> dict[str, Any]:
    """A code → label table with every text label translated (other values kept)."""
    return {k: gettext(v) if isinstance(v, str) else v for k, v in labels.items()}


def language_links(current: str, href: Callable[[str], str]) -> list[dict[str, Any]]:
    """The switch's entries: language, its own name, its ``lang`` attribute, link, current."""
    return [
        {
            "lang": lang,
            "name": LANGUAGE_NAMES[lang],
            "html_lang": HTML_LANG[lang],
            "href": href(lang),
            "current": lang == current,
        }
        for lang in LANGUAGES
    ]


# --- extraction: labels that are data, pulled into messages.pot by `pybabel extract` -------


def extract_label_tables(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[Any]:
    """Babel extractor: the Japanese strings of the module-level tables named in the
    ``tables`` option (``tables = STATUS_LABELS, LEVEL_LABELS``) of a Python module, and with
    ``python = true`` its ``_()`` calls too (Babel gives a file to one extractor only).

    The labels stay where they are decided (``geocode/labels.py``, ``maps/data.py``); only
    their text (non-ASCII constants: keys are codes) becomes a message.
    """
    wanted = {t.strip() for t in str(options.get("tables", "")).split(",") if t.strip()}
    source = fileobj.read()
    if str(options.get("python", "")).lower() == "true":
        yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)  # type: ignore[arg-type]
    for node in ast.parse(source).body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        names = {t.id for t in targets if isinstance(t, ast.Name)}
        if not names & wanted or value is None:
            continue
        for child in ast.walk(value):
            is_text = isinstance(child, ast.Constant) and isinstance(child.value, str)
            if is_text and not child.value.isascii():  # type: ignore[attr-defined]
                yield child.lineno, "", child.value, []  # type: ignore[attr-defined]


def extract_label_files(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor for labels kept as data: the ``*label_ja`` columns of a taxonomy CSV,
    or the ``pref_name`` and ``[titles]`` of a region's ``region.toml``."""
    del keywords, comment_tags, options
    text = fileobj.read().decode("utf-8")
    name = getattr(fileobj, "name", "")
    if str(name).endswith(".toml"):
        data = tomllib.loads(text)
        lines = text.splitlines()
        values = [data.get("pref_name", ""), *data.get("titles", {}).values()]
        for value in values:
            if isinstance(value, str) and value:
                line = next((i for i, ln in enumerate(lines, 1) if f'"{value}"' in ln), 1)
                yield line, "", value, []
        return
    for i, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        for column, value in row.items():
            label = (value or "").strip()
            if column and column.endswith("label_ja") and label:
                yield i, "", label, []
