## src/trace: GSMTAP encapsulation and pcap files of APDU exchanges.
noinst_LIBRARIES += src/trace/libtrace.a
src_trace_libtrace_a_SOURCES = \
	src/trace/gsmtap.c src/trace/gsmtap.h \
	src/trace/pcap.c src/trace/pcap.h

# test_trace also covers the live sender (src/transport/gsmtap_udp.c).
check_PROGRAMS += tests/unit/test_trace
TESTS += tests/unit/test_trace
tests_unit_test_trace_SOURCES = tests/unit/test_trace.c
tests_unit_test_trace_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_trace_LDADD = $(UNIT_LIBS) $(LIB_TRANSPORT) $(DEP_LIBS) $(CUNIT_LIBS)

# Helpers for the integration test and for measurements (not tests):
# trace_apdus writes a pcap (or live GSMTAP) from a text list of exchanges;
# vpcd_card attaches a card profile to vpcd; pcsc_loop times APDUs through
# pcscd (SELECT 3F00 + READ BINARY).
check_PROGRAMS += tests/tools/trace_apdus tests/tools/vpcd_card tests/tools/pcsc_loop
tests_tools_trace_apdus_SOURCES = tests/tools/trace_apdus.c
tests_tools_trace_apdus_LDADD = $(LIB_TRANSPORT) $(DEP_LIBS)
tests_tools_vpcd_card_SOURCES = tests/tools/vpcd_card.c
tests_tools_vpcd_card_LDADD = $(LIB_TRANSPORT) $(DEP_LIBS)
tests_tools_pcsc_loop_SOURCES = tests/tools/pcsc_loop.c
tests_tools_pcsc_loop_LDADD = $(DEP_LIBS)

TESTS += tests/integration/trace_tshark.sh
