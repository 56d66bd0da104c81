"""`extexify-train` on an install without the `train` extra: a one-line hint, not a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)


# click is imported as the CLI loads; skimage through a submodule (skimage.morphology).
@pytest.mark.parametrize("module", ["click", "skimage"])
def test_a_missing_train_dependency_is_one_line_naming_the_extra(module: str) -> None:
    # A None entry in sys.modules makes importing that module fail as if it were not installed.
    done = _run(f"import sys; sys.modules[{module!r}] = None; from training.entry import main; main()")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"extexify-train: {module} is missing" in done.stderr
    assert '".[train]"' in done.stderr


def test_with_the_extra_the_toolkit_runs() -> None:
    done = _run(
        "import sys; sys.argv[0] = 'extexify-train'; from training.entry import main; main()", "--help"
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: extexify-train" in done.stdout
