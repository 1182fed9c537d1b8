## tests: checks that are not one module's unit tests.
TESTS += tests/banned.sh
EXTRA_DIST += tests/banned.sh tests/fuzz/corpus tests/data tests/integration tests/tools

# End-to-end tests: real binaries, real clients, loopback only.
TESTS += tests/integration/card_cli.sh tests/integration/tcpip.sh \
	tests/integration/bip.sh tests/integration/trace_fetch.sh
