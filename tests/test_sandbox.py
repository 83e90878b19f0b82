"""The suite itself cannot reach the network: only 127.0.0.1, localhost and ::1 are allowed."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_connections_to_other_addresses_are_refused_before_any_packet() -> None:
    # 127.0.0.2 is loopback too, so even a broken guard would send nothing off this machine;
    # it is simply not on the allow-list, which is what this test proves is enforced.
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.warns(UserWarning, match="127.0.0.2"),
        pytest.raises(SocketConnectBlockedError),
    ):
        sock.connect(("127.0.0.2", 9))
