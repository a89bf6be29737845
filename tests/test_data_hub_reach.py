"""Without network the hub path fails fast with one message, instead of waiting through
huggingface_hub's retries."""

import socket

import pytest

from mtl_core.data.sources import config_names, hub_reachable, load_source, split_names
from mtl_core.errors import UserError


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_reachability_follows_whether_something_listens():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert hub_reachable(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=1)
    assert not hub_reachable(f"http://127.0.0.1:{_closed_port()}", timeout=1)


@pytest.mark.parametrize("call", [load_source, config_names, split_names])
def test_unreachable_hub_is_one_clear_message(call, monkeypatch):
    monkeypatch.setattr("datasets.config.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(UserError, match="cannot reach the Hugging Face hub for 'owner/name'"):
        call("owner/name")
