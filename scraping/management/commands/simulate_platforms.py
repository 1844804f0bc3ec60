"""Serve the platform simulator until interrupted."""

from __future__ import annotations

import signal
import sys

from django.core.management.base import BaseCommand, CommandError

from scraping.simulator.server import make_server


class Command(BaseCommand):
    help = (
        "Serve pages and feeds shaped like each platform (news, YouTube, Facebook, Instagram, web), with "
        "failure modes, on loopback. Point Pulse at it with PULSE_SIMULATOR_URL=<the printed URL>."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765, help="Port to listen on; 0 picks a free one.")
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default: loopback only).")
        parser.add_argument("--verbose-requests", action="store_true", help="Log every request.")

    def handle(self, *args, port, host, verbose_requests, **options):
        if not 0 <= port <= 65535:
            raise CommandError(f"--port {port} is not a port number; use 0–65535 (0 picks a free port).")
        try:
            server = make_server(host, port, verbose=verbose_requests)
        except OSError as error:
            raise CommandError(
                f"Cannot listen on {host}:{port} ({error.strerror}). Pick another --port, or --port 0 for a free one."
            ) from None
        # SIGTERM (from tests, honcho, docker) ends the loop cleanly like Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.stdout.write(f"Platform simulator listening on {server.url}")
        self.stdout.write(f"Set PULSE_SIMULATOR_URL={server.url}")
        self.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            server.server_close()
