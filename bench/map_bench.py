"""Time to first drawn markers (map, 10,000 activities) and to the drawn choropleth (dashboard).

Runs the real service under uvicorn on a loopback port with a public layer file holding
``--activities`` synthetic activities (the sample rows repeated at random 大字・町丁目 points of
the store, so the spread follows real settlement), and opens the pages in headless Chromium
(Debian's ``/usr/bin/chromium`` through Playwright). A MutationObserver installed before any
page script records ``performance.now()`` (milliseconds since navigation start) when the first
marker icon, or the first municipality polygon, enters the DOM.

The peer, measured the same way in the same run, is folium's own way of doing it: a page
with ``folium.plugins.MarkerCluster`` holding every marker inline, and a ``folium.Choropleth``
with the 63 polygons inline (their CDN links rewritten to the same vendored files, since
nothing may leave the machine). Target: under 2 s each for ours.

    .venv/bin/python bench/map_bench.py [--activities 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd

from tsunagari_api.settings import ApiSettings
from tsunagari_geo.layers.build import BuildInputs, build_layers
from tsunagari_geo.layers.published import LayerSet, write_layers
from tsunagari_geo.maps.vendor import VENDOR_DIR, ensure_vendored
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import Store, open_store

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the one server-start helper, shared with the tests
from server_helpers import free_port, serve_command, serve_env, serving  # noqa: E402
from test_browser_fixtures import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (Debian's Chromium)

#: Recorded before any page script: when the first marker icon / polygon enters the DOM.
OBSERVER = """
window.__firstAt = {};
new MutationObserver(() => {
  for (const [key, selector] of [['marker', '.leaflet-marker-icon'], ['area', 'path.leaflet-interactive']]) {
    if (!(key in window.__firstAt) && document.querySelector(selector)) {
      window.__firstAt[key] = performance.now();
    }
  }
}).observe(document, {subtree: true, childList: true});
"""


def synthetic_layers(store: Store, n: int, folder: Path) -> Path:
    """The sample pipeline's public layers with ``n`` activities at random town points."""
    built = build_layers(
        store,
        inputs=BuildInputs.samples(),
        out=folder / "sample.gpkg",
        planner_out=folder / "sample_planner.gpkg",
    )
    del built
    public = LayerSet.open(folder / "sample.gpkg", "public")
    sample = public.frames["activities"]
    sample = sample[sample.geometry.notna()].reset_index(drop=True)
    rng = np.random.default_rng(20241126)
    rows = sample.iloc[rng.integers(0, len(sample), n)].reset_index(drop=True)
    towns = store.towns.iloc[rng.integers(0, len(store.towns), n)].reset_index(drop=True)
    rows["id"] = [f"bench-{i:05d}" for i in range(n)]
    rows["muni_code"] = towns["muni_code"].to_numpy()
    rows["unit_code"] = towns["unit_code"].to_numpy()
    jitter = rng.normal(0, 0.002, (n, 2))
    geometry = gpd.points_from_xy(
        towns["lng"].to_numpy() + jitter[:, 0], towns["lat"].to_numpy() + jitter[:, 1], crs=4326
    )
    activities = gpd.GeoDataFrame(pd.DataFrame(rows.drop(columns="geometry")), geometry=geometry)
    frames = {**public.frames, "activities": activities}
    return write_layers(
        folder / "layers.gpkg", frames, kind="public", attribution=public.attribution
    )


#: folium's templates call jQuery (``$(html)[0]`` for popups, ``$(document).ready``), which
#: it loads from a CDN; this stand-in does those two things and nothing else.
_JQUERY_SHIM = """<script>
window.$ = function (x) {
  if (typeof x === 'string') { var t = document.createElement('template'); t.innerHTML = x.trim(); return [t.content.firstChild]; }
  return { ready: function (f) { if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', f); else f(); } };
};
</script>"""


def _with_jquery_shim(html: str) -> str:
    return html.replace("<head>", "<head>" + _JQUERY_SHIM + '<link rel="icon" href="data:,">', 1)


