"""Side-by-side timing: contenders run interleaved in rounds, medians reported.

Machines here are noisy, so absolute times mean little; what a benchmark reports is
the ratio of medians measured in the same rounds. Each round runs every contender
for ``inner`` operations, in an order that rotates from round to round so neither
side always runs first (warm caches, CPU boost).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Batch", "Budget", "Comparison", "compare", "compare_batches", "repeat"]

Operation = Callable[[], object]
Batch = Callable[[int], object]


@dataclass(frozen=True)
class Budget:
    """How long to measure: ``rounds`` rounds in which each contender runs for about
    ``round_ms``, after a warm-up of about ``warmup_ms`` per contender. The number
    of operations per round is calibrated from the slowest contender, so one budget
    suits a dict lookup and a database round trip alike."""

    rounds: int
    round_ms: float
    warmup_ms: float
    max_inner: int = 1_000_000

    def inner_for(self, seconds_per_operation: float) -> int:
        if seconds_per_operation <= 0:
            return self.max_inner
        wanted = int(self.round_ms / 1000.0 / seconds_per_operation)
        return max(1, min(self.max_inner, wanted))


@dataclass
class Comparison:
    """Per-round nanoseconds per operation for each contender."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    def median_ns(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def median_us(self, name: str) -> float:
        return self.median_ns(name) / 1000.0

    def ratio(self, numerator: str, denominator: str) -> float:
        """Ratio of medians; both measured in the same rounds."""
        return self.median_ns(numerator) / self.median_ns(denominator)

    def difference_us(self, minuend: str, subtrahend: str) -> float:
        """Median of the per-round differences: the cost one contender adds."""
        pairs = zip(self.samples[minuend], self.samples[subtrahend], strict=True)
        return statistics.median(a - b for a, b in pairs) / 1000.0


def repeat(operation: Operation) -> Batch:
    """A batch that calls ``operation`` ``count`` times."""

    def batch(count: int) -> None:
        for _ in range(count):
            operation()

    return batch


def _timed(batch: Batch, count: int) -> int:
    started = time.perf_counter_ns()
    batch(count)
    return time.perf_counter_ns() - started


def _warm_up(batch: Batch, warmup_ms: float) -> float:
    """Run ``batch`` for about ``warmup_ms``; the seconds one operation took."""
    count, spent_ns, total = 1, 0, 0
    deadline_ns = warmup_ms * 1e6
    while True:
        elapsed = _timed(batch, count)
        spent_ns += elapsed
        total += count
        if spent_ns >= deadline_ns:
            return spent_ns / total / 1e9
        count = min(count * 2, 100_000)


def compare(
    contenders: Mapping[str, Operation], budget: Budget, *, disable_gc: bool = True
) -> Comparison:
    """Time single operations side by side (see ``compare_batches``)."""
    return compare_batches(
        {name: repeat(op) for name, op in contenders.items()}, budget, disable_gc=disable_gc
    )


def compare_batches(
    contenders: Mapping[str, Batch], budget: Budget, *, disable_gc: bool = True
) -> Comparison:
    """Time every contender side by side: A, B, C, then B, C, A, ... per round.

    A contender is a batch ``f(count)`` running ``count`` operations, so an async
    contender can run a whole batch inside one event-loop call.
    """
    names = list(contenders)
    slowest = max(_warm_up(contenders[name], budget.warmup_ms) for name in names)
    inner = budget.inner_for(slowest)
    result = Comparison({name: [] for name in names})
    gc_was_enabled = gc.isenabled()
    try:
        for round_number in range(budget.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                if disable_gc:
                    gc.disable()
                try:
                    elapsed = _timed(contenders[name], inner)
                finally:
                    if gc_was_enabled:
                        gc.enable()
                result.samples[name].append(elapsed / inner)
    finally:
        if gc_was_enabled:
            gc.enable()
    return result
