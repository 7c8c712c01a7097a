"""``FaultInjector``: a store proxy that makes chosen operations fail, for chaos tests.

    store = FaultInjector(real_store, fail={"touch_many": StoreUnavailable("x", "down")})
    ...                           # every touch_many raises; the other operations work
    store.heal()                  # and now touch_many works again

``probability`` and ``seed`` make faults random but reproducible; ``times`` stops
after that many faults. Works for sync and async stores alike.
"""

from __future__ import annotations

import inspect
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from ..stores.base import STORE_OPERATIONS, AsyncStore, Store, StoreProxy

__all__ = ["FaultInjector"]

Fault = BaseException | type[BaseException]


class FaultInjector(StoreProxy):
    """Wraps ``store``; each operation named in ``fail`` raises the given exception
    (an instance, or a class instantiated with a message) instead of reaching the store.

    ``fail`` may be changed at any time (``injector.fail["load"] = TimeoutError``).
    ``injected`` counts the faults raised per operation, ``calls`` every call.
    """

    def __init__(
        self,
        store: Store | AsyncStore | StoreProxy,
        fail: Mapping[str, Fault] | None = None,
        *,
        probability: float = 1.0,
        seed: int | None = None,
        times: int | None = None,
    ) -> None:
        unknown = set(fail or ()) - set(STORE_OPERATIONS)
        if unknown:
            raise ValueError(f"not store operations: {sorted(unknown)}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        super().__init__(store)
        self.fail: dict[str, Fault] = dict(fail or {})
        self.probability = probability
        self.times = times
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        for operation in STORE_OPERATIONS:
            target = getattr(store, operation, None)
            if target is not None:
                setattr(self, operation, self._wrap(operation, target))

    def heal(self) -> None:
        """Stop injecting faults."""
        self.fail.clear()

    def _fault_for(self, operation: str) -> BaseException | None:
        with self._lock:
            self.calls[operation] += 1
            fault = self.fail.get(operation)
            if fault is None or (self.times is not None and self.times <= 0):
                return None
            if self.probability < 1.0 and self._random.random() >= self.probability:
                return None
            if self.times is not None:
                self.times -= 1
            self.injected[operation] += 1
        if isinstance(fault, BaseException):
            return fault
        return fault(f"injected fault in {operation}")

    def _wrap(self, operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(call):

            async def failing_async(*args: Any, **kwargs: Any) -> Any:
                fault = self._fault_for(operation)
                if fault is not None:
                    raise fault
                return await call(*args, **kwargs)

            return failing_async

        def failing(*args: Any, **kwargs: Any) -> Any:
            fault = self._fault_for(operation)
            if fault is not None:
                raise fault
            return call(*args, **kwargs)

        return failing
