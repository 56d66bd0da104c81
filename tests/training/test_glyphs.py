"""The source's typeset glyphs: rendered in real headless Chromium, compared as pen paths, packed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.glyphs import (
    GlyphError,
    GlyphMatch,
    Rendering,
    close_glyphs,
    glyph_atlas,
    pen_path,
    render_source_glyphs,
)
from training.sources import read_source_index

# cup and bigcup draw the same; times does not; the blank glyph (Detexify's line break) has no ink.
FEW = ["latex:latex2e:cup", "latex:latex2e:bigcup", "latex:latex2e:times", "latex:latex2e:symbol-epr69x"]


@pytest.fixture(scope="module")
def renderings(source_tarball: Path) -> list[Rendering]:
    rendered, version = render_source_glyphs(source_tarball, read_source_index(source_tarball), only=FEW)
    assert version
    return [rendered[s] for s in FEW]


def test_glyphs_that_trace_the_same_pen_path_are_close(renderings: list[Rendering]) -> None:
    paths = [pen_path(r.image) for r in renderings]
    assert [len(p) > 0 for p in paths] == [True, True, True, False]
    for path in paths[:3]:
        assert path.min() >= 0 and path.max() <= 1  # normalized like a drawing
    close = close_glyphs(paths, GlyphMatch(threshold=0.04, max_stretch=0.2))
    assert close.pairs.tolist() == [[0, 1]]
    assert 0 <= close.distances[0] <= 0.04
    assert np.exp(-0.2) - 1e-6 <= close.stretches[0] <= np.exp(0.2) + 1e-6
    assert close_glyphs(paths, GlyphMatch(threshold=0.001)).pairs.shape == (0, 2)


def ink_height(alpha: np.ndarray) -> int:
    rows = np.flatnonzero((alpha > 64).any(axis=1))
    return int(rows[-1] - rows[0] + 1)


def test_the_atlas_keeps_typeset_sizes_and_lists_blank_glyphs(renderings: list[Rendering]) -> None:
    atlas, empty = glyph_atlas(renderings, cell=40, columns=3)
    assert atlas.mode == "LA" and atlas.size == (120, 80)
    assert empty == [3]
    alpha = np.asarray(atlas.getchannel("A"))
    cup, bigcup, times = (alpha[:40, k * 40 : (k + 1) * 40] for k in range(3))
    assert ink_height(bigcup) > 1.5 * ink_height(cup)  # one scale for all: \bigcup stays big
    assert times.any() and not alpha[40:, :40].any()
    assert not np.asarray(atlas.getchannel("L")).any()  # black ink; coverage in alpha


def test_a_missing_browser_is_a_clear_error(source_tarball: Path, tmp_path: Path) -> None:
    with pytest.raises(GlyphError, match="cannot render glyphs"):
        render_source_glyphs(
            source_tarball, read_source_index(source_tarball), chromium=tmp_path / "no-chromium", only=FEW[:1]
        )
