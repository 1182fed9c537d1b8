## src/transport: the only code that touches sockets, timers or libevent.
noinst_LIBRARIES += src/transport/libtransport.a
src_transport_libtransport_a_SOURCES = \
	src/transport/tcpip.c src/transport/tcpip.h
