"""Page builders: the public map, the planners' dashboard and the municipality page.

Each page is a folium (Leaflet) figure whose scripts and styles all come from the app's own
origin: folium's CDN defaults are replaced per map by the vendored copies
(:mod:`tsunagari_geo.maps.vendor`), and the page's behaviour (filters, search, 近くの活動,
tables) lives in ``static/maps/*.js``. The data is fetched by the page from the URLs in
:class:`PageLinks`: the service's OGC API collections, or GeoJSON files of the static site; the
page itself carries only a small configuration (labels, URLs, class breaks).

Example::

    >>> html = build_map_page(api_links(), MapSettings(basemap="blank"), ["出典: …"], region=load_region("saitama"))
    >>> "/assets/vendor/leaflet/leaflet.js" in html
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import branca.element
import folium
import jinja2

from tsunagari_geo.layers.simplify import WEB_SIMPLIFY_DEGREES
from tsunagari_geo.maps.data import (
    SiteData,
    flag_columns,
    table_columns,
    translated_vocabulary,
    vocabulary,
)
from tsunagari_geo.maps.i18n import (
    DEFAULT_LANGUAGE,
    FALLBACK_TO_JAPANESE,
    HTML_LANG,
    LANGUAGES,
    gettext_for,
    js_messages,
    language_links,
    translations,
)
from tsunagari_geo.maps.settings import GSI_ATTRIBUTION_HTML, MapSettings
from tsunagari_geo.maps.vendor import vendored_url
from tsunagari_geo.reference.attribution import GSI_TILES
from tsunagari_geo.region import Region

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The first zoom before the page fits the region's bounds (a prefecture on a laptop screen).
START_ZOOM = 9


def region_view(region: Region) -> tuple[tuple[float, float], tuple[tuple[float, float], ...]]:
    """The map's first centre and its bounds as Leaflet wants them ((lat, lng) pairs)."""
    west, south, east, north = region.bounds
    return ((south + north) / 2, (west + east) / 2), ((south, west), (north, east))


#: Version tag appended to our own scripts so browsers drop stale copies after an upgrade.
ASSET_VERSION = "7"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    return env


def _template(name: str, lang: str) -> jinja2.Template:
    """A page template whose ``_()`` and ``{% trans %}`` speak ``lang``."""
    env = _envs.get(lang)
    if env is None:
        # One environment per language: an overlay would share its globals (the gettext).
        env = _environment()
        env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
        _envs[lang] = env
    return env.get_template(name)


_envs: dict[str, jinja2.Environment] = {}


def query_language_links(lang: str) -> dict[str, str]:
    """The switch's links on the service: the same page with ``?lang=`` (which also sets the
    cookie, so the next page keeps the language)."""
    return {code: f"?lang={code}" for code in LANGUAGES}


@dataclass(frozen=True)
class PageLinks:
    """Where a page finds its assets, its data and the other pages.

    ``municipality_page``, ``table``, ``layer`` and ``outline`` are templates with ``{code}``,
    ``{level}`` and ``{fmt}`` placeholders. ``layer`` is a boundary layer with every coverage
    attribute (the dashboard); ``outline`` the same boundaries with their names only (the
    map draws them under the markers). Both are simplified for the web (about 20 m). ``geocode`` is None on the static site, which searches
    ``town_index`` instead. ``small_areas`` is the census small areas' points with their
    population and reach (the dashboard's small-area map).
    """

    assets: str
    activities: str
    #: The open days of the activities (:func:`tsunagari_geo.activities.schedule.open_days`).
    calendar: str
    consultations: str
    good_practices: str
    layer: str
    outline: str
    small_areas: str
    geocode: str | None
    town_index: str | None
    map_page: str
    dashboard_page: str
    municipality_page: str
    table: str


#: What the dashboard's small-area map reads of each small area (the site writes only these).
SMALL_AREA_PROPERTIES = "key_code,name,population,nearest_m,pop_reach_1km"


