"""`extexify-train`: build the recognizer from Detexify handwriting data."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="extexify")
def main() -> None:
    """Import, split, preview, train, evaluate and export the extexify symbol recognizer."""
