"""Generate the sync twins of the async I/O layer (the httpcore approach).

The async modules are the source of truth; this script rewrites them token by token
into sync modules. ``--check`` exits non-zero when a generated file is stale (run by
the test suite, so a forgotten regeneration fails CI).

Rules: ``async def/with/for`` lose ``async``; ``await`` disappears; ``AsyncFoo``
becomes ``Foo`` and ``__aenter__``-style names their sync spelling; a line ending
in ``# unasync: remove`` is dropped.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "sessionware"

#: (source, generated) pairs. Hand-written per-flavour modules (``background.py``)
#: are not listed.
FILES = [
    (PACKAGE / "_async" / "manager.py", PACKAGE / "_sync" / "manager.py"),
    (PACKAGE / "_async" / "visits.py", PACKAGE / "_sync" / "visits.py"),
    (
        PACKAGE / "testing" / "_async" / "conformance.py",
        PACKAGE / "testing" / "_sync" / "conformance.py",
    ),
    (PACKAGE / "stores" / "_async" / "redis.py", PACKAGE / "stores" / "_sync" / "redis.py"),
    (PACKAGE / "stores" / "_async" / "sql.py", PACKAGE / "stores" / "_sync" / "sql.py"),
    (PACKAGE / "stores" / "_async" / "tiered.py", PACKAGE / "stores" / "_sync" / "tiered.py"),
]

SUBSTITUTIONS = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait\s+", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\bIS_ASYNC = True\b", "IS_ASYNC = False"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\bimport asyncio\b", "import time"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\b_async\b", "_sync"),
    (r"\basync_(\w+)", r"\1"),
    (r"\basync\b", "sync"),
    # redis-py: redis.asyncio(.cluster/.sentinel/.retry) -> redis(.cluster/...)
    (r"\bredis\.asyncio\b", "redis"),
    (r"\baclose\b", "close"),
    # SQLAlchemy: the asyncio extension's names and their sync counterparts, which
    # the top-level package exports; ``conn.run_sync(f, x)`` becomes ``f(conn, x)``.
    (r"\bfrom sqlalchemy\.ext\.asyncio import\b", "from sqlalchemy import"),
    (r"\bcreate_async_engine\b", "create_engine"),
    (r"\b(\w+)\.run_sync\(([\w.]+),\s*", r"\2(\1, "),
    # SQLAlchemy's greenlet bridge: ``await greenlet_spawn(f, x)`` becomes ``f(x)``.
    (r"\bgreenlet_spawn\(([\w.]+),\s*", r"\1("),
]
COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in SUBSTITUTIONS]
REMOVE_MARK = "# unasync: remove"


def header(source: Path) -> str:
    relative = source.relative_to(ROOT).as_posix()
    return f"# Generated from {relative} by scripts/unasync.py. Do not edit.\n"


def unasync_line(line: str) -> str:
    for pattern, replacement in COMPILED:
        line = pattern.sub(replacement, line)
    return line


def generate(source: Path) -> str:
    lines = source.read_text().splitlines(keepends=True)
    kept = (line for line in lines if not line.rstrip().endswith(REMOVE_MARK))
    return header(source) + "".join(unasync_line(line) for line in kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if any output is stale")
    args = parser.parse_args(argv)
    stale = []
    for source, target in FILES:
        expected = generate(source)
        if target.exists() and target.read_text() == expected:
            continue
        if args.check:
            stale.append(target.relative_to(ROOT).as_posix())
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(expected)
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print("stale generated files (run python scripts/unasync.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