def api_links(root: str = "") -> PageLinks:
    """Links for pages served by the service mounted at ``root`` (``""`` at the host root)."""
    items = "?limit=10000"
    light = f"{items}&simplify={WEB_SIMPLIFY_DEGREES}"
    return PageLinks(
        assets=f"{root}/assets",
        activities=f"{root}/collections/activities/items{items}",
        calendar=f"{root}/collections/activities/calendar",
        consultations=f"{root}/collections/consultations/items{items}",
        good_practices=f"{root}/collections/good_practices/items{items}",
        layer=f"{root}/collections/{{level}}/items{light}",
        outline=f"{root}/collections/{{level}}/items{light}&properties=code,name",
        small_areas=f"{root}/collections/small_areas/items{items}&properties={SMALL_AREA_PROPERTIES}",
        geocode=f"{root}/geocode",
        town_index=None,
        map_page=f"{root}/map",
        dashboard_page=f"{root}/dashboard",
        municipality_page=f"{root}/dashboard/{{code}}",
        table=f"{root}/dashboard/table/{{level}}.{{fmt}}",
    )


def static_links(depth: int = 0, lang_dir: str = "") -> PageLinks:
    """Relative links for a page ``depth`` folders below the static site's root; the pages it
    links to are those of the language folder ``lang_dir`` (``"en/"``; ``""`` for Japanese)."""
    up = "../" * depth
    pages = f"{up}{lang_dir}"
    return PageLinks(
        assets=f"{up}assets",
        activities=f"{up}data/activities.geojson",
        calendar=f"{up}data/activities_calendar.json",
        consultations=f"{up}data/consultations.geojson",
        good_practices=f"{up}data/good_practices.geojson",
        layer=f"{up}data/{{level}}.geojson",
        outline=f"{up}data/{{level}}.geojson",
        small_areas=f"{up}data/small_areas.geojson",
        geocode=None,
        town_index=f"{up}data/towns.json",
        map_page=f"{pages}map.html",
        dashboard_page=f"{pages}dashboard.html",
        municipality_page=f"{pages}dashboard/{{code}}.html",
        table=f"{up}data/table_{{level}}.{{fmt}}",
    )


class _Page(branca.element.Figure):
    """folium's figure with the page's ``lang`` and a title (screen readers and search need
    both)."""

    _template = jinja2.Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.html_lang }}">\n<head>\n'
        '<meta charset="utf-8" />\n'
        # No favicon request: a 404 for it would be the only error in the console.
        '<link rel="icon" href="data:," />\n'
        "<title>{{ this.page_title }}</title>\n"
        "{{ this.header.render(**kwargs) }}\n"
        '</head>\n<body class="{{ this.body_class }}">\n'
        "{{ this.html.render(**kwargs) }}\n"
        "</body>\n<script>\n"
        "{{ this.script.render(**kwargs) }}\n"
        "</script>\n</html>\n"
    )

    def __init__(self, title: str, body_class: str = "", html_lang: str = "ja") -> None:
        super().__init__()
        self.page_title = title
        self.body_class = body_class
        self.html_lang = html_lang


def _map(settings: MapSettings, links: PageLinks, css: Sequence[str], region: Region) -> folium.Map:
    """A folium map whose Leaflet comes from ``links.assets`` and whose background is local
    unless the settings ask for 地理院タイル."""
    fmap = folium.Map(
        location=region_view(region)[0],
        zoom_start=START_ZOOM,
        tiles=None,
        min_zoom=7,
        max_zoom=18,
    )
    # Per-instance lists: folium's class-level defaults point at CDNs and stay untouched.
    fmap.default_js = [("leaflet", vendored_url(links.assets, "leaflet", "leaflet.js"))]
    fmap.default_css = [("leaflet_css", vendored_url(links.assets, "leaflet", "leaflet.css"))]
    for i, url in enumerate(css):
        fmap.default_css.append((f"page_css_{i}", url))
    if settings.basemap == "gsi":
        folium.TileLayer(
            tiles=settings.gsi_tile_url,
            attr=GSI_ATTRIBUTION_HTML,
            name=GSI_TILES,
            min_zoom=5,
            max_zoom=18,
            max_native_zoom=18,
        ).add_to(fmap)
    return fmap


