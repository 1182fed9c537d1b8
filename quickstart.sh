#!/usr/bin/env bash
# quickstart.sh - install what is missing, build, and run or test scwsemu.
#
#   ./quickstart.sh run [scwsemu options]   build, then start the emulator on cards/default
#   ./quickstart.sh test                    build with ASan/UBSan, then run the whole test suite
#
# Debian 12 packages are installed through apt-get (as root, or with sudo) only
# when one is missing, so a second run is fast.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

build_pkgs=(build-essential autoconf automake pkg-config libssl-dev libevent-dev
	libpcsclite-dev libconfig-dev libwbxml2-dev libexpat1-dev libxml2-dev libcunit1-dev libjansson-dev
	libsystemd-dev)
run_pkgs=(openssl curl python3)
test_pkgs=(libwbxml2-utils gnutls-bin jq pcscd pcsc-tools vsmartcard-vpcd opensc tshark
	clang clang-format lcov nginx-light wrk vsmartcard-vpicc python3-pycryptodome util-linux
	python3-pytest iproute2 strace)
# CI only (heavy): the Debian package is built, checked, installed and removed.
ci_pkgs=(debhelper lintian fakeroot)

say() { printf 'quickstart: %s\n' "$*" >&2; }

install_missing() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || { say "need root (or sudo) to install: ${missing[*]}"; exit 1; }
		sudo=(sudo)
	fi
	say "installing: ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
}

# show_failed_logs DIR...: print every automake test log under DIR whose
# result is FAIL or ERROR, so a CI transcript says which test broke and why.
show_failed_logs() {
	local trs log
	while IFS= read -r trs; do
		grep -qE '^:test-result: (FAIL|ERROR)' "$trs" || continue
		log=${trs%.trs}.log
		say "---- ${log#"$here"/} (last 60 lines)"
		tail -n 60 "$log" >&2
	done < <(find "$@" -name '*.trs' 2>/dev/null)
}

# build DIR [configure options]: configure once, then make (incremental).
build() {
	local dir=$1
	shift
	if [[ ! -x configure || configure.ac -nt configure || Makefile.am -nt configure ]]; then
		say "autoreconf"
		autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
	fi
	mkdir -p "$dir"
	if [[ ! -f $dir/Makefile || configure -nt $dir/Makefile ]]; then
		say "configure $* (in $dir)"
		(cd "$dir" && "$here/configure" -q "$@")
	fi
	say "make (in $dir)"
	make -C "$dir" -j"$(nproc)" >/dev/null
}

summary() {
	# One closing line that CI reads: "N passed, N failed, N skipped".
	local log=$1 pass fail skip
	pass=$(awk '/^# PASS:/ {print $3}' "$log")
	fail=$(awk '/^# (FAIL|ERROR|XPASS):/ {s += $3} END {print s + 0}' "$log")
	skip=$(awk '/^# SKIP:/ {print $3}' "$log")
	echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
}

# The tests that skipped, from the log of make check.
skipped() {
	awk '/^SKIP: / {print $2}' "$1"
}

# deb_check: the .deb built from the distribution tarball (never in this
# tree: it stays clean for the other builds), lintian without an error,
# installed, the installed scwsemu run from / with no --card, a fetch
# through it, the package removed.
deb_check() {
	local tmp rc=0 pid
	tmp=$(mktemp -d)
	say "dpkg-buildpackage (in $tmp)"
	make -C build-asan dist >/dev/null &&
		tar -C "$tmp" -xzf build-asan/scwsemu-*.tar.gz &&
		(cd "$tmp"/scwsemu-*/ && DEB_BUILD_OPTIONS="nocheck noddebs parallel=$(nproc)" \
			dpkg-buildpackage -b -us -uc >"$tmp/build.log" 2>&1) ||
		{ tail -30 "$tmp/build.log" >&2; say "dpkg-buildpackage FAILED"; rm -rf "$tmp"; return 1; }
	local deb
	deb=$(ls "$tmp"/scwsemu_*.deb)
	say "lintian $(basename "$deb")"
	lintian --fail-on error "$deb" >&2 || rc=1
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "$deb" >/dev/null || { rm -rf "$tmp"; return 1; }
	(cd / && exec /usr/bin/scwsemu --no-tcpip --port-map 4116=0 --port-map 3516=0 \
		--ready-file "$tmp/ready.json" 2>"$tmp/scwsemu.log") &
	pid=$!
	for _ in $(seq 200); do [[ -s $tmp/ready.json ]] && break; sleep 0.05; done
	local url ca
	url=$(python3 -c 'import json,sys; print(next(e["url"] for e in json.load(open(sys.argv[1]))["endpoints"] if e["scheme"] == "https"))' "$tmp/ready.json" 2>/dev/null) || rc=1
	ca=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca"])' "$tmp/ready.json" 2>/dev/null) || rc=1
	if ((rc == 0)) && [[ $ca == /usr/share/scwsemu/pki/scws-ca.crt ]] &&
		curl -sS --fail --cacert "$ca" -F devid=IMEI:493005100592800 "$url" -o "$tmp/b.wbxml"; then
		say "installed scwsemu (from /, no --card): fetched $(wc -c <"$tmp/b.wbxml") bytes from $url"
	else
		cat "$tmp/scwsemu.log" >&2
		say "installed scwsemu: no fetch (ready file: $(cat "$tmp/ready.json" 2>/dev/null))"
		rc=1
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq scwsemu >/dev/null || rc=1
	rm -rf "$tmp"
	return $rc
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
run)
	install_missing "${build_pkgs[@]}" "${run_pkgs[@]}"
	build build CFLAGS="-O2 -g"
	if [[ -x build/src/scwsemu ]]; then
		exec build/src/scwsemu --card cards/default "$@"
	fi
	exec build/src/scwsemu-card ls cards/default
	;;
