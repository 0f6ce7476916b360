"""The consoles every command prints through.

Messages carry file paths that people copy into a file manager or a reply to a member, so
long lines are never folded: ``soft_wrap`` leaves wrapping to the terminal, and a path or a
count ("9 行中 2 行を読み込み") stays on one line whatever the width of the window.
"""

from __future__ import annotations

from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
