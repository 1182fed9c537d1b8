## src/transport: the only code that touches sockets, timers or libevent.
noinst_LIBRARIES += src/transport/libtransport.a
src_transport_libtransport_a_SOURCES = \
	src/transport/tcpip.c src/transport/tcpip.h \
	src/transport/admit.c src/transport/admit.h \
	src/transport/sock.c src/transport/sock.h \
	src/transport/bip_sink.c src/transport/bip_sink.h \
	src/transport/setup_check.c src/transport/setup_check.h
# The control socket (--control PATH; the protocol is src/lab/control.c).
src_transport_libtransport_a_SOURCES += \
	src/transport/control.c src/transport/control.h
# Traces and the vpcd card link (tests in src/trace/local.mk).
src_transport_libtransport_a_SOURCES += \
	src/transport/hostport.c src/transport/hostport.h \
	src/transport/gsmtap_udp.c src/transport/gsmtap_udp.h \
	src/transport/vpcd_frame.c src/transport/vpcd_frame.h \
	src/transport/vpcd.c src/transport/vpcd.h

# The terminal-side BIP gateway: APDU link, sans-I/O engine, libevent shell.
src_transport_libtransport_a_SOURCES += \
	src/transport/link.c src/transport/link.h src/transport/link_emu.c \
	src/transport/bip_term.c src/transport/bip_term.h \
	src/transport/bip_gw.c src/transport/bip_gw.h

# The gateway over PC/SC (--reader): the link, its T=0 transport and the
# insertion/removal watcher; unit tests over a fake PC/SC layer.
src_transport_libtransport_a_SOURCES += \
	src/transport/link_pcsc.c src/transport/link_pcsc.h

check_PROGRAMS += tests/unit/test_transport_link_pcsc
TESTS += tests/unit/test_transport_link_pcsc
tests_unit_test_transport_link_pcsc_SOURCES = tests/unit/test_transport_link_pcsc.c
tests_unit_test_transport_link_pcsc_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_transport_link_pcsc_LDADD = $(UNIT_LIBS) $(LIB_TRANSPORT) $(DEP_LIBS) \
	$(CUNIT_LIBS)
# End to end over a private pcscd with vpcd and OpenSC (--vpcd, --reader).
TESTS += tests/integration/pcsc.sh tests/integration/pcsc_card.sh tests/integration/rack_pcsc.sh
FUZZ_TARGETS += tests/fuzz/fuzz_link_pcsc
tests_fuzz_fuzz_link_pcsc_SOURCES = tests/fuzz/fuzz_link_pcsc.c
tests_fuzz_fuzz_link_pcsc_LDADD = $(FUZZ_MAIN) $(LIB_TRANSPORT) $(DEP_LIBS)

check_PROGRAMS += tests/unit/test_transport_admit
TESTS += tests/unit/test_transport_admit
tests_unit_test_transport_admit_SOURCES = tests/unit/test_transport_admit.c
tests_unit_test_transport_admit_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_transport_admit_LDADD = $(UNIT_LIBS) $(LIB_TRANSPORT) $(DEP_LIBS) $(CUNIT_LIBS)

# tcpip.c over loopback; two libevent calls and send() (tcpip.c writes
# straight to the socket while nothing is queued) wrapped so that the test
# can free a client inside pump() (tests/unit/test_transport_tcpip.c).
check_PROGRAMS += tests/unit/test_transport_tcpip
TESTS += tests/unit/test_transport_tcpip
tests_unit_test_transport_tcpip_SOURCES = tests/unit/test_transport_tcpip.c
tests_unit_test_transport_tcpip_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_transport_tcpip_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=evbuffer_remove,--wrap=send \
	-Wl,--wrap=bufferevent_write
tests_unit_test_transport_tcpip_LDADD = $(UNIT_LIBS) $(LIB_TRANSPORT) $(DEP_LIBS) $(CUNIT_LIBS)

check_PROGRAMS += tests/unit/test_transport_sock
TESTS += tests/unit/test_transport_sock
tests_unit_test_transport_sock_SOURCES = tests/unit/test_transport_sock.c
tests_unit_test_transport_sock_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_transport_sock_LDADD = $(UNIT_LIBS) $(LIB_TRANSPORT) $(DEP_LIBS) $(CUNIT_LIBS)

check_PROGRAMS += tests/unit/test_transport_bip_gw
TESTS += tests/unit/test_transport_bip_gw
tests_unit_test_transport_bip_gw_SOURCES = tests/unit/test_transport_bip_gw.c
tests_unit_test_transport_bip_gw_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_transport_bip_gw_LDADD = $(UNIT_LIBS) $(LIB_TRANSPORT) $(DEP_LIBS) $(CUNIT_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_bip_gw
tests_fuzz_fuzz_bip_gw_SOURCES = tests/fuzz/fuzz_bip_gw.c
tests_fuzz_fuzz_bip_gw_LDADD = $(FUZZ_MAIN) $(LIB_TRANSPORT) $(DEP_LIBS)

dist_man_MANS += doc/scwsemu.1

# The vpcd link (vpcd_frame.c, vpcd.c).
check_PROGRAMS += tests/unit/test_vpcd
TESTS += tests/unit/test_vpcd
tests_unit_test_vpcd_SOURCES = tests/unit/test_vpcd.c
tests_unit_test_vpcd_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vpcd_LDADD = $(UNIT_LIBS) $(LIB_TRANSPORT) $(DEP_LIBS) $(CUNIT_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_vpcd
tests_fuzz_fuzz_vpcd_SOURCES = tests/fuzz/fuzz_vpcd.c
tests_fuzz_fuzz_vpcd_LDADD = $(FUZZ_MAIN) $(LIB_TRANSPORT) $(DEP_LIBS)
