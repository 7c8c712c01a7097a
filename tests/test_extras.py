"""Every extra works installed alone, and a missing one is named in the error.

The slow tests build the project's wheel once, then for each extra make a fresh
virtual environment holding only the wheel with that extra (``pip --python``: no
pip inside the venv, pip's cache reused) and run ``tests/extras_probe.py`` there:
a save and load against the real server, or one request through the framework.
The fast tests run in this environment, with a package made unimportable in a
child interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import sessionware
import sessionware as sw
from sessionware.stores.registry import install_hint

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).resolve().with_name("extras_probe.py")
PIP_TIMEOUT = 300
PROBE_TIMEOUT = 120

#: What ``import sessionware`` may never load: asyncio, a driver, a framework.
NOT_ON_IMPORT = (
    "asyncio",
    "anyio",
    "greenlet",
    "redis",
    "sqlalchemy",
    "psycopg",
    "pymysql",
    "aiomysql",
    "asyncpg",
    "flask",
    "werkzeug",
    "django",
    "starlette",
    "uvicorn",
    "click",
    "rich",
    "jinja2",
    "cryptography",
)
IMPORT_CHECK = (
    "import sys, sessionware, sessionware.wsgi;"
    f"print([name for name in {NOT_ON_IMPORT!r} if name in sys.modules])"
)


def run_python(code: str, *, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=PROBE_TIMEOUT,
        cwd=ROOT,
    )


def without(*modules: str) -> str:
    """Code that makes ``modules`` unimportable, as if they were not installed."""
    return "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in modules)


def error_of(code: str) -> str:
    """``type: message`` of the exception ``code`` prints (it must raise one)."""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# --------------------------------------------------------------- fast checks


def test_importing_sessionware_loads_no_asyncio_driver_or_framework() -> None:
    result = run_python(IMPORT_CHECK)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_sync_sql_store_works_without_greenlet(tmp_path: Path) -> None:
    result = run_python(
        without("greenlet")
        + f"""
import sessionware as sw
store = sw.open_store("sqlite+pysqlite:///{tmp_path}/sessions.db")
print(store.load("missing"), "sqlalchemy.ext.asyncio" in sys.modules)
store.close()
"""
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "False"]


OPEN_AND_PRINT_ERROR = """
import asyncio
import sessionware as sw
try:
    {call}
except Exception as error:
    print(f"{{type(error).__name__}}: {{error}}")
