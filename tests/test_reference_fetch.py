"""`data fetch` downloads the published layout from a local HTTP server, resumably; never the internet."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reference_helpers import BOUNDARY_NAME, make_source, mini_region
from tsunagari_geo.errors import FetchError
from tsunagari_geo.reference.fetch import MANIFEST, fetch_sources
from tsunagari_geo.reference.importer import import_reference

ZIP_NAME = "N03-20220101_11_GML.zip"


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single-range support, recording each request's Range header."""

    seen: list[tuple[str, str | None]]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            body = data[start:]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            body = data
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """The public files in their published layout: the Ministry zip and Geolonia's v1 API."""
    source = make_source(tmp_path / "mini")
    root = tmp_path / "www"
    (root / "ksj").mkdir(parents=True)
    with zipfile.ZipFile(root / "ksj" / ZIP_NAME, "w") as zf:
        zf.write(
            source / "municipal_boundaries" / BOUNDARY_NAME, f"N03-20220101_11/{BOUNDARY_NAME}"
        )
        zf.writestr("N03-20220101_11/KS-META.xml", "x" * 50_000)  # makes resuming meaningful
    shutil.copytree(source / "towns/api", root / "api")
    return root


@pytest.fixture
def server(published: Path) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []
    handler = type("Handler", (RangeHandler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(published)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()


def _fetch(base: str, dest: Path, **kw: object):
    return fetch_sources(dest, n03_url=f"{base}/ksj/{ZIP_NAME}", towns_api=f"{base}/api", **kw)  # type: ignore[arg-type]


def test_fetch_writes_the_layout_the_importer_reads(server, tmp_path: Path) -> None:
    base, _ = server
    dest = tmp_path / "dest"
    result = _fetch(base, dest)
    assert result.downloaded == 1 + 1 + 3  # zip, ja.json, three town files
    assert (dest / "municipal_boundaries" / ZIP_NAME).exists()
    assert (dest / "towns/api/ja/埼玉県/さいたま市西区.json").exists()
    manifest = (dest / MANIFEST).read_text(encoding="utf-8").splitlines()
    assert len(manifest) == 5 and all(len(line.split("  ")[0]) == 64 for line in manifest)
    shutil.copytree(tmp_path / "mini/population", dest / "population")
    report = import_reference(dest, tmp_path / "store.gpkg", region=mini_region())
    assert (report.units, report.towns) == (3, 5)


def test_a_second_fetch_skips_verified_files(server, tmp_path: Path) -> None:
    base, seen = server
    _fetch(base, tmp_path / "dest")
    seen.clear()
    result = _fetch(base, tmp_path / "dest")
    assert (result.downloaded, result.skipped) == (0, 5)
    assert seen == []


def test_an_interrupted_download_resumes_with_a_range_request(
    server, published: Path, tmp_path: Path
) -> None:
    base, seen = server
    whole = (published / "ksj" / ZIP_NAME).read_bytes()
    part = tmp_path / "dest/municipal_boundaries" / f"{ZIP_NAME}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(whole[: len(whole) // 2])
    _fetch(base, tmp_path / "dest")
    assert (f"/ksj/{ZIP_NAME}", f"bytes={len(whole) // 2}-") in seen
    assert (tmp_path / "dest/municipal_boundaries" / ZIP_NAME).read_bytes() == whole
    assert not part.exists()


def test_a_checksum_mismatch_is_refused(server, tmp_path: Path) -> None:
    base, _ = server
    rel = f"municipal_boundaries/{ZIP_NAME}"
    with pytest.raises(FetchError, match="checksum mismatch"):
        _fetch(base, tmp_path / "dest", expected_sha256={rel: "0" * 64})
    assert not (tmp_path / "dest" / rel).exists()


def test_offline_gives_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match="オフライン") as err:
        _fetch(f"http://127.0.0.1:{port}", tmp_path / "dest")
    assert f"127.0.0.1:{port}" in str(err.value)


def test_a_missing_file_on_the_server_is_named(server, published: Path, tmp_path: Path) -> None:
    base, _ = server
    os.remove(published / "api/ja/埼玉県/川越市.json")
    with pytest.raises(FetchError, match="HTTP 404") as err:
        _fetch(base, tmp_path / "dest")
    assert "%E5%B7%9D%E8%B6%8A%E5%B8%82.json" in str(err.value)  # 川越市.json, URL-quoted
