"""The splits part of the Data page: which of the dataset's splits trains, validates and
tests, and how much of the training split is held out for a role that has no split of its
own (seeded; stratified on the first classification task). The rules are
mtl_core.data.splits'; this draws their pickers."""

from __future__ import annotations

from typing import Any

import streamlit as st

from mtl_core.config import SplitConfig
from mtl_core.data.splits import role_split, training_split

CARVE = "held out from training"
ROLES = (("validation", "val_fraction"), ("test", "test_fraction"))
MAX_HELD_OUT_PCT = 40  # per role: two of them still leave 20% for training


def role_options(sizes: dict[str, int], train: str, role: str) -> list[str]:
    """What can play `role`: the other splits, and holding rows out of training unless a
    split carries the role's name (the config then reads that split)."""
    others = [name for name in sizes if name != train]
    return others if role_split(sizes, train, role, None) else [CARVE, *others]


def splits_section(data: dict[str, Any], sizes: dict[str, int], scope: str) -> None:
    """Pickers for the training, validation and test splits (written to `data["splits"]`);
    `scope` keys the widgets to the source, so that another dataset starts afresh."""
    splits = dict(data.get("splits") or {})
    defaults = SplitConfig()
    names = list(sizes)
    with st.expander("Splits", icon=":material/call_split:", expanded="train" not in sizes):
        train = training_split(sizes, splits.get("train"))
        train = st.selectbox(
            "Training split", names, index=names.index(train), key=f"split_train::{scope}"
        )
        splits["train"] = train
        for column, (role, fraction_key) in zip(st.columns(len(ROLES)), ROLES, strict=True):
            options = role_options(sizes, train, role)
            current = splits.get(role)
            default = current if current in options else (role if role in options else CARVE)
            pick = column.selectbox(
                f"{role.capitalize()} split",
                options,
                index=options.index(default),
                key=f"split_{role}::{scope}::{train}",
            )
            splits[role] = None if pick == CARVE else pick
            if pick == CARVE:
                percent = column.slider(
                    f"Share of the training split held out for {role}",
                    0,
                    MAX_HELD_OUT_PCT,
                    round(100 * splits.get(fraction_key, getattr(defaults, fraction_key))),
                    format="%d%%",
                    key=f"split_{fraction_key}::{scope}",
                )
                splits[fraction_key] = percent / 100
        if splits.get("validation") and splits.get("validation") == splits.get("test"):
            st.warning(
                "Validation and test read the same split: the validation set then picks "
                "the epoch kept, so the test score is not independent of training.",
                icon=":material/warning:",
            )
    data["splits"] = splits
    st.caption("Splits: " + _summary(splits, sizes) + ".")


def _summary(splits: dict[str, Any], sizes: dict[str, int]) -> str:
    train = training_split(sizes, splits.get("train"))
    parts = [f"train from '{train}'"]
    for role, _ in ROLES:
        chosen = role_split(sizes, train, role, splits.get(role))
        parts.append(f"{role} from '{chosen}'" if chosen else f"{role} held out")
    return ", ".join(parts)
