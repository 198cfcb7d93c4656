"""`python -m antifraud.desk [--demo]`: serve the console on `ANTIFRAUD_HOST:ANTIFRAUD_DESK_PORT`.

`antifraud up` starts this as a child process with KAFKA_BOOTSTRAP and REDIS_URL set. Once the
view has been rebuilt from the topics it prints one line starting with `Desk ready` (the URL),
then one starting with `Desk login` (how to get in).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from antifraud.desk.app import create_app
from antifraud.desk.config import DeskConfig
from antifraud.desk.console import Console
from antifraud.desk.demo import login_hint
from antifraud.embedded import PortInUseError, require_free_port
from antifraud.settings import get_settings


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


async def serve(demo: bool, ready_timeout_s: float) -> int:
    settings = get_settings()
    config = DeskConfig.from_settings(settings, demo=demo)
    app = create_app(settings, config=config)
    console: Console = app.state.console
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.desk_port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            proxy_headers=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    waited = 0.0
    while not (server.started and console.bus.caught_up.is_set()):
        if serving.done():
            return 1
        if waited > ready_timeout_s:
            print(f"Desk     the view was not rebuilt within {ready_timeout_s:.0f}s", flush=True)
            break
        await asyncio.sleep(0.1)
        waited += 0.1
    else:
        print(
            f"Desk ready: {_url(settings.host, settings.desk_port)} "
            f"(view rebuilt from {console.state.applied} messages)",
            flush=True,
        )
        if config.demo:
            print(f"Desk login: {login_hint()}", flush=True)
        elif not await console.users.all():
            print(
                "Desk login: no users yet; create one with "
                "`antifraud desk users add NAME --role supervisor`",
                flush=True,
            )
        else:
            print("Desk login: with your console user (antifraud desk users list)", flush=True)
    await serving
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m antifraud.desk", description=__doc__)
    parser.add_argument("--demo", action="store_true", help="seed demo users and area directory")
    parser.add_argument("--ready-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    try:
        require_free_port(settings.host, settings.desk_port, "console", "ANTIFRAUD_DESK_PORT")
    except PortInUseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(args.demo, args.ready_timeout))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
