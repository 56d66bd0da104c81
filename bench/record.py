"""A benchmark's numbers: printed for the reader and saved as JSON under bench/results/ for the repo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Print `results` and write them to `path` as indented JSON."""
    text = json.dumps(results, indent=2)
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(f"wrote {path}")
