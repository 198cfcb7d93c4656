"""The worker's built-in web server is on loopback only and serves no table contents."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from antifraud.settings import Settings

pytestmark = pytest.mark.integration


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, from the kernel's own table."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                addresses.add(address)
    return addresses


def test_web_server_binds_loopback_only(worker: Any, worker_settings: Settings) -> None:
    assert listening_addresses(worker_settings.worker_web_port) == {"0100007F"}  # 127.0.0.1


@pytest.mark.parametrize("path", ["/table/", "/router/", "/graph/"])
def test_table_and_router_views_are_off(worker: Any, worker_settings: Settings, path: str) -> None:
    url = f"http://127.0.0.1:{worker_settings.worker_web_port}{path}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=5)
    assert refused.value.code == 404
