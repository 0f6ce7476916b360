"""Faults of the batch job and the store: SIGKILL, truncated stores, full or read-only disks.

The batch job runs as a real subprocess (``python -m tsunagari_geo geocode``) on a few thousand
addresses built from real dictionary towns, is killed with SIGKILL at seeded random points of
its progress (read from its checkpoint journal, not guessed from the clock), and is resumed
with ``--resume``; what it finally writes must be byte-for-byte what one uninterrupted run
writes. A store file damaged on disk must be refused with a message naming the file, and an
output folder that is full or read-only must fail the job with a clear message and leave
nothing under the final output name.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tsunagari_geo.cli import _register, app
from tsunagari_geo.errors import InputError, StoreError
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.geocode.batch import failures_path, geocode_table, journal_path
from tsunagari_geo.store import Store, open_store

ROWS = 3000
CHUNK = 100
CHUNKS = ROWS // CHUNK
#: A short pause after each chunk (added by tests/slow_geocode.py, a wrapper around the CLI),
#: so that 30 chunks span about a second and a kill can land anywhere in the run, not only in
#: start-up or the final write.
SLOW_SECONDS = "0.03"
SLOW_GEOCODE = Path(__file__).with_name("slow_geocode.py")
#: 5 chains of 4 kills: every kill is followed by a --resume, which the next kill of the
#: chain interrupts again at a later point; the last --resume of each chain runs to the end.
CHAINS = 5
KILLS_PER_CHAIN = 4
SEED = 20261126


@pytest.fixture(scope="module")
def geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


@pytest.fixture(scope="module")
def addresses_csv(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 addresses: real towns of real units, random block numbers, a few variants."""
    rng = random.Random(SEED)
    towns = store.towns[["unit_code", "town"]].to_numpy().tolist()
    unit_name = dict(zip(store.units["code"], store.units["name"], strict=True))
    dashes = ["-", "－", "ー", "‐"]
    rows = []
    for i in range(ROWS):
        code, town = towns[rng.randrange(len(towns))]
        dash = rng.choice(dashes)
        rows.append(
            {
                "id": f"{i:05d}",
                "住所": f"{unit_name[code]}{town}{rng.randint(1, 40)}{dash}{rng.randint(1, 25)}",
                "memo": rng.choice(["", "=1+1", "毎週火曜", "@SUM(A1)"]),
            }
        )
    path = tmp_path_factory.mktemp("faults") / "addresses.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def job_env(store_path: Path, source_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TSUNAGARI_STORE": str(store_path),
        "TSUNAGARI_SOURCE": str(source_dir),
    }


