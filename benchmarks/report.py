"""Results: rows with an optional target, rendered as a markdown table and JSON."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Report", "Row", "machine"]


@dataclass
class Row:
    """One measurement. ``target`` is text like "<= 1.30"; ``ok`` None when there is none."""

    scenario: str
    store: str
    measurement: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "MISS")


@dataclass
class Report:
    mode: str
    rows: list[Row] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def skip(self, scenario: str, store: str, reason: str) -> None:
        self.skipped.append({"scenario": scenario, "store": store, "reason": reason})

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "machine": machine(),
            "seconds": round(self.seconds, 1),
            "rows": [{**asdict(row), "result": row.result} for row in self.rows],
            "skipped": self.skipped,
            "notes": self.notes,
            "config": self.config,
        }

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, indent=2)
            handle.write("\n")

    def markdown(self) -> str:
        info = machine()
        lines = [
            f"Mode: {self.mode}, {self.seconds:.0f} s. Machine: {info['nproc']} CPU "
            f"({info['cpu']}), Python {info['python']}, {info['platform']}.",
            "",
            "| scenario | store | measurement | value | target | result |",
            "|---|---|---|---:|---|---|",
        ]
        for row in self.rows:
            lines.append(
                f"| {row.scenario} | {row.store} | {row.measurement} | "
                f"{_format(row.value)} {row.unit} | {row.target} | {row.result} |"
            )
        misses = [row for row in self.rows if row.ok is False]
        passes = [row for row in self.rows if row.ok]
        lines += ["", f"Targets: {len(passes)} PASS, {len(misses)} MISS."]
        if self.skipped:
            grouped: dict[tuple[str, str], list[str]] = {}
            for skip in self.skipped:
                grouped.setdefault((skip["store"], skip["reason"]), []).append(skip["scenario"])
            lines += ["", "Skipped:", ""]
            lines += [
                f"- {store} ({', '.join(scenarios)}): {reason}"
                for (store, reason), scenarios in grouped.items()
            ]
        if self.notes:
            lines += ["", "Notes:", ""]
            lines += [f"- {note}" for note in self.notes]
        if self.config:
            lines += ["", "Configuration:", ""]
            lines += [f"- {name}: {text}" for name, text in self.config.items()]
        return "\n".join(lines)


def _format(value: float) -> str:
    if not math.isfinite(value):
        # A speed-up over a cost that noise drove to zero (tiny smoke budgets).
        return "inf" if value > 0 else "-inf" if value < 0 else "nan"
    if value == int(value) and abs(value) >= 100:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
    }
