#!/usr/bin/env bash
# Build the release (wheel and sdist), check it as PyPI would, and run the smoke
# tests against what was built, never the checkout:
#   - the wheel with [cli,test] in a fresh venv: tests/smoke and the other tests
#     marked `smoke`, run from a temporary directory (the checkout's src is not on
#     sys.path; the first smoke test asserts sessionware comes from the venv);
#   - the sdist with [cli] alone in another fresh venv: `sessionware demo` starts,
#     serves its shop page and stops.
# Usage: bash scripts/check_release.sh   (needs `build` and `twine`; .ci/run installs them)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1

echo "-- build"
python -m build --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 || {
    tail -40 "$work/build.log"
    exit 1
}
wheel="$(ls "$work"/dist/sessionware-*.whl)"
sdist="$(ls "$work"/dist/sessionware-*.tar.gz)"
echo "built $(basename "$wheel") $(basename "$sdist")"

echo "-- twine check"
python -m twine check --strict "$wheel" "$sdist"

echo "-- the wheel with [cli,test], smoke tests from outside the checkout"
python -m venv --without-pip "$work/wheel-venv"
python -m pip --python "$work/wheel-venv/bin/python" install -q "$wheel[cli,test]"
cd "$work"
SESSIONWARE_SMOKE_INSTALLED=1 "$work/wheel-venv/bin/python" -m pytest -q -p no:cacheprovider \
    --confcutdir="$root/tests/smoke" -m smoke "$root/tests/smoke" "$root/tests/test_otel.py"

echo "-- the sdist with [cli] alone runs the demo"
python -m venv --without-pip "$work/sdist-venv"
python -m pip --python "$work/sdist-venv/bin/python" install -q "$sdist[cli]" pytest pytest-timeout
SESSIONWARE_SMOKE_INSTALLED=1 "$work/sdist-venv/bin/python" -m pytest -q -p no:cacheprovider \
    --confcutdir="$root/tests/smoke" -m smoke "$root/tests/smoke"