def _own(links: PageLinks, name: str) -> str:
    return f"{links.assets}/maps/{name}?v={ASSET_VERSION}"


def _render(
    title: str,
    fmap: folium.Map,
    panel: str,
    scripts: Sequence[str],
    start: str,
    config: dict[str, Any],
    body_class: str = "",
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    page = _Page(title, body_class, HTML_LANG[lang])
    page.add_child(fmap)
    page.html.add_child(branca.element.Element(panel))
    # After Leaflet in folium's own list, so the plugins and our scripts find ``L`` defined.
    fmap.default_js = [*fmap.default_js, *((f"page_js_{i}", u) for i, u in enumerate(scripts))]
    payload = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    fmap.add_child(_Start(f"{start}({fmap.get_name()}, {payload});"))
    return _VIEWPORT.sub(VIEWPORT_META, page.render(), count=1)


#: Zoom is never blocked (WCAG 1.4.4, JIS X 8341-3 AA): folium's own viewport tag sets
#: ``maximum-scale=1.0, user-scalable=no`` and is replaced by this one.
VIEWPORT_META = '<meta name="viewport" content="width=device-width, initial-scale=1" />'
_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')


class _Start(branca.element.MacroElement):
    """The call starting the page's script, rendered after the map it receives exists."""

    _template = jinja2.Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "Start"
        self.code = code


def _base_config(
    links: PageLinks,
    settings: MapSettings,
    attribution: Sequence[str],
    region: Region,
    lang: str = DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    lines = list(attribution)
    if settings.basemap == "gsi" and GSI_TILES not in lines:
        lines.append(GSI_TILES)
    return {
        "links": asdict(links),
        "basemap": settings.basemap,
        "lang": lang,
        # The page scripts' messages in this language, from the catalogue (i18n.js_messages).
        "messages": js_messages(lang),
        "attribution": lines,
        # The map's corner: the 地理院タイル layer already credits itself there (with its link).
        "corner_attribution": [
            line for line in lines if not (settings.basemap == "gsi" and line == GSI_TILES)
        ],
        "bounds": region_view(region)[1],
    }


def build_map_page(
    links: PageLinks,
    settings: MapSettings,
    attribution: Sequence[str],
    vocab: dict[str, Any] | None = None,
    *,
    region: Region,
    lang: str = DEFAULT_LANGUAGE,
    language_hrefs: Mapping[str, str] | None = None,
) -> str:
    """The public map page (HTML) of ``region`` in ``lang`` reading its data from ``links``.

    ``vocab`` is :func:`tsunagari_geo.maps.data.vocabulary` (read from the taxonomies when
    omitted; its labels are translated here); ``attribution`` the source lines shown in the
    footer and the map's corner (official titles: never translated). ``language_hrefs`` are
    the language switch's links (``?lang=`` on the service when omitted).
    """
    tr = gettext_for(lang)
    vocab = translated_vocabulary(vocab or vocabulary(region), tr, region, lang)
    css = [_own(links, "tsunagari.css")]
    fmap = _map(settings, links, css, region)
    config = {**_base_config(links, settings, attribution, region, lang), "vocab": vocab}
    panel = _template("map_panel.html", lang).render(
        links=links,
        vocab=vocab,
        attribution=config["attribution"],
        languages=_switch(lang, language_hrefs),
    )
    scripts = [
        vendored_url(links.assets, "leaflet.markercluster", "leaflet.markercluster.js"),
        _own(links, "common.js"),
        _own(links, "map.js"),
    ]
    fmap.default_css.extend(
        [
            (
                "cluster_css",
                vendored_url(links.assets, "leaflet.markercluster", "MarkerCluster.css"),
            ),
            (
                "cluster_default_css",
                vendored_url(links.assets, "leaflet.markercluster", "MarkerCluster.Default.css"),
            ),
        ]
    )
    return _render(
        tr(region.titles["platform"]), fmap, panel, scripts, "Tsunagari.startMap", config, lang=lang
    )


def _switch(lang: str, hrefs: Mapping[str, str] | None) -> list[dict[str, Any]]:
    links = dict(hrefs or query_language_links(lang))
    return language_links(lang, lambda code: links[code])


def build_dashboard_page(
    links: PageLinks,
    settings: MapSettings,
    data: SiteData,
    *,
    lang: str = DEFAULT_LANGUAGE,
    language_hrefs: Mapping[str, str] | None = None,
) -> str:
    """The planners' dashboard (HTML) in ``lang``: choropleth with legend, metric switch and
    the table."""
    tr = gettext_for(lang)  # dynamic text: labels decided elsewhere, in the catalogue
    region = data.store.region
    css = [_own(links, "tsunagari.css")]
    fmap = _map(settings, links, css, region)
    levels = {
        level: [
            m.as_json()
            for m in data.metrics(level, settings.classification_scheme, settings.classes, lang)
        ]
        for level in ("municipalities", "units")
    }
    flags = {
        level: {k: tr(v) for k, v in flag_columns(data.layer(level)).items()}
        for level in ("municipalities", "units")
    }
    table = {
        level: [{**c, "label": tr(c["label"])} for c in table_columns(data.layer(level))]
        for level in ("municipalities", "units")
    }
    vocab = translated_vocabulary(data.vocabulary, tr, region, lang)
    config = {
        **_base_config(links, settings, data.attribution, region, lang),
        "metrics": levels,
        "flags": flags,
        "table": table,
        "vocab": {"life_stages": vocab["life_stages"]},
        # Planners' output: present only where the pages load the planners' tables.
        "plan": data.plan(lang),
        # Place names in the page's language (the layers carry the Japanese ones).
        "names": data.store.region.registry.names_in(lang) if lang == "en" else {},
        "small_areas": data.small_area_reach() is not None,
    }
    from tsunagari_geo.analysis.gap_score import GAP_FORMULA, gap_formula_values
    from tsunagari_geo.analysis.need import NEED_FORMULA, need_formula_values

    # The formulas the figures were computed with: the build's settings, not the shipped file.
    used = data.coverage_config
    panel = _template("dashboard_panel.html", lang).render(
        links=links,
        attribution=config["attribution"],
        built_at=data.built_at_in(lang),
        titles={k: tr(v) for k, v in region.titles.items()},
        need_formula=tr(NEED_FORMULA).format(**need_formula_values(used)),
        gap_formula=tr(GAP_FORMULA).format(**gap_formula_values(used)),
        plan_settings=used.plan,
        plan=config["plan"],
        reach=data.small_area_reach(),
        denominators=vocab.get("denominators", {}),
        stage_labels=vocab["life_stages"],
        census_year=data.vocabulary.get("census_year", ""),
        languages=_switch(lang, language_hrefs),
        fallback_note=lang in FALLBACK_TO_JAPANESE,
    )
    scripts = [_own(links, "common.js"), _own(links, "dashboard.js")]
    return _render(
        tr(region.titles["dashboard"]),
        fmap,
        panel,
        scripts,
        "Tsunagari.startDashboard",
        config,
        body_class="tg-dash",
        lang=lang,
    )


def build_municipality_page(
    links: PageLinks,
    data: SiteData,
    code: str,
    *,
    lang: str = DEFAULT_LANGUAGE,
    language_hrefs: Mapping[str, str] | None = None,
) -> str:
    """The page of one municipality (63-level ``code``) in ``lang``. Raises KeyError for an
    unknown code."""
    tr = gettext_for(lang)
    report = data.municipality_report(code, lang)
    return _template("municipality.html", lang).render(
        links=links,
        report=report,
        vocab=translated_vocabulary(data.vocabulary, tr, data.store.region, lang),
        attribution=data.attribution,
        css=_own(links, "tsunagari.css"),
        script=_own(links, "common.js"),
        built_at=data.built_at_in(lang),
        html_lang=HTML_LANG[lang],
        languages=_switch(lang, language_hrefs),
        fallback_note=lang in FALLBACK_TO_JAPANESE,
    )
