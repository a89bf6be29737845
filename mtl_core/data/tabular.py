"""Tabular inputs -> float tensors: numerics standardised with train statistics,
categoricals one-hot, missing values imputed with an indicator column."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtl_core.data.roles import MAX_CATEGORIES
from mtl_core.errors import UserError


@dataclass
class TabularEncoder:
    """Fitted on the train rows; `transform` gives one float32 matrix for a frame."""

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    means: dict[str, float] = field(default_factory=dict)
    stds: dict[str, float] = field(default_factory=dict)
    with_missing: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        columns: list[str],
        categorical: tuple[str, ...] = (),
        rows: np.ndarray | None = None,
    ) -> TabularEncoder:
        """Fit on the `rows` positions of `frame` (all rows when None). Numbers are numeric
        unless listed in `categorical`; other values are categorical."""
        encoder = cls()
        for column in columns:
            values = frame[column] if rows is None else frame[column].iloc[rows]
            numeric = pd.api.types.is_numeric_dtype(values)
            if column in categorical or pd.api.types.is_bool_dtype(values) or not numeric:
                encoder._fit_categorical(column, values)
            else:
                encoder._fit_numeric(column, values)
        return encoder

    def _fit_numeric(self, column: str, values: pd.Series) -> None:
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        present = numbers[~np.isnan(numbers)]
        self.numeric.append(column)
        self.means[column] = float(present.mean()) if len(present) else 0.0
        std = float(present.std()) if len(present) > 1 else 0.0
        self.stds[column] = std if std > 0 else 1.0
        if len(present) < len(numbers):
            self.with_missing.append(column)

    def _fit_categorical(self, column: str, values: pd.Series) -> None:
        levels = sorted(pd.unique(values.dropna().astype(str)))
        if len(levels) > MAX_CATEGORIES:
            raise UserError(
                f"input column '{column}' has {len(levels)} categories (more than "
                f"{MAX_CATEGORIES}): mark it as ignored, or as text if it is free text"
            )
        self.categorical.append(column)
        self.categories[column] = levels

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        names += [f"{c} is missing" for c in self.with_missing]
        for column in self.categorical:
            names += [f"{column}={level}" for level in self.categories[column]]
        return names

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """float32 [rows, features], filled block by block into one preallocated array."""
        out = np.zeros((len(frame), len(self.feature_names)), dtype=np.float32)
        col = len(self.numeric)
        if self.numeric:
            block = frame[self.numeric]
            if not all(pd.api.types.is_numeric_dtype(t) for t in block.dtypes):
                block = block.apply(pd.to_numeric, errors="coerce")
            values = block.to_numpy(dtype=np.float64, na_value=np.nan)
            means = np.array([self.means[c] for c in self.numeric])
            stds = np.array([self.stds[c] for c in self.numeric])
            missing = np.isnan(values)
            out[:, :col] = np.where(missing, 0.0, (values - means) / stds)
            where = {c: i for i, c in enumerate(self.numeric)}
            for column in self.with_missing:
                out[:, col] = missing[:, where[column]]
                col += 1
        rows = np.arange(len(frame))
        for column in self.categorical:
            levels = self.categories[column]
            codes = _level_codes(frame[column], levels)
            known = codes >= 0
            out[rows[known], col + codes[known]] = 1.0
            col += len(levels)
        return out


def _level_codes(values: pd.Series, levels: list[str]) -> np.ndarray:
    """Position of each value in `levels` (-1: missing or unseen), hashing each row once."""
    codes, uniques = pd.factorize(values)
    lookup = pd.Index(levels).get_indexer(pd.Index(uniques).astype(str))
    return np.where(codes >= 0, lookup[codes] if len(lookup) else -1, -1)
