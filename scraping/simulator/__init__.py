"""A local stand-in for every platform Pulse scrapes, for tests, benchmarks and the offline demo.

Run it with ``manage.py simulate_platforms --port 8765`` and set
``PULSE_SIMULATOR_URL=http://127.0.0.1:8765``. Content is deterministic for a given keyword; failure
modes are chosen by the request (see ``scraping.simulator.server`` and docs/PLATFORMS.md).
"""
