"""Run the static site's ``search.js`` in node over an index file, as the page does."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tsunagari_geo.maps.vendor import STATIC_DIR

SEARCH_JS = STATIC_DIR / "maps" / "search.js"
#: argv: the search script and the index; stdin: texts (JSON); stdout: [{fold, answer}, …].
_RUNNER = """
const fs = require('fs');
const { Searcher } = require(process.argv[1]);
const searcher = new Searcher(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')));
const texts = JSON.parse(fs.readFileSync(0, 'utf8'));
const rows = texts.map((t) => ({ fold: searcher.fold(t), answer: searcher.search(t) }));
process.stdout.write(JSON.stringify(rows));
"""


def run_static_search(
    index: Path, texts: list[str] | tuple[str, ...], script: Path = SEARCH_JS
) -> list[dict[str, Any]]:
    """For each text, what the page folds it to and what it answers (None: nothing found)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the static site's search (apt install nodejs)")
    done = subprocess.run(
        [node, "-e", _RUNNER, str(script), str(index)],
        input=json.dumps(list(texts)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))
