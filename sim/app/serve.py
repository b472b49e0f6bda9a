"""Serve the page on this machine: uvicorn on Solara's Starlette app, in production mode.

The page's front end comes from the ``solara-assets`` package installed with the
``app`` extra, through Solara's own asset route, so neither the browser nor the
server fetches anything from another host; Solara's telemetry is switched off.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import socket

from sim.errors import MissingExtra, UserError

#: The modules the page needs, all from the ``app`` extra.
NEEDED = ("solara", "ipyvuetify", "uvicorn", "altair")


def check_extra() -> None:
    """Raise MissingExtra, in one line, when the ``app`` extra is not installed."""
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(f"channel-sim app needs the app extra ({', '.join(missing)} not installed); "
                           "expected it installed: pip install -e '.[app]'")


def check_port(host: str, port: int) -> None:
    """Raise UserError, in one line, when ``host:port`` cannot be listened on."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        why = "already in use" if exc.errno == errno.EADDRINUSE else (os.strerror(exc.errno) if exc.errno
                                                                       else str(exc))
        raise UserError(f"{host}:{port}: cannot listen ({why}); expected a free port (choose another --port)") from None


def serve(host: str, port: int, env: dict[str, str], announce) -> None:
    """Serve the page until interrupted.

    Args:
        host: the address to listen on.
        port: the port.
        env: environment variables the page reads (the scenario, or the replay's folder).
        announce: called with the page's URL once the server is about to listen.
    """
    os.environ.update(env)
    os.environ["SOLARA_APP"] = "sim.app.page"
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    import warnings

    warnings.filterwarnings("ignore", message="Cookies with samesite")
    import uvicorn

    import solara.server.settings as settings

    settings.main.mode = "production"
    announce(f"http://{host}:{port}/")
    uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning")
