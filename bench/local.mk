## bench: make bench runs the benchmark harness (not part of make check).
##   make bench                          full run (BENCH_DURATION s windows, BENCH_ROUNDS rounds)
##   make bench BENCH_SMOKE=1            a few seconds: checks the harness, prints the table
##   make bench BENCH_CALLGRIND=200      also instructions per fetch under callgrind
## Results: the table on stdout and bench-results.json in the build directory;
## bench/rack.py then measures racks of 1, 100 and 1000 cards (bench-rack.json).
EXTRA_PROGRAMS = bench/trivial_card bench/apdu_loop
bench_trivial_card_SOURCES = bench/trivial_card.c
bench_apdu_loop_SOURCES = bench/apdu_loop.c
bench_apdu_loop_LDADD = $(PCSC_LIBS)
CLEANFILES = $(EXTRA_PROGRAMS) bench-results.json bench-pids bench-callgrind.nginx \
	bench-callgrind.tcpip bench-callgrind.bip bench-rack.json
EXTRA_DIST += bench/run.py bench/vicc_card.py bench/rack.py

BENCH_DURATION = 2
BENCH_ROUNDS = 9
BENCH_SMOKE =
BENCH_CALLGRIND = 0
BENCH_ARGS =
BENCH_PY = python3
BENCH_BINS = src/scwsemu src/scwsemu-fetch src/scwsemu-card \
	$(EXTRA_PROGRAMS)

bench: $(BENCH_BINS)
	$(BENCH_PY) $(srcdir)/bench/run.py --builddir $(abs_top_builddir) \
	  --srcdir $(abs_top_srcdir) --duration $(BENCH_DURATION) --rounds $(BENCH_ROUNDS) \
	  --callgrind $(BENCH_CALLGRIND) $(if $(BENCH_SMOKE),--smoke) $(BENCH_ARGS)
	$(BENCH_PY) $(srcdir)/bench/rack.py --builddir $(abs_top_builddir) \
	  --srcdir $(abs_top_srcdir) $(if $(BENCH_SMOKE),--smoke)
.PHONY: bench
