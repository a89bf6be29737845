"""A run's verdicts on a page: one row per task, Δm with its interval, the rules, and
why the run trained as many seeds as it did."""

from typing import Any

import streamlit as st

from mtl_core.analysis.verdicts import RULES
from mtl_core.viz.evidence import delta_m_text, verdict_table


def show_verdicts(summary: dict[str, Any]) -> bool:
    """Draw the verdicts of a run that has single-task baselines; False (nothing drawn) for
    a run without them, which has nothing to compare."""
    tasks = summary.get("tasks") or {}
    if not any(task.get("baseline_metrics") for task in tasks.values()):
        return False
    table = verdict_table(summary)
    st.dataframe(table, hide_index=True, width="stretch")
    noise = summary.get("noise") or {}
    if summary.get("delta_m") is not None:
        st.markdown(
            f"**{delta_m_text(summary)}** (positive = multi-task better; the "
            f"interval is 95%, over {noise.get('test_rows', '?')} test rows and the "
            "seeds)"
        )
    with st.expander("Why these verdicts"):
        for name, task in tasks.items():
            if task.get("verdict_reason"):
                st.text(f"{name}: {task['verdict']}: {task['verdict_reason']}")
        if noise.get("seeds_reason"):
            st.text(f"Seeds: {noise['seeds_reason']}")
        st.caption(RULES)
    return True
