"""The line's own chart service: PNG charts drawn from the ledger on request, for the Prefect UI's
image artifacts (Prefect stores an image artifact as a URL). `bumpline serve` starts it on loopback;
in production it runs beside the Prefect server behind the same credentials: with
`PREFECT_SERVER_API_AUTH_STRING` (or `BUMPLINE_CHARTS_AUTH`) set, every request needs that
user:password as HTTP basic auth.

    GET /charts/trend.png?step=C03&measurement=thickness.Cu[&tool=PVD01][&lots=20]
    GET /charts/step.png?run=<step run id>&measurement=thickness.Cu
    GET /charts/map.png?run=<step run id>&measurement=bump.height[&wafer=L1.03]
    GET /charts/spc.png?step=C03&measurement=thickness.Cu&tool=PVD01[&lots=25]
    GET /health

Bad input is a 400 naming the parameter, a chart with no data a 404, never a traceback; the
standard library's threading HTTP server is enough for a few charts a minute (no framework)."""
from __future__ import annotations

import argparse
import base64
import hmac
import logging
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from line.charts import NoData, step_png, trend_png, wafer_map_png
from line.ledger import Ledger
from line.spc.picture import NoChart, spc_png

log = logging.getLogger(__name__)
MAX_QUERY = 2048


class BadRequest(ValueError):
    pass


def credentials() -> str:
    return os.environ.get("BUMPLINE_CHARTS_AUTH") or os.environ.get("PREFECT_SERVER_API_AUTH_STRING") or ""


def _one(q: dict[str, list[str]], name: str, required: bool = True, limit: int = 64) -> str:
    values = q.get(name, [])
    if not values or not values[0]:
        if required:
            raise BadRequest(f"parameter {name!r} is required")
        return ""
    if len(values) > 1 or len(values[0]) > limit or not values[0].isprintable():
        raise BadRequest(f"parameter {name!r}: one printable value of at most {limit} characters")
    return values[0]


def _int(q: dict[str, list[str]], name: str, default: int | None = None, lo: int = 1, hi: int = 10**9) -> int:
    text = _one(q, name, required=default is None, limit=12)
    if not text:
        return int(default or 0)
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise BadRequest(f"parameter {name!r}: a whole number from {lo} to {hi}")
    return int(text)


def render(ledger: Ledger, path: str, query: str) -> bytes:
    """The PNG for a request path and query string; BadRequest, NoData or LookupError for the rest."""
    if len(query) > MAX_QUERY:
        raise BadRequest(f"query longer than {MAX_QUERY} characters")
    q = parse_qs(query, keep_blank_values=True, max_num_fields=10)
    if path == "/charts/trend.png":
        return trend_png(ledger, _one(q, "step"), _one(q, "measurement"), _one(q, "tool", required=False),
                         _int(q, "lots", default=20, hi=200))
    if path == "/charts/step.png":
        return step_png(ledger, _int(q, "run"), _one(q, "measurement"))
    if path == "/charts/spc.png":
        return spc_png(ledger, _one(q, "step"), _one(q, "measurement"), _one(q, "tool"), _int(q, "lots", default=25, hi=200))
    if path == "/charts/map.png":
        return wafer_map_png(ledger, _int(q, "run"), _one(q, "measurement"), _one(q, "wafer", required=False, limit=80))
    raise LookupError(f"no chart at {path}")


def handler(ledger: Ledger, secret: str) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(secret.encode()).decode() if secret else ""

    class Charts(BaseHTTPRequestHandler):
        server_version = "bumpline-charts"

        def do_GET(self) -> None:
            if expected and not hmac.compare_digest(self.headers.get("Authorization", ""), expected):
                self._send(401, b"authentication required\n", "text/plain",
                           {"WWW-Authenticate": 'Basic realm="bumpline"'})
                return
            parts = urlsplit(self.path)
            if parts.path == "/health":
                self._send(200, b"ok\n", "text/plain")
                return
            try:
                body = render(ledger, parts.path, parts.query)
            except BadRequest as exc:
                self._send(400, f"{exc}\n".encode(), "text/plain")
            except (NoData, NoChart, LookupError) as exc:
                self._send(404, f"{exc}\n".encode(), "text/plain")
            except Exception:
                log.exception("chart %s failed", self.path[:200])
                self._send(500, b"the chart could not be drawn (see the chart server's log)\n", "text/plain")
            else:
                self._send(200, body, "image/png", {"Cache-Control": "no-store"})

        def _send(self, code: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args: Any) -> None:
            log.info("%s " + fmt, self.address_string(), *args)

    return Charts


def make_server(ledger: Ledger, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler(ledger, credentials()))
    server.daemon_threads = True
    server.timeout = 10
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="the line's chart service (PNG from the ledger)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4201)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    ledger = Ledger()
    server = make_server(ledger, args.host, args.port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.info("charts on http://%s:%d/charts/ from %s%s", args.host, server.server_port, ledger.url,
             " (basic auth)" if credentials() else "")
    stop.wait()
    server.shutdown()
    ledger.dispose()


if __name__ == "__main__":
    main()
