"""Every lesson sets up an experiment that validates, uses registered methods and loads."""

import pytest

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.errors import UserError
from mtl_core.lessons import LESSONS, lesson_experiment
from mtl_core.models.registry import architecture_names
from mtl_core.weighting.registry import weighting_names


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.key)
def test_lesson_experiment_is_valid_and_its_data_loads(item):
    config = config_from_dict(lesson_experiment(item.key))
    assert config.model.architecture in architecture_names()
    assert config.weighting.method in weighting_names()
    data = prepare_data(config.data)
    assert [t.name for t in data.tasks] == [t.name for t in config.data.tasks]
    for variant in item.variants.values():
        assert config_from_dict(lesson_experiment(item.key, variant)).data.config == variant


def test_lessons_do_not_share_mutable_state():
    first = lesson_experiment(LESSONS[0].key)
    first["train"]["epochs"] = 999
    assert lesson_experiment(LESSONS[0].key)["train"]["epochs"] != 999


def test_unknown_lesson_or_variant_is_a_user_error():
    with pytest.raises(UserError, match="no lesson"):
        lesson_experiment("nope")
    with pytest.raises(UserError, match="no variant"):
        lesson_experiment(LESSONS[0].key, "p9")
