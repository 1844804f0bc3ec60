"""Run every benchmark under tests/bench/ and print one table of the figures (`make bench`).

Each ``bench_*.py`` script is run in turn with the current environment; its own output streams
through. Scripts report figures as lines ``FIGURE|name|value|unit|baseline``; bench_stack.py's
start-up and memory lines are read from its text. A script that fails is reported in the table
and the run goes on with the next one.

Usage:  .venv/bin/python tests/bench/run_all.py [--only kill_worker,pipeline]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parents[1]


def stack_figures(output: str) -> list[tuple[str, str, str, str]]:
    figures = []
    for what, seconds in re.findall(r"^\s+(\S+)\s+ready after\s+([\d.]+) s", output, flags=re.MULTILINE):
        if what == "all":
            continue  # the line "all ready after" is reported below
        figures.append((f"stack start: {what} ready", seconds, "s", "from launching demo.sh"))
    match = re.search(r"all ready after\s+([\d.]+) s", output)
    if match:
        figures.append(("stack start: all ready", match.group(1), "s", "from launching demo.sh"))
    for name, count, total in re.findall(r"^\s+(\S+)\s+(\d+)\s+([\d.]+)\s+[\d.]+$", output, flags=re.MULTILINE):
        figures.append((f"idle memory: {name}", total, "MiB", f"{count} processes"))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated script names without bench_ and .py")
    arguments = parser.parse_args()
    wanted = {name.strip() for name in arguments.only.split(",") if name.strip()}
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if wanted:
        scripts = [script for script in scripts if script.stem.removeprefix("bench_") in wanted]

    table: list[tuple[str, str, str, str, str]] = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, str(script)], cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        lines = []
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        process.wait()
        output = "".join(lines)
        figures = [tuple(line.strip().split("|")[1:5]) for line in lines if line.startswith("FIGURE|")]
        if script.stem == "bench_stack":
            figures += stack_figures(output)
        if process.returncode != 0:
            table.append((script.stem, "FAILED", f"exit {process.returncode}", "", "see output above"))
        elif not figures:
            table.append((script.stem, "(its own table, printed above)", "", "", ""))
        for name, value, unit, baseline in figures:
            table.append((script.stem, name, value, unit, baseline))
        print(f"=== {script.name}: {time.monotonic() - started:.0f} s ===", flush=True)

    print(f"\nFigures on {os.cpu_count()} cores:")
    widths = [max(len(row[column]) for row in [("script", "figure", "value", "unit", "baseline"), *table])
              for column in range(5)]
    header = ("script", "figure", "value", "unit", "baseline")
    for row in [header, tuple("-" * width for width in widths), *table]:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
