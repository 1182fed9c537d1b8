## tests: checks that are not one module's unit tests.
TESTS += tests/banned.sh tests/doc_refs.sh
# Files, not build directories: a directory that also exists in the build
# tree (tests/integration holds the logs, tests/tools the objects) would be
# copied from there too, and VPATH would then find stale objects in the dist.
EXTRA_DIST += tests/banned.sh tests/doc_refs.sh tests/coverage_table.sh tests/fuzz/corpus tests/data tests/tools/exchanges.h \
	tests/integration/bip.sh \
	tests/integration/card_cli.sh \
	tests/integration/control.sh \
	tests/integration/endpoints.sh \
	tests/integration/examples.sh \
	tests/integration/faults.sh \
	tests/integration/fetch.sh \
	tests/integration/fixture.sh \
	tests/integration/hostile.sh \
	tests/integration/lib.sh \
	tests/integration/mistakes.sh \
	tests/integration/pcsc.sh \
	tests/integration/pcsc_card.sh \
	tests/integration/pcsc_lib.sh \
	tests/integration/rack.sh \
	tests/integration/rack_pcsc.sh \
	tests/integration/tcpip.sh \
	tests/integration/tls_resume.sh \
	tests/integration/http_paths.sh \
	tests/integration/trace_fetch.sh \
	tests/integration/trace_tshark.sh \
	tests/integration/verdicts.sh

# End-to-end tests: real binaries, real clients, loopback only.
TESTS += tests/integration/faults.sh
TESTS += tests/integration/card_cli.sh tests/integration/tcpip.sh tests/integration/tls_resume.sh \
	tests/integration/http_paths.sh \
	tests/integration/bip.sh tests/integration/trace_fetch.sh \
	tests/integration/hostile.sh \
	tests/integration/control.sh tests/integration/fixture.sh \
	tests/integration/examples.sh tests/integration/mistakes.sh
# Many cards in one process (over PC/SC: rack_pcsc.sh, in src/transport/local.mk).
TESTS += tests/integration/rack.sh

# examples/: fixtures for other projects' tests (run by examples.sh), and
# debian/: dpkg-buildpackage -b -us -uc builds scwsemu_*.deb.
EXTRA_DIST += examples/README.md examples/fixture.sh examples/pytest/conftest.py \
	examples/pytest/test_bootstrap.py examples/ci/github-actions.yml \
	examples/ci/gitlab-ci.yml \
	debian/changelog debian/control debian/copyright debian/rules \
	debian/scwsemu.service debian/source/format
# The client under test judged: journal, verdicts, reports, --until-fetched,
# the Bootstrap Server.
TESTS += tests/integration/verdicts.sh
