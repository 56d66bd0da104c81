"""Stroke parsing and sample-wide normalization: every accepted form, the edge cases, and bad input."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from extexify_lsp.strokes import MAX_COORDINATE, InvalidStrokesError, normalize, parse_strokes

coordinate = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)
point = st.tuples(coordinate, coordinate)
drawing = st.lists(st.lists(point, min_size=1, max_size=20), min_size=1, max_size=5)


def _arrays(raw: list[list[tuple[float, float]]]) -> list[np.ndarray]:
    return [np.array(stroke, dtype=np.float64) for stroke in raw]


def test_all_point_forms_parse_to_the_same_arrays() -> None:
    as_lists = parse_strokes([[[1, 2], [3, 4.5]]])
    as_triples = parse_strokes([[[1, 2, 10], [3, 4.5, 25]]])
    as_objects = parse_strokes([[{"x": 1, "y": 2, "t": 10}, {"x": 3, "y": 4.5}]])
    np.testing.assert_array_equal(as_lists[0][:, :2], [[1, 2], [3, 4.5]])
    assert np.isnan(as_lists[0][:, 2]).all()
    np.testing.assert_array_equal(as_triples[0], [[1, 2, 10], [3, 4.5, 25]])
    np.testing.assert_array_equal(as_objects[0][:, :2], as_lists[0][:, :2])
    assert as_objects[0][0, 2] == 10 and math.isnan(as_objects[0][1, 2])


number = st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6, allow_nan=False))
timed_point = st.tuples(number, number, st.one_of(st.none(), number))


@given(st.lists(st.lists(timed_point, min_size=1, max_size=30), min_size=1, max_size=5))
def test_list_points_parse_like_object_points(raw: list[list[tuple]]) -> None:
    # Plain [x, y(, t)] lists take a bulk path, {"x", "y", "t"} objects the point-by-point one: same result.
    as_lists = [[[x, y] if t is None else [x, y, t] for x, y, t in stroke] for stroke in raw]
    as_objects = [[{"x": x, "y": y, "t": t} for x, y, t in stroke] for stroke in raw]
    for a, b in zip(parse_strokes(as_lists), parse_strokes(as_objects), strict=True):
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_array_equal(a, b)


def test_empty_strokes_inside_a_drawing_are_dropped() -> None:
    parsed = parse_strokes([[], [[0, 0], [1, 1]], []])
    assert len(parsed) == 1 and parsed[0].shape == (2, 3)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "the drawing is empty"),
        ([[], []], "the drawing is empty"),
        ("strokes", "strokes must be a list of strokes"),
        ([[1, 2]], "a point is"),
        ([[[1, 2, 3, 4]]], "a point is"),
        ([[{"x": 1}]], "needs 'x' and 'y'"),
        ([[[float("nan"), 1]]], "x is nan, not a finite number"),
        ([[[1, float("inf")]]], "y is inf, not a finite number"),
        ([[[1, 2, float("-inf")]]], "t is -inf, not a finite number"),
        ([[["1", 2]]], "x must be a number, got '1'"),
        ([[[True, 2]]], "x must be a number, got True"),
        ([[[0, 1], [2, False]]], "point 1: y must be a number, got False"),
        ([[[0, 1], [2, None]]], "point 1: y must be a number, got None"),
        ([[[0, 1], [2]]], "point 1: a point is"),
        ([[[0, 1], 5]], "point 1: a point is"),
        ([[[0, 0], [1e12, 0]]], "x=1000000000000.0 is outside ±1e+07"),
        ([[[0, 0], [10**20, 0]]], "x=100000000000000000000 is outside ±1e+07"),
        ([[[0, 0], [10**309, 0]]], "point 1: x is an integer too large for a float"),
        ([[[0, -(10**309)]]], "point 0: y is an integer too large for a float"),
        ([[[0, 0, 10**309]]], "point 0: t is an integer too large for a float"),
        ([[{"x": 0, "y": 10**309}]], "point 0: y is an integer too large for a float"),
        ([[[0, 0]]] * 201, "too many strokes"),
        ([[[0, 0]] * 10_001], "too many points"),
    ],
)
def test_bad_strokes_raise_a_specific_error(raw: object, message: str) -> None:
    with pytest.raises(InvalidStrokesError, match=re.escape(message)):
        parse_strokes(raw)


def test_error_messages_say_where() -> None:
    with pytest.raises(InvalidStrokesError, match="stroke 1, point 2: y is nan"):
        parse_strokes([[[0, 0]], [[0, 0], [1, 1], [2, float("nan")]]])


def test_normalize_rejects_non_finite_and_empty_drawings() -> None:
    with pytest.raises(InvalidStrokesError, match="not finite"):
        normalize([np.array([[0.0, 1.0], [np.nan, 2.0]])])
    with pytest.raises(InvalidStrokesError, match="empty"):
        normalize([])
    with pytest.raises(InvalidStrokesError, match=re.escape(f"outside ±{MAX_COORDINATE:g}")):
        normalize([np.array([[0.0, 1.0], [1e300, 2.0]])])


@given(drawing)
def test_normalized_drawings_fit_the_unit_square_centred(raw: list[list[tuple[float, float]]]) -> None:
    normalized = normalize(_arrays(raw))
    xy = np.concatenate(normalized)
    assert xy.shape[1] == 2
    assert xy.min() >= -1e-12 and xy.max() <= 1 + 1e-12
    np.testing.assert_allclose((xy.min(axis=0) + xy.max(axis=0)) / 2, [0.5, 0.5], atol=1e-9)
    longest = np.ptp(xy, axis=0).max()
    assert longest == pytest.approx(1.0) or longest == 0.0


@given(
    drawing,
    st.floats(min_value=1e-2, max_value=1e2),
    st.tuples(st.floats(min_value=-1e3, max_value=1e3), st.floats(min_value=-1e3, max_value=1e3)),
)
def test_normalization_ignores_translation_and_uniform_scale(
    raw: list[list[tuple[float, float]]], scale: float, shift: tuple[float, float]
) -> None:
    strokes = _arrays(raw)
    if np.ptp(np.concatenate(strokes), axis=0).max() < 1e-3:
        return  # a dot (or nearly one) has no shape to keep
    moved = [s * scale + np.array(shift) for s in strokes]
    for a, b in zip(normalize(strokes), normalize(moved), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_normalization_keeps_aspect_ratio_and_relative_positions() -> None:
    # Two strokes side by side, the drawing twice as wide as high, in canvas pixels (y down).
    left = np.array([[100.0, 300.0], [100.0, 400.0]])
    right = np.array([[300.0, 300.0], [300.0, 400.0]])
    a, b = normalize([left, right])
    np.testing.assert_allclose(a, [[0, 0.25], [0, 0.75]])
    np.testing.assert_allclose(b, [[1, 0.25], [1, 0.75]])


def test_a_dot_and_repeated_points_land_in_the_centre() -> None:
    (dot,) = normalize([np.array([[12.5, -3.0]])])
    np.testing.assert_array_equal(dot, [[0.5, 0.5]])
    (same,) = normalize([np.array([[7.0, 7.0]] * 5)])
    np.testing.assert_array_equal(same, [[0.5, 0.5]] * 5)


def test_a_straight_line_keeps_its_length_along_its_axis() -> None:
    (horizontal,) = normalize([np.array([[10.0, 50.0], [20.0, 50.0], [90.0, 50.0]])])
    np.testing.assert_allclose(horizontal, [[0, 0.5], [0.125, 0.5], [1, 0.5]])
    (vertical,) = normalize([np.array([[3.0, 0.0], [3.0, 2.0]])])
    np.testing.assert_allclose(vertical, [[0.5, 0], [0.5, 1]])
