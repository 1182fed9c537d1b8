## src/transport: the only code that touches sockets, timers or libevent.
noinst_LIBRARIES += src/transport/libtransport.a
src_transport_libtransport_a_SOURCES = \
	src/transport/tcpip.c src/transport/tcpip.h
# Traces and the vpcd card link (tests in src/trace/local.mk).
src_transport_libtransport_a_SOURCES += \
	src/transport/hostport.c src/transport/hostport.h \
	src/transport/gsmtap_udp.c src/transport/gsmtap_udp.h \
	src/transport/vpcd_frame.c src/transport/vpcd_frame.h \
	src/transport/vpcd.c src/transport/vpcd.h

# scwsemu, the daemon: wiring in src/main.c.
bin_PROGRAMS += src/scwsemu
src_scwsemu_SOURCES = src/main.c
src_scwsemu_LDADD = src/config/libcli.a $(LIBSCWS) $(DEP_LIBS)
dist_man_MANS += doc/scwsemu.1
