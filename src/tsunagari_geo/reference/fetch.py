"""Download the public sources onto a machine that lacks them, resumably and with checksums.

The layout written is the one :mod:`.sources` reads for the region (``[sources]`` in
region.toml: ``municipal_boundaries/``, ``towns/api/ja.json``, ``towns/api/ja/埼玉県/*.json``
for 埼玉県). Each file goes to ``NAME.part`` first;
a rerun continues a ``.part`` with an HTTP Range request and skips every file whose SHA-256
already stands in ``SHA256SUMS``. Census population needs an e-Stat application id, so it is
not fetched: :data:`POPULATION_HINT` tells the user what to put where.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from tsunagari_geo.errors import FetchError
from tsunagari_geo.region import Region, default_region

#: 国土数値情報 行政区域データ N03, 2022-01-01 edition, one zip per prefecture code.
N03_URL_TEMPLATE = (
    "https://nlftp.mlit.go.jp/ksj/gml/data/N03/N03-2022/N03-20220101_{pref_code}_GML.zip"
)
#: Geolonia 住所データ, v1 API layout.
GEOLONIA_API = "https://japanese-addresses.geolonia.com/api"
MANIFEST = "SHA256SUMS"


def n03_url_for(region: Region) -> str:
    """The N03 zip of the region's prefecture."""
    return N03_URL_TEMPLATE.format(pref_code=region.pref_code)


def population_hint(region: Region) -> str:
    """What to put where, since the census is not fetched (e-Stat needs an application id)."""
    src = region.sources
    if src.census_workbook is not None:
        text = (
            "人口データ（令和2年国勢調査）は自動では取得しません。e-Stat の「都道府県・市区町村別の"
            f"主な結果」（Excel）を {src.census_workbook} に置いてください"
        )
        if src.small_areas is not None:
            text += f"。小地域（町丁・字等）の境界データの属性表（.dbf）は {src.small_areas} に"
        return text + "。"
    return (
        "人口データ（令和2年国勢調査）は e-Stat の API キーが必要なため自動では取得しません。"
        f"{src.census} に muni_code, muni_name, unit_type, pop_total, "
        "households_total, pop_0_14, pop_65plus, pop_30_44, foreign_pop の列で置いてください"
        "（e-Stat「市区町村のすがた」から作れます）。"
    )


@dataclass
class FetchResult:
    downloaded: int = 0
    skipped: int = 0


class _Manifest:
    """``SHA256SUMS`` in the destination: what was fully downloaded and verified."""

    def __init__(self, dest: Path) -> None:
        self.path = dest / MANIFEST
        self.entries: dict[str, str] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                digest, _, rel = line.partition("  ")
                if rel:
                    self.entries[rel] = digest

    def is_done(self, dest: Path, rel: str) -> bool:
        path = dest / rel
        return rel in self.entries and path.exists() and _sha256(path) == self.entries[rel]

    def add(self, rel: str, digest: str) -> None:
        self.entries[rel] = digest
        text = "".join(f"{d}  {r}\n" for r, d in sorted(self.entries.items()))
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_sources(
    dest: Path,
    *,
    region: Region | None = None,
    n03_url: str | None = None,
    towns_api: str = GEOLONIA_API,
    client: httpx.Client | None = None,
    expected_sha256: dict[str, str] | None = None,
) -> FetchResult:
    """Download the region's N03 and town dictionary into ``dest``; returns what was done.

    ``region`` defaults to the default region, ``n03_url`` to its prefecture's N03 zip.

    ``expected_sha256`` maps a relative path to a checksum it must have (a mismatch raises
    :class:`FetchError` and the file is not kept).
    """
    region = region or default_region()
    n03_url = n03_url or n03_url_for(region)
    pref = region.pref_name
    dest.mkdir(parents=True, exist_ok=True)
    manifest = _Manifest(dest)
    result = FetchResult()
    expected = expected_sha256 or {}
    own_client = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(30.0), follow_redirects=True)
    try:

        def get(url: str, rel: str) -> Path:
            if manifest.is_done(dest, rel):
                result.skipped += 1
                return dest / rel
            digest = _download(http, url, dest / rel)
            want = expected.get(rel)
            if want and want != digest:
                (dest / rel).unlink(missing_ok=True)
                raise FetchError(
                    f"checksum mismatch: expected {want}, got {digest}", path=url, value=rel
                )
            manifest.add(rel, digest)
            result.downloaded += 1
            return dest / rel

        n03_rel = f"{region.sources.boundaries}/{n03_url.rsplit('/', 1)[-1]}"
        n03_path = get(n03_url, n03_rel)
        if not zipfile.is_zipfile(n03_path):
            raise FetchError("the N03 download is not a zip file", path=n03_url)

        index_path = get(f"{towns_api}/ja.json", str(region.sources.towns_index))
        try:
            munis = json.loads(index_path.read_text(encoding="utf-8"))[pref]
        except (KeyError, json.JSONDecodeError) as exc:
            raise FetchError(f"ja.json does not list {pref}", path=f"{towns_api}/ja.json") from exc
        for muni in munis:
            url = f"{towns_api}/ja/{quote(pref)}/{quote(muni)}.json"
            get(url, f"{region.sources.towns_dir}/{muni}.json")
    finally:
        if own_client:
            http.close()
    return result


def _download(http: httpx.Client, url: str, path: Path) -> str:
    """Fetch ``url`` to ``path`` via ``path.part``, resuming a partial file; returns SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with http.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 416 and offset:
                pass  # the partial file is already complete
            elif resp.status_code in (200, 206):
                mode = "ab" if resp.status_code == 206 else "wb"
                with part.open(mode) as f:
                    for chunk in resp.iter_bytes(1 << 16):
                        f.write(chunk)
            else:
                raise FetchError(f"HTTP {resp.status_code} while downloading", path=url)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise FetchError(
            "ネットワークに接続できません（オフライン?）。接続してから再実行するか、"
            "公開データのフォルダを --source で指定してください。途中までの分は次回再開します",
            path=url,
        ) from exc
    except httpx.HTTPError as exc:
        raise FetchError(
            f"download interrupted ({exc.__class__.__name__}); rerun to resume", path=url
        ) from exc
    os.replace(part, path)
    return _sha256(path)
