"""Bring a stored run back: its config, its data (rebuilt from the config and seed) and its
trained model with the stored weights."""

from __future__ import annotations

from dataclasses import dataclass

from mtl_core.config import ExperimentConfig, config_from_dict
from mtl_core.data.prepare import PreparedData, prepare_data
from mtl_core.models import MTLModel, build_model
from mtl_core.runs.store import RunStore


@dataclass
class TrainedRun:
    run_id: str
    config: ExperimentConfig
    data: PreparedData
    model: MTLModel


def load_trained(store: RunStore, run_id: str, data: PreparedData | None = None) -> TrainedRun:
    """Rebuild the model of `run_id` on the CPU, in eval mode."""
    store.get_run(run_id)
    weights = store.load_weights(run_id)
    config = config_from_dict(store.load_config(run_id))
    data = data or prepare_data(config.data)
    model = build_model(config.model, data.tasks, data.input_kind, data.input_shape)
    model.load_state_dict(weights)
    model.eval()
    return TrainedRun(run_id, config, data, model)