def _command(src: Path, out: Path, *extra: str, slow: bool = False) -> list[str]:
    start = [str(SLOW_GEOCODE), SLOW_SECONDS] if slow else ["-m", "tsunagari_geo"]
    return [
        sys.executable, *start, "geocode", str(src), "--out", str(out),
        "--chunk-size", str(CHUNK), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def reference_output(
    addresses_csv: Path, job_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """One uninterrupted run: the bytes every interrupted-and-resumed run must reproduce."""
    out = tmp_path_factory.mktemp("reference") / "out.csv"
    subprocess.run(_command(addresses_csv, out), env=job_env, check=True, capture_output=True)
    return out


def _chunks_done(journal: Path) -> int:
    try:
        return sum(1 for name in os.listdir(journal) if name.startswith("chunk_"))
    except FileNotFoundError:
        return -1  # the journal is not there yet (start-up) or already gone (finished)


@dataclass
class KillOutcome:
    killed: bool
    chunks_at_kill: int
    returncode: int | None


def _run_and_kill(
    cmd: list[str], env: dict[str, str], journal: Path, target: int, jitter: float
) -> KillOutcome:
    """Start the job, wait until its journal holds ``target`` chunks, wait ``jitter``, kill."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while _chunks_done(journal) < target:
            if proc.poll() is not None:
                return KillOutcome(False, _chunks_done(journal), proc.returncode)
            assert time.monotonic() < deadline, "the job made no progress for 60 s"
            time.sleep(0.005)
        time.sleep(jitter)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed = proc.returncode == -signal.SIGKILL
    return KillOutcome(killed, _chunks_done(journal), proc.returncode)


def _kill_chain(
    chain: int, src: Path, env: dict[str, str], root: Path, expected: bytes
) -> tuple[Path, list[KillOutcome]]:
    rng = random.Random(SEED + chain)
    folder = root / f"chain{chain}"
    folder.mkdir()
    out = folder / "out.csv"
    # Later kills of a chain wait for more chunks, so that each resumed run gets further.
    targets = sorted(rng.sample(range(CHUNKS), KILLS_PER_CHAIN))
    outcomes = []
    for k, target in enumerate(targets):
        extra = ("--resume",) if k else ()
        outcomes.append(
            _run_and_kill(
                _command(src, out, *extra, slow=True),
                env,
                journal_path(out),
                target,
                rng.uniform(0, 0.04),
            )
        )
        # A kill that lands in the final write may leave the output, but only complete.
        assert not out.exists() or out.read_bytes() == expected
    subprocess.run(_command(src, out, "--resume"), env=env, check=True, capture_output=True)
    return out, outcomes


@pytest.mark.timeout(240)
def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_bytes(
    addresses_csv: Path, job_env: dict[str, str], reference_output: Path, tmp_path: Path
) -> None:
    expected = reference_output.read_bytes()
    # Two chains at a time: the machine has two cores, and each run is mostly start-up.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(
                lambda c: _kill_chain(c, addresses_csv, job_env, tmp_path, expected),
                range(CHAINS),
            )
        )
    kills = [o for _, chain in results for o in chain if o.killed]
    # A kill that lands after the job already finished is not a kill: we need at least 20.
    assert len(kills) >= 20, [o for _, chain in results for o in chain]
    # The kills are spread over the run: start-up, early, middle and late chunks.
    assert len({o.chunks_at_kill for o in kills}) >= 10
    # Shown with `pytest -rP`: the figure for the reliability note.
    print(f"{len(kills)} SIGKILLs at chunk counts {sorted(o.chunks_at_kill for o in kills)}")
    expected_failures = failures_path(reference_output).read_bytes()
    for out, _ in results:
        assert out.read_bytes() == expected
        assert failures_path(out).read_bytes() == expected_failures
        assert sorted(p.name for p in out.parent.iterdir()) == ["out.csv", "out.failures.csv"]
    rows = pd.read_csv(results[0][0], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert rows["id"].tolist() == [f"{i:05d}" for i in range(ROWS)]


@pytest.mark.timeout(120)
def test_sigkill_during_the_final_write_leaves_no_partial_output(
    addresses_csv: Path, job_env: dict[str, str], reference_output: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    caught_in_write = False
    for _attempt in range(6):
        proc = subprocess.Popen(
            _command(addresses_csv, out), env=job_env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # The final write is a temporary file beside the output (".out.csv.XXXX.csv"),
        # renamed into place: kill the moment one appears.
        while proc.poll() is None:
            names = os.listdir(tmp_path)
            if any(n.startswith((".out.csv.", ".out.failures.csv.")) for n in names):
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait()
        if proc.returncode == -signal.SIGKILL:
            caught_in_write = True
            break
        shutil.rmtree(tmp_path)
        tmp_path.mkdir()
    assert caught_in_write, "the final write was never caught in six runs"
    # Whatever is under the final name is complete: absent, or the finished file.
    assert not out.exists() or out.read_bytes() == reference_output.read_bytes()
    assert journal_path(out).is_dir(), "the journal must survive until the output is in place"
    subprocess.run(
        _command(addresses_csv, out, "--resume"), env=job_env, check=True, capture_output=True
    )
    assert out.read_bytes() == reference_output.read_bytes()
    assert failures_path(out).read_bytes() == failures_path(reference_output).read_bytes()
    # The killed write's temporary file is cleaned up by the next run, not left to pile up.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.failures.csv"]


# --- a damaged store ----------------------------------------------------------------------------


def _damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        if how == "empty":
            f.truncate(0)
        elif how == "truncated_header":
            f.truncate(50)
        elif how == "truncated_half":
            f.truncate(size // 2)
        elif how == "truncated_tail":
            f.truncate(size - 4096)
        elif how == "zeroed_page":
            f.seek(4096)
            f.write(b"\0" * 4096)
        elif how == "garbage_middle":
            f.seek(size // 3)
            f.write(random.Random(SEED).randbytes(8192))
        else:  # pragma: no cover - the parametrisation below names every kind
            raise AssertionError(how)


DAMAGES = [
    "empty",
    "truncated_header",
    "truncated_half",
    "truncated_tail",
    "zeroed_page",
    "garbage_middle",
]


@pytest.fixture
def damaged_copy(store_path: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "damaged.gpkg"
    shutil.copyfile(store_path, copy)
    yield copy


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_store_is_refused_at_open_naming_the_file(damaged_copy: Path, how: str) -> None:
    _damage(damaged_copy, how)
    with pytest.raises(StoreError) as caught:
        open_store(damaged_copy)
    assert caught.value.path == str(damaged_copy)
    assert str(damaged_copy) in str(caught.value)


@pytest.mark.parametrize("how", ["truncated_half", "garbage_middle"])
def test_data_info_on_a_damaged_store_exits_2_naming_the_file(damaged_copy: Path, how: str) -> None:
    _damage(damaged_copy, how)
    result = subprocess.run(
        [sys.executable, "-m", "tsunagari_geo", "data", "info", "--store", str(damaged_copy)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert str(damaged_copy) in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr


def test_the_batch_cli_refuses_a_damaged_store_before_reading_input(
    damaged_copy: Path, addresses_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _damage(damaged_copy, "truncated_tail")
    monkeypatch.setenv("TSUNAGARI_STORE", str(damaged_copy))
    _register()
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["geocode", str(addresses_csv), "--out", str(out)])
    assert isinstance(result.exception, StoreError)
    assert not out.exists()


# --- a full or read-only output folder ----------------------------------------------------------


def _small_input(tmp_path: Path, rows: int = 400) -> Path:
    src = tmp_path / "in" / "in.csv"
    src.parent.mkdir()
    frame = pd.DataFrame(
        {"住所": [f"さいたま市浦和区常盤6-4-{i} 長い建物名の部屋番号{i:05d}" for i in range(rows)]}
    )
    frame.to_csv(src, index=False)
    return src


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs, when the sandbox lets us mount one (we run as root)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def _no_final_output(folder: Path, out: Path) -> None:
    assert not out.exists()
    assert not failures_path(out).exists()
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(f".{out.name}.")]
    # Only the journal (for --resume) may stay; no temporary output file.
    assert all(name == journal_path(out).name for name in leftovers), leftovers


def test_a_full_disk_fails_the_job_clearly_and_leaves_no_output(
    tmpfs: Path, tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    src = _small_input(tmp_path, rows=2000)
    out = tmpfs / "out.csv"
    with pytest.raises(InputError) as caught:
        geocode_table(src, out, geocoder=geocoder, store=store, chunk_size=200)
    assert "書けませんでした" in caught.value.message or "書き込めません" in caught.value.message
    assert os.strerror(errno.ENOSPC) in caught.value.message
    assert caught.value.path is not None
    _no_final_output(tmpfs, out)


def test_a_read_only_mount_fails_the_job_clearly_and_leaves_no_output(
    tmpfs: Path, tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    remount = subprocess.run(
        ["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True, text=True
    )
    if remount.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
    src = _small_input(tmp_path)
    out = tmpfs / "out.csv"
    with pytest.raises(InputError) as caught:
        geocode_table(src, out, geocoder=geocoder, store=store)
    assert os.strerror(errno.EROFS) in caught.value.message
    assert str(tmpfs) in str(caught.value)
    assert not out.exists()
    assert list(tmpfs.iterdir()) == []


def _fail_the_rename_onto(
    out: Path, code: int, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """Make the rename onto ``out`` fail with ``code``, as a full or read-only disk would (the
    journal's chunks still go through); returns what undoes it."""
    real_replace = os.replace

    def failing_replace(a: os.PathLike[str] | str, b: os.PathLike[str] | str) -> None:
        if Path(b) == out:
            raise OSError(code, os.strerror(code))
        real_replace(a, b)

    monkeypatch.setattr(os, "replace", failing_replace)
    return lambda: monkeypatch.setattr(os, "replace", real_replace)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EDQUOT])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".geojson", ".gpkg"])
