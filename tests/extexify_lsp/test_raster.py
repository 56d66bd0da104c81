"""The rasterizer, alone and behind normalization: what the model sees of a drawing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extexify_lsp.raster import RasterConfig, rasterize, render_drawings
from extexify_lsp.strokes import normalize

coordinate = st.floats(min_value=0, max_value=500, allow_nan=False)
drawing = st.lists(
    st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=30), min_size=1, max_size=4
).map(lambda raw: [np.array(stroke, dtype=np.float64) for stroke in raw])


def _centroid(image: np.ndarray) -> np.ndarray:
    rows, columns = np.indices(image.shape)
    return np.array([(columns * image).sum(), (rows * image).sum()]) / image.sum()


@settings(deadline=None)
@given(drawing, st.sampled_from([16, 28, 32, 48, 64]))
def test_images_have_the_configured_size_and_range(strokes: list[np.ndarray], size: int) -> None:
    image = render_drawings([strokes], RasterConfig(size=size))[0, 0]
    assert image.shape == (size, size) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1
    assert image.max() > 0.5  # whatever was drawn shows


@settings(deadline=None)
@given(
    drawing,
    st.floats(min_value=0.05, max_value=50),
    st.tuples(st.floats(min_value=-1e4, max_value=1e4), st.floats(min_value=-1e4, max_value=1e4)),
)
def test_translation_and_uniform_scale_do_not_change_the_image(
    strokes: list[np.ndarray], scale: float, shift: tuple[float, float]
) -> None:
    moved = [s * scale + np.array(shift) for s in strokes]
    original, transformed = render_drawings([strokes])[0, 0], render_drawings([moved])[0, 0]
    # Rounding may move an edge by one supersampled pixel, which is 1/16 of an output pixel's grey.
    assert np.abs(original - transformed).mean() < 0.005
    assert np.abs(original - transformed).max() <= 0.25


def test_a_dot_is_a_visible_round_blob_in_the_centre() -> None:
    image = render_drawings([[np.array([[123.0, 45.0]])]])[0, 0]
    assert image.max() > 0.9
    np.testing.assert_allclose(_centroid(image), [15.5, 15.5], atol=0.25)  # within a quarter pixel
    np.testing.assert_allclose(image, image.T, atol=1e-6)
    ink = image > 0
    assert 2 <= ink.sum() <= 16  # a small blob, not a line


@pytest.mark.parametrize("axis", ["horizontal", "vertical"])
def test_a_straight_line_spans_the_drawing_area(axis: str) -> None:
    line = np.array([[0.0, 7.0], [50.0, 7.0], [100.0, 7.0]])
    if axis == "vertical":
        line = line[:, ::-1]
    image = render_drawings([[line]])[0, 0]
    if axis == "vertical":
        image = image.T
    along = image.max(axis=0)
    # From margin to margin (0.1 of the side, less the round cap), every pixel on the way is inked.
    assert (along[4:28] > 0.5).all()
    assert (along[:2] == 0).all() and (along[-2:] == 0).all()
    across = image.max(axis=1)
    assert (across > 0).sum() <= 4  # thin: the line width is 0.06 of the side, anti-aliased


def test_edges_are_anti_aliased() -> None:
    image = render_drawings([[np.array([[0.0, 0.0], [100.0, 37.0]])]])[0, 0]
    grey = (image > 0.05) & (image < 0.95)
    assert grey.sum() > 10


def test_line_width_is_relative_to_the_image() -> None:
    strokes = normalize([np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]])])
    small = rasterize(strokes, RasterConfig(size=32)).mean()
    large = rasterize(strokes, RasterConfig(size=96)).mean()
    assert large == pytest.approx(small, rel=0.2)


def test_relative_positions_of_strokes_survive() -> None:
    # A dot left of a vertical bar, as in "!": each lands in its own half, at its own height.
    image = render_drawings([[np.array([[0.0, 50.0]]), np.array([[40.0, 0.0], [40.0, 40.0]])]])[0, 0]
    left, right = image[:, :16], image[:, 16:]
    assert _centroid(left)[1] > 20  # the dot is low...
    assert _centroid(right)[1] < 14  # ...the bar is high
