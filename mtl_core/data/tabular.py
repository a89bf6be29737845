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
    """Fitted on the train split; `transform` gives one float32 matrix per split."""

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    means: dict[str, float] = field(default_factory=dict)
    stds: dict[str, float] = field(default_factory=dict)
    with_missing: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, columns: list[str], categorical: tuple[str, ...] = ()
    ) -> TabularEncoder:
        """Numbers are numeric unless listed in `categorical`; other values are categorical."""
        encoder = cls()
        for column in columns:
            values = frame[column]
            numeric = pd.api.types.is_numeric_dtype(values)
            if column in categorical or pd.api.types.is_bool_dtype(values) or not numeric:
                encoder._fit_categorical(column, values)
            else:
                encoder._fit_numeric(column, values)
        return encoder

    def _fit_numeric(self, column: str, values: pd.Series) -> None:
        numbers = values.astype("float64")
        present = numbers.dropna()
        self.numeric.append(column)
        self.means[column] = float(present.mean()) if len(present) else 0.0
        std = float(present.std(ddof=0)) if len(present) > 1 else 0.0
        self.stds[column] = std if std > 0 else 1.0
        if numbers.isna().any():
            self.with_missing.append(column)

    def _fit_categorical(self, column: str, values: pd.Series) -> None:
        levels = sorted(values.dropna().astype(str).unique())
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
        blocks: list[np.ndarray] = []
        for column in self.numeric:
            values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
            standardised = (values - self.means[column]) / self.stds[column]
            blocks.append(standardised.fillna(0.0).to_numpy()[:, None])
        for column in self.with_missing:
            blocks.append(frame[column].isna().to_numpy(dtype="float64")[:, None])
        for column in self.categorical:
            values = frame[column].astype("string")
            levels = self.categories[column]
            codes = pd.Categorical(values, categories=levels).codes
            one_hot = np.zeros((len(frame), len(levels)))
            known = codes >= 0
            one_hot[np.flatnonzero(known), codes[known]] = 1.0
            blocks.append(one_hot)
        if not blocks:
            return np.zeros((len(frame), 0), dtype=np.float32)
        return np.hstack(blocks).astype(np.float32)