def peer_pages(layers: Path, folder: Path) -> tuple[Path, Path]:
    """folium's own pages: every marker / polygon inline, CDN links rewritten to the vendor."""
    import folium
    from folium.plugins import MarkerCluster

    ensure_vendored()
    public = LayerSet.open(layers, "public").frames
    vendor = "vendor"
    js = [("leaflet", f"{vendor}/leaflet/leaflet.js")]
    css = [("leaflet_css", f"{vendor}/leaflet/leaflet.css")]

    fmap = folium.Map(location=(36.0, 139.35), zoom_start=9, tiles=None)
    fmap.default_js, fmap.default_css = js, css
    fmap.options["max_zoom"] = 18  # clustering needs it and there is no tile layer to set it
    cluster = MarkerCluster()
    cluster.default_js = [
        ("markerclusterjs", f"{vendor}/leaflet.markercluster/leaflet.markercluster.js")
    ]
    cluster.default_css = [
        ("markerclustercss", f"{vendor}/leaflet.markercluster/MarkerCluster.css"),
        ("markerclusterdefaultcss", f"{vendor}/leaflet.markercluster/MarkerCluster.Default.css"),
    ]
    cluster.add_to(fmap)
    for name, point in zip(
        public["activities"]["name"], public["activities"].geometry, strict=True
    ):
        folium.Marker((point.y, point.x), popup=str(name)).add_to(cluster)
    map_page = folium.Figure().add_child(fmap)
    (folder / "peer_map.html").write_text(_with_jquery_shim(map_page.render()), encoding="utf-8")

    dmap = folium.Map(location=(36.0, 139.35), zoom_start=9, tiles=None)
    dmap.default_js, dmap.default_css = js, css
    municipalities = public["municipalities"][["code", "name", "gap_score", "geometry"]]
    choropleth = folium.Choropleth(
        geo_data=municipalities.to_json(),
        data=municipalities,
        columns=["code", "gap_score"],
        key_on="feature.properties.code",
        fill_color="YlOrRd",
    )
    # Its legend needs d3 from a CDN; the polygons draw without it.
    if choropleth.color_scale is not None:
        del choropleth._children[choropleth.color_scale.get_name()]
    choropleth.add_to(dmap)
    dash = folium.Figure().add_child(dmap)
    (folder / "peer_dashboard.html").write_text(_with_jquery_shim(dash.render()), encoding="utf-8")
    link = folder / "vendor"
    if not link.exists():
        link.symlink_to(VENDOR_DIR)
    return folder / "peer_map.html", folder / "peer_dashboard.html"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        del format, args


def measure(browser: object, url: str, key: str, runs: int) -> tuple[float, list[str]]:
    """Median ms from navigation start to the first ``key`` element, over fresh contexts."""
    times = []
    external: set[str] = set()
    origin = "/".join(url.split("/")[:3])
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1366, "height": 850})  # type: ignore[attr-defined]
        context.add_init_script(OBSERVER)
        page = context.new_page()
        page.on("request", lambda r: external.add(r.url) if not r.url.startswith(origin) else None)
        page.goto(url)
        page.wait_for_function(f"'{key}' in window.__firstAt", timeout=60_000)
        times.append(page.evaluate(f"window.__firstAt['{key}']"))
        context.close()
    return statistics.median(times), sorted(external)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    store_path = get_settings().store
    store = open_store(store_path)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        layers = synthetic_layers(store, args.activities, folder)
        peer_map, peer_dash = peer_pages(layers, folder)
        print(f"prepared {args.activities} activities in {time.perf_counter() - t0:.1f} s")

        port = free_port()
        settings = ApiSettings(
            store=store_path,
            layers=layers,
            planner_layers=folder / "none.gpkg",
            tiles_dir=folder / "tiles",
        )
        env = serve_env(settings, BASEMAP="blank")
        static = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
        threading.Thread(target=static.serve_forever, daemon=True).start()
        static_base = f"http://127.0.0.1:{static.server_address[1]}"
        base = f"http://127.0.0.1:{port}"
        try:
            with serving(serve_command(port), f"{base}/healthz", env, timeout=120):
                # Warm the service's response cache, and note what each page weighs.
                data_bytes = len(
                    httpx.get(
                        f"{base}/collections/activities/items?limit=10000", timeout=60
                    ).content
                )
                page_bytes = len(httpx.get(f"{base}/map").content)
                peer_bytes = peer_map.stat().st_size
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                    ours_map, ext1 = measure(browser, f"{base}/map", "marker", args.runs)
                    ours_dash, ext2 = measure(browser, f"{base}/dashboard", "area", args.runs)
                    peer_m, _ = measure(
                        browser, f"{static_base}/{peer_map.name}", "marker", args.runs
                    )
                    peer_d, _ = measure(
                        browser, f"{static_base}/{peer_dash.name}", "area", args.runs
                    )
                    browser.close()
        finally:
            static.shutdown()

    print(f"chromium, median of {args.runs} cold loads, ms from navigation start")
    print(
        f"map, first markers ({args.activities} activities): tsunagari {ours_map:7.0f}  "
        f"folium MarkerCluster inline {peer_m:7.0f}  ratio {peer_m / ours_map:5.2f}x  "
        f"target < 2000: {'OK' if ours_map < 2000 else 'MISSED'}"
    )
    print(
        f"dashboard, drawn choropleth (63):        tsunagari {ours_dash:7.0f}  "
        f"folium Choropleth inline   {peer_d:7.0f}  ratio {peer_d / ours_dash:5.2f}x  "
        f"target < 2000: {'OK' if ours_dash < 2000 else 'MISSED'}"
    )
    print(f"requests to other origins: {len(ext1) + len(ext2)}")
    print(
        f"map page HTML: tsunagari {page_bytes / 1e3:.0f} kB (+ {data_bytes / 1e6:.1f} MB GeoJSON "
        f"fetched, gzip on the wire) vs folium inline {peer_bytes / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