"""


def open_error(url: str, *missing: str, is_async: bool = False) -> str:
    call = f"asyncio.run(sw.open_async_store({url!r}))" if is_async else f"sw.open_store({url!r})"
    return error_of(without(*missing) + OPEN_AND_PRINT_ERROR.format(call=call))


@pytest.mark.parametrize(
    ("url", "missing", "extra"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:5432/test", "psycopg", "postgres"),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/test", "sqlalchemy", "postgres"),
        ("mysql+pymysql://root@127.0.0.1:3306/test", "pymysql", "mysql"),
        ("mariadb+pymysql://root@127.0.0.1:3306/test", "pymysql", "mysql"),
        ("redis://127.0.0.1:6379/0", "redis", "redis"),
        ("redis+cluster://127.0.0.1:7000", "redis", "redis"),
        ("sqlite+pysqlite:///sessions.db", "sqlalchemy", "sql"),
    ],
)
def test_a_missing_package_names_the_extra_of_the_url(url: str, missing: str, extra: str) -> None:
    message = open_error(url, missing)

    assert message.startswith("MissingExtraError: ")
    assert f"[{extra}] extra" in message
    assert install_hint(extra) in message


@pytest.mark.parametrize("scheme", ["mysql", "mariadb"])
def test_a_mysql_url_naming_no_driver_says_which_driver_the_extra_brings(scheme: str) -> None:
    # SQLAlchemy's default MySQL driver (mysqlclient) is in no extra: installing
    # [mysql] again would not help, naming its driver in the URL does.
    message = open_error(f"{scheme}://root@127.0.0.1:3306/test", "MySQLdb")

    assert message.startswith("MissingExtraError: ")
    assert f"{scheme}+pymysql://" in message
    assert install_hint("mysql") in message


def test_a_postgres_url_opens_the_postgresql_store(postgres_url: str) -> None:
    # postgres:// is what many hosts hand out; SQLAlchemy only knows postgresql://.
    url = postgres_url.replace("postgresql", "postgres", 1)
    assert url.startswith("postgres+") or url.startswith("postgres://")

    store = sw.open_store(url, table=f"sw_postgres_scheme_{os.getpid()}")
    try:
        assert store.load("missing") is None
    finally:
        store.drop_table()  # type: ignore[attr-defined]
        store.close()


def test_the_async_postgresql_store_without_greenlet_names_the_postgres_extra() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

    message = open_error(url, "greenlet", is_async=True)

    assert message.startswith("MissingExtraError: ")
    assert install_hint("postgres") in message


def test_the_async_sqlite_store_without_aiosqlite_names_its_extra() -> None:
    message = open_error("sqlite+aiosqlite:///sessions.db", "aiosqlite", is_async=True)

    assert install_hint("sqlite-async") in message


def test_a_missing_extra_error_is_still_an_import_error() -> None:
    code = without("redis") + (
        "import sessionware as sw\n"
        "try:\n    sw.open_store('redis://127.0.0.1:6379/0')\n"
        "except ImportError as error:\n    print(isinstance(error, sw.StoreError))\n"
    )

    assert error_of(code) == "True"


def test_encryption_keys_without_cryptography_names_the_crypto_extra() -> None:
    code = without("cryptography") + (
        "import secrets\nimport sessionware as sw\n"
        "try:\n"
        "    sw.SessionManager(sw.open_store('memory://'), secret_key=secrets.token_urlsafe(32),\n"
        "                      encryption_keys=[bytes(32)])\n"
        "except ImportError as error:\n    print(error)\n"
    )

    assert "sessionware[crypto]" in error_of(code)


def test_a_missing_extra_error_keeps_the_password_out() -> None:
    message = open_error("postgresql+psycopg://u:s3cret-pw@127.0.0.1/test", "psycopg")

    assert "s3cret-pw" not in message
    assert "u:***@127.0.0.1" in message


def test_from_a_checkout_the_hint_is_an_editable_install() -> None:
    # The venv tests below see the PyPI form, from an installed wheel.
    if not Path(sessionware.__file__).resolve().is_relative_to(ROOT / "src"):
        pytest.skip("sessionware is not imported from this checkout")

    assert install_hint("postgres") == f'pip install -e ".[postgres]" in {ROOT}'


# ------------------------------------------------- each extra in its own venv


@dataclass(frozen=True)
class Case:
    """One way a user installs sessionware: an extra, maybe plus a driver."""

    name: str
    extra: str
    packages: tuple[str, ...] = ()
    server: str | None = None  # the fixture giving the server URL, if any


CASES = [
    Case("redis", "redis", server="redis_url"),
    Case("sql-sqlite", "sql"),
    Case("sql-psycopg", "sql", ("psycopg[binary]",), server="postgres_url"),
    Case("sql-pymysql", "sql", ("pymysql",), server="mysql_url"),
    Case("postgres", "postgres", server="postgres_url"),
    Case("mysql", "mysql", server="mysql_url"),
    Case("flask", "flask"),
    Case("django", "django"),
    Case("asgi", "asgi"),
    Case("cli", "cli"),
    Case("crypto", "crypto"),
]


def pip(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=PIP_TIMEOUT,
    )
    assert result.returncode == 0, f"pip {' '.join(args)} failed:\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def project_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built once as a wheel, as ``pip install sessionware`` gets it."""
    out = tmp_path_factory.mktemp("wheel")
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT))
    (wheel,) = out.glob("sessionware-*.whl")
    return wheel


def fresh_venv(path: Path) -> str:
    """A venv without pip (pip of this environment installs into it): ~40 ms."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)],
        check=True,
        timeout=PROBE_TIMEOUT,
    )
    return str(path / "bin" / "python")


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_an_extra_installed_alone_works(
    case: Case, project_wheel: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(case.server) if case.server else ""
    python = fresh_venv(tmp_path / "venv")
    pip("--python", python, "install", "--quiet", f"{project_wheel}[{case.extra}]", *case.packages)

    light = run_python(IMPORT_CHECK, python=python)
    assert light.returncode == 0, light.stderr
    assert light.stdout.strip() == "[]", f"import sessionware loaded {light.stdout.strip()}"

    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    probe = subprocess.run(
        [python, str(PROBE), case.name, url],
        capture_output=True,
        text=True,
        check=False,
        timeout=PROBE_TIMEOUT,
        cwd=tmp_path,  # not the checkout: only the installed wheel is importable
        env=env,
    )
    assert probe.returncode == 0, f"{case.name}:\n{probe.stdout}\n{probe.stderr[-4000:]}"
    assert probe.stdout.strip().endswith(f"ok {case.name}")
