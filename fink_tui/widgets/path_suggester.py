"""Completion of file paths in an Input, as a shell would."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first existing path that starts with what was typed."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(os.path.expanduser(value))
        folder, stem = (typed, "") if value.endswith(os.sep) else (typed.parent, typed.name)
        try:
            names = sorted(p.name for p in folder.iterdir() if p.name.startswith(stem))
        except OSError:
            return None
        for name in names:
            if name.startswith(".") and not stem.startswith("."):
                continue
            suggestion = value + name[len(stem) :]
            if (folder / name).is_dir():
                suggestion += os.sep
            return suggestion if suggestion != value else None
        return None
