"""The pen-motion channels beside the ink image: direction and drawing order survive rasterization."""

from __future__ import annotations

import numpy as np

from extexify_lsp.raster import RasterConfig, rasterize, rasterize_motion, render

MOTION = RasterConfig(motion=True)


def test_direction_and_progress_follow_the_pen() -> None:
    stroke = np.array([[0.0, 0.5], [1.0, 0.5]])
    dx, dy, progress = rasterize_motion([stroke], MOTION)
    covered = dx != 0
    assert covered.sum() >= MOTION.size  # a pixel-wide line across the image
    assert np.allclose(dx[covered], 1.0) and np.allclose(dy, 0.0)
    line = covered.sum(axis=1).argmax()
    assert np.all(np.diff(progress[line][covered[line]]) > 0)  # further along the stroke, later in time
    backwards_dx, _, backwards_progress = rasterize_motion([stroke[::-1]], MOTION)
    assert np.allclose(backwards_dx[covered], -1.0)
    assert np.isclose(backwards_progress[covered].mean(), 1 - progress[covered].mean(), atol=0.02)


def test_stroke_order_is_kept_and_dots_count() -> None:
    first, dot = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.5, 1.0]])
    _, _, progress = rasterize_motion([first, dot], MOTION)
    bottom = slice(MOTION.size // 2, None)  # where the dot is; the stroke runs along the top
    assert progress[bottom].max() == 1.0  # the dot comes last: all of the stroke's length is before it
    _, _, swapped = rasterize_motion([dot, first], MOTION)
    assert swapped[bottom].max() == 0.0


def test_render_stacks_ink_first() -> None:
    strokes = [np.array([[0.1, 0.2], [0.9, 0.8]]), np.array([[0.2, 0.9]])]
    assert render(strokes).shape == (1, 32, 32)
    stacked = render(strokes, MOTION)
    assert stacked.shape == (4, 32, 32) and stacked.dtype == np.float32
    assert np.array_equal(stacked[0], rasterize(strokes, MOTION))
    assert np.array_equal(stacked[1:], rasterize_motion(strokes, MOTION))
