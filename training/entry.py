"""The `extexify-train` command: a hint to install the toolkit's extra when it is missing, not a traceback."""

from __future__ import annotations

# Top-level modules of the `train` extra's packages (pyproject.toml) that the toolkit imports.
TRAIN_EXTRA_MODULES = {"click", "tqdm", "psycopg2", "matplotlib", "scipy", "skimage", "playwright"}


def main() -> None:
    # Some of them are imported only by the commands that need them, so the command runs inside the try too.
    try:
        from training.cli import main as cli

        cli()
    except ModuleNotFoundError as error:
        module = (error.name or "").split(".")[0]
        if module not in TRAIN_EXTRA_MODULES:
            raise
        raise SystemExit(
            f"extexify-train: {module} is missing: the training toolkit needs the train extra"
            ' (pip install ".[train]" in the extexify repository)'
        ) from None