test)
	install_missing "${build_pkgs[@]}" "${run_pkgs[@]}" "${test_pkgs[@]}"
	[[ ${CI:-} != true ]] || install_missing "${ci_pkgs[@]}"
	build build-asan --enable-asan --enable-werror
	rc=0
	make -C build-asan -j"$(nproc)" check || { rc=$?; show_failed_logs build-asan/tests; }
	if ((rc == 0)) && [[ ${CI:-} == true ]]; then
		# A smoke run of the benchmark harness: it must work and print
		# its table; speed is never pass/fail here (doc/benchmarks.md).
		say "make bench BENCH_SMOKE=1"
		make -C build-asan bench BENCH_SMOKE=1 || rc=$?
		say "make distcheck"
		if make -C build-asan distcheck >build-asan/distcheck.log 2>&1; then
			say "distcheck passed"
		else
			rc=1
			say "distcheck FAILED (build-asan/distcheck.log); its last lines and failing tests:"
			tail -n 40 build-asan/distcheck.log >&2
			show_failed_logs build-asan/scwsemu-*/_build
		fi
		# The tree is formatted with .clang-format: a file that is not fails.
		if make -C build-asan format-check >build-asan/format.log 2>&1; then
			say "format-check passed"
		else
			rc=1
			say "format-check FAILED (run clang-format -i on these):"
			grep -v '^make' build-asan/format.log >&2
		fi
		# clang sees what gcc lets pass (-Wcast-align among others): a
		# second build, build only.
		say "clang build with --enable-werror"
		build build-clang CC=clang --enable-werror || { rc=1; say "clang build FAILED"; }
		# Every libFuzzer target for a short run on top of the corpus
		# replay make check did (make fuzz, FUZZ_SECONDS each). A finding
		# is printed with its input but does not fail the run: a fresh
		# crash in new code is a bug to file, not a reason to hold back
		# everyone's work; add the input to the corpus when fixing it, and
		# make check fails on it from then on.
		say "libFuzzer: every target for ${CI_FUZZ_SECONDS:-20} s"
		if build build-fuzz CC=clang --enable-fuzzing; then
			if make -C build-fuzz fuzz FUZZ_SECONDS="${CI_FUZZ_SECONDS:-20}" \
				>build-fuzz/fuzz.log 2>&1; then
				say "fuzzing: no finding"
			else
				grep -E '^== |ERROR|SUMMARY|Test unit written|Base64' build-fuzz/fuzz.log | tail -20
				say "fuzzing FOUND A CRASH (advisory; input above, log build-fuzz/fuzz.log)"
			fi
		else
			rc=1
			say "fuzzing build FAILED"
		fi
		# Everything CI needs is installed: a skipped test is a failure.
		if [[ -n $(skipped build-asan/test-suite.log) ]]; then
			say "skipped under CI (a failure): $(skipped build-asan/test-suite.log | tr '\n' ' ')"
			rc=1
		fi
		# The Debian package: built, lintian-clean, installed, run from /
		# with no --card and fetched through, removed.
		deb_check || { rc=1; say "package check FAILED"; }
	fi
	summary build-asan/test-suite.log
	exit $rc
	;;
*)
	sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
