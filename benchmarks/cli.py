"""``python -m benchmarks``: run the scenarios, print a markdown table, write JSON."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import time
import traceback

from .context import Bench
from .report import Report
from .stores import STORES, RunContext

SCENARIOS = {
    "roundtrip": "benchmarks.scenarios.roundtrip",
    "request": "benchmarks.scenarios.per_request",
    "peers": "benchmarks.scenarios.peers",
    "scale": "benchmarks.scenarios.scale",
    "visits": "benchmarks.scenarios.visits",
    "concurrency": "benchmarks.scenarios.concurrency",
    "memory": "benchmarks.scenarios.memory",
    "near_cache": "benchmarks.scenarios.near_cache",
    "features": "benchmarks.scenarios.features",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="sessionware benchmarks: ratios measured side by side in one run.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="under 2 minutes")
    mode.add_argument("--smoke", action="store_true", help="tiny counts, for the test suite")
    parser.add_argument(
        "--stores",
        default=",".join(STORES),
        help=f"comma-separated, from {','.join(STORES)} (default: all)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from {','.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--output", help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    args.stores = _names(parser, args.stores, STORES, "store")
    args.scenarios = _names(parser, args.scenarios, SCENARIOS, "scenario")
    return args


def _names(parser: argparse.ArgumentParser, text: str, known: object, kind: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]  # type: ignore[operator]
    if unknown:
        parser.error(f"unknown {kind}(s): {', '.join(unknown)}")
    return names


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so every scenario's cleanup (Redis prefixes, SQL
    # tables on shared servers) still runs.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    report = Report(mode)
    run = RunContext.create()
    bench = Bench(mode, args.stores, run, report)
    started = time.perf_counter()
    failed = False
    try:
        for name in args.scenarios:
            print(f"== {name}", file=sys.stderr, flush=True)
            scenario_started = time.perf_counter()
            try:
                importlib.import_module(SCENARIOS[name]).run(bench)
            except Exception as exc:
                failed = True
                traceback.print_exc()
                report.notes.append(f"scenario {name} failed: {type(exc).__name__}: {exc}")
            print(f"   {time.perf_counter() - scenario_started:.1f} s", file=sys.stderr, flush=True)
    finally:
        run.cleanup()
    report.seconds = time.perf_counter() - started
    print(report.markdown())
    if args.output:
        report.write_json(args.output)
    return 1 if failed else 0
