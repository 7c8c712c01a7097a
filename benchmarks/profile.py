"""``python -m benchmarks.profile [--stores memory,sqlite,redis]``: where a request's
session time goes.

Two views of the same hot path (a read-only and a writing request through the WSGI
middleware, 1 KB session): the cost of each step of sessionware's own code timed
in isolation (interleaved, medians), and a pyinstrument profile of the whole
request when pyinstrument is installed (the bench extra).
"""

from __future__ import annotations

import argparse
import itertools

import sessionware as sw
from sessionware.cookies import read_cookie
from sessionware.core.codecs import encode_named, raw_functions
from sessionware.core.signing import store_key

from .context import Bench, stored_session
from .driver import wsgi_environ, wsgi_request
from .report import Report
from .scenarios.per_request import bare_app, make_write_app, read_app
from .stores import RunContext, open_target
from .timing import Budget, compare

BUDGET = Budget(rounds=9, round_ms=30, warmup_ms=20)


def steps(manager: sw.SessionManager, cookie: str) -> dict[str, float]:
    """Median microseconds of each step a read-only request takes."""
    core, store = manager.core, manager.store
    header = f"other=1; session={cookie}"
    session = manager.open(cookie)
    session.get("user")
    key, data = session.key, session.to_dict()
    record = store.load(key)
    assert record is not None
    payload = record.data
    signed = core.signer.unsign(cookie)
    assert signed is not None
    now = record.created_at + 1
    numbers = itertools.count()
    encode, decode = raw_functions(core.codec)
    env = wsgi_environ(cookie=cookie)
    contenders = {
        "read_cookie (parse Cookie header)": lambda: read_cookie(header, "session"),
        "unsign (remembered after the first visit)": lambda: core.signer.unsign(cookie),
        "verify HMAC (a cookie's first visit)": lambda: core.signer._verify(cookie),
        "store_key (SHA-256)": lambda: store_key(signed.session_id),
        "core.open (unsign + Session; the key comes with the cookie)": lambda: core.open(
            cookie, now
        ),
        "store.load": lambda: store.load(key),
        "codec.decode 1 KB (msgspec, as the core calls it)": lambda: decode(payload),
        "encode 1 KB (change check, as the core calls it)": lambda: encode_named(
            encode, core.codec, data
        ),
        "sign (new cookie)": lambda: core.signer.sign(signed.session_id, now),
        "manager.open + get + save_changes (read)": lambda: _read(manager, cookie),
        "manager.open + set + save_changes (write)": lambda: _write(manager, cookie, numbers),
        "WSGI bare request": wsgi_request(bare_app, env),
        "WSGI read request": wsgi_request(sw.wsgi.SessionMiddleware(read_app, manager), env),
        "WSGI write request": wsgi_request(
            sw.wsgi.SessionMiddleware(make_write_app(), manager), env
        ),
    }
    result = compare(contenders, BUDGET)
    return {name: result.median_us(name) for name in contenders}


def _read(manager: sw.SessionManager, cookie: str) -> None:
    session = manager.open(cookie)
    session.get("user")
    manager.save_changes(session)


def _write(manager: sw.SessionManager, cookie: str, numbers: itertools.count[int]) -> None:
    session = manager.open(cookie)
    session["counter"] = next(numbers)
    manager.save_changes(session)


def pyinstrument_profile(manager: sw.SessionManager, cookie: str, requests: int) -> str | None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    env = wsgi_environ(cookie=cookie)
    read = wsgi_request(sw.wsgi.SessionMiddleware(read_app, manager), env)
    write = wsgi_request(sw.wsgi.SessionMiddleware(make_write_app(), manager), env)
    profiler = Profiler(interval=0.0001)
    profiler.start()
    for number in range(requests):
        (write if number % 2 else read)()
    profiler.stop()
    text: str = profiler.output_text(unicode=False, color=False, show_all=False)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--stores", default="memory,sqlite,redis")
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args(argv)
    run = RunContext.create()
    bench = Bench("quick", args.stores.split(","), run, Report("profile"))
    try:
        for spec in bench.specs("profile"):
            target = open_target(spec, run, with_raw=False)
            manager = bench.manager(target.store)
            try:
                cookie = stored_session(manager)
                print(f"\n## {spec.name}: steps of one request (median us)\n")
                for name, micros in steps(manager, cookie).items():
                    print(f"{micros:8.2f}  {name}")
                text = pyinstrument_profile(manager, cookie, args.requests)
                if text is not None:
                    print(f"\n## {spec.name}: pyinstrument, {args.requests} requests\n")
                    print(text)
            finally:
                manager.close()
                target.close()
        for skip in bench.report.skipped:
            print(f"skipped {skip['store']}: {skip['reason']}")
    finally:
        run.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
