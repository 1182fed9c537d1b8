#!/bin/bash
# examples.sh - the fixtures of examples/ against this build: the shell
# fixture fetches over BIP and TCP/IP; the pytest fixture's tests pass.
. "$(dirname "$0")/lib.sh"
need curl python3
# Debian's python3-pytest: the python3 on PATH may be another one.
PY=
for p in python3 /usr/bin/python3; do
	"$p" -c 'import pytest' 2>/dev/null && PY=$p && break
done
[ -n "$PY" ] || skip_all "python3-pytest not installed"
export SCWSEMU

out=$(sh "$top_srcdir/examples/fixture.sh" 2>&1)
expect_eq "examples/fixture.sh exits 0" 0 $?
expect_match "... fetched over BIP" '^fetched [0-9]+ bytes from https://127\.0\.0\.1:[0-9]+/OMA/DM/Bootstrap\.xml$' "$out"
expect_eq "... twice (BIP and TCP/IP)" 2 "$(printf '%s\n' "$out" | grep -c '^fetched ')"

# Read-only source tree in distcheck: no cache, no bytecode there.
out=$(cd "$T_TMP" && PYTHONDONTWRITEBYTECODE=1 "$PY" -m pytest -q -p no:cacheprovider \
	"$top_srcdir/examples/pytest" 2>&1)
expect_eq "examples/pytest passes" 0 $?
expect_match "... both tests" '2 passed' "$out"

finish