def test_a_write_error_in_the_final_write_is_reported_and_cleaned_up(
    tmp_path: Path,
    store: Store,
    geocoder: Geocoder,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    suffix: str,
) -> None:
    src = _small_input(tmp_path, rows=50)
    out = tmp_path / f"out{suffix}"
    restore = _fail_the_rename_onto(out, code, monkeypatch)
    with pytest.raises(InputError) as caught:
        geocode_table(src, out, geocoder=geocoder, store=store, chunk_size=20)
    assert os.strerror(code) in caught.value.message
    assert caught.value.path == str(out)
    _no_final_output(tmp_path, out)
    # The finished chunks are kept: once there is room again, --resume completes the job.
    restore()
    summary = geocode_table(src, out, geocoder=geocoder, store=store, chunk_size=20, resume=True)
    assert summary.resumed_chunks == 3
    assert summary.rows == 50


@pytest.mark.parametrize(
    "damage",
    [b"", b"t11107\x1f11100", b'j[["11107"', b"j[]", b'j{"rows": 1}', b"\xff\xfe garbage"],
    ids=["empty", "cut-short", "cut-short-json", "too-few-rows", "not-a-list", "garbage"],
)
def test_a_damaged_chunk_is_read_again_on_resume(
    tmp_path: Path,
    store: Store,
    geocoder: Geocoder,
    monkeypatch: pytest.MonkeyPatch,
    damage: bytes,
) -> None:
    # Chunks are not fsynced: after a power cut one may be empty or cut short. Resuming reads
    # that chunk again from the input and keeps the others; the output is the uninterrupted one.
    src = _small_input(tmp_path, rows=50)
    reference = tmp_path / "reference.csv"
    geocode_table(src, reference, geocoder=geocoder, store=store, chunk_size=20)
    out = tmp_path / "out.csv"
    restore = _fail_the_rename_onto(out, errno.ENOSPC, monkeypatch)
    with pytest.raises(InputError):
        geocode_table(src, out, geocoder=geocoder, store=store, chunk_size=20)
    restore()
    chunks = sorted(journal_path(out).glob("chunk_*.rows"))
    assert len(chunks) == 3
    chunks[1].write_bytes(damage)
    summary = geocode_table(src, out, geocoder=geocoder, store=store, chunk_size=20, resume=True)
    assert summary.resumed_chunks == 2
    assert out.read_bytes() == reference.read_bytes()
    assert failures_path(out).read_bytes() == failures_path(reference).read_bytes()
    assert not journal_path(out).exists()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_write_error_in_a_chunk_is_reported_and_no_output_is_made(
    tmp_path: Path,
    store: Store,
    geocoder: Geocoder,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
) -> None:
    src = _small_input(tmp_path, rows=50)
    out = tmp_path / "out.csv"
    real_write_text = Path.write_text
    written = {"chunks": 0}

    def failing_write_text(self: Path, data: str, *args: object, **kwargs: object) -> int:
        if self.name.startswith(".chunk_"):
            written["chunks"] += 1
            if written["chunks"] == 2:
                raise OSError(code, os.strerror(code))
        return real_write_text(self, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", failing_write_text)
    with pytest.raises(InputError) as caught:
        geocode_table(src, out, geocoder=geocoder, store=store, chunk_size=20)
    assert os.strerror(code) in caught.value.message
    assert "chunk_000001" in str(caught.value)
    _no_final_output(tmp_path, out)
