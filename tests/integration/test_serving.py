"""Server start-up: a busy port is an error, not a second listener."""

from __future__ import annotations

import pytest

from custody.errors import ConfigError
from custody.serving import start_server


async def test_second_server_on_a_busy_port_is_refused() -> None:
    """Starting a server on a port another one holds fails, naming the listen variable."""
    first = await start_server(lambda server: None, [], "127.0.0.1:0", None, 8, "BACKEND_LISTEN")
    try:
        with pytest.raises(ConfigError) as caught:
            await start_server(
                lambda server: None, [], f"127.0.0.1:{first.port}", None, 8, "BACKEND_LISTEN"
            )
    finally:
        await first.stop(0)

    assert caught.value.variable == "BACKEND_LISTEN"
