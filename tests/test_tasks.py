"""Task kind inference and target checks on tables built here."""

import datasets
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.data.tasks import check_target, class_names, infer_kind
from mtl_core.errors import UserError


@pytest.mark.parametrize(
    ("values", "feature", "kind"),
    [
        (pd.Series(["a", "b", "a"]), None, "binary"),
        (pd.Series(["a", "b", "c", None]), None, "multiclass"),
        (pd.Series([0.5, 1.25, 3.0, 7.5]), None, "regression"),
        (pd.Series(range(100)), None, "regression"),
        (pd.Series([0, 1, 2, 3, 1]), None, "multiclass"),
        (pd.Series([True, False, True]), None, "binary"),
        (pd.Series([1.0, 2.0, np.nan, 3.0]), None, "multiclass"),
        (pd.Series([0, 1, 1]), datasets.ClassLabel(names=["x", "y", "z"]), "multiclass"),
        (pd.Series([[0], [1]]), datasets.List(datasets.Value("int64")), "multilabel"),
    ],
)
def test_infer_kind(values, feature, kind):
    assert infer_kind(feature, values) == kind


def test_class_names_follow_classlabel_order():
    feature = datasets.ClassLabel(names=["zebra", "ant"])
    assert class_names(feature, pd.Series([1, 0])) == ("zebra", "ant")


def test_single_class_target_is_refused():
    with pytest.raises(UserError, match="single class"):
        check_target("t", "col", "multiclass", pd.Series(["a", "a", None]))


def test_all_missing_target_is_refused():
    with pytest.raises(UserError, match="all missing"):
        check_target("t", "col", "regression", pd.Series([np.nan, np.nan]))


def test_text_regression_target_is_refused():
    with pytest.raises(UserError, match="not numeric"):
        check_target("t", "col", "regression", pd.Series(["a", "b"]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(-5, 5),
            st.floats(-1e6, 1e6, allow_nan=False),
            st.sampled_from(["x", "y", "z"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_inference_gives_a_kind_or_a_user_error(values):
    series = pd.Series(values, dtype=object).infer_objects()
    kind = infer_kind(None, series)
    assert kind in ("binary", "multiclass", "regression", "multilabel")
    try:
        check_target("t", "col", kind, series)
    except UserError as error:
        assert "'col'" in str(error)
