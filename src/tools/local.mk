## src/tools: scwsemu-card and scwsemu-fetch.
bin_PROGRAMS += src/scwsemu-card
src_scwsemu_card_SOURCES = src/tools/card_main.c
src_scwsemu_card_LDADD = src/tools/libstamp.a src/config/libcli.a $(LIB_PROFILE) $(DEP_LIBS)

# new --count: the per-card values of a stamped set (sans-I/O).
noinst_LIBRARIES += src/tools/libstamp.a
src_tools_libstamp_a_SOURCES = src/tools/stamp.c src/tools/stamp.h
check_PROGRAMS += tests/unit/test_tools_stamp
TESTS += tests/unit/test_tools_stamp
tests_unit_test_tools_stamp_SOURCES = tests/unit/test_tools_stamp.c
tests_unit_test_tools_stamp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tools_stamp_LDADD = $(UNIT_LIBS) src/tools/libstamp.a $(LIB_CORE) $(CUNIT_LIBS) \
	$(DEP_LIBS)

dist_man_MANS += doc/scwsemu-card.1

# scwsemu-fetch: the reference handset client and load generator (threads).
noinst_LIBRARIES += src/tools/libfetch.a
src_tools_libfetch_a_SOURCES = src/tools/fetch_url.c src/tools/fetch_url.h
bin_PROGRAMS += src/scwsemu-fetch
src_scwsemu_fetch_SOURCES = src/tools/fetch_main.c src/tools/fetch.h \
	src/tools/fetch_net.c src/tools/fetch_load.c
src_scwsemu_fetch_CFLAGS = $(AM_CFLAGS) -pthread
src_scwsemu_fetch_LDFLAGS = $(AM_LDFLAGS) -pthread
src_scwsemu_fetch_LDADD = src/tools/libfetch.a src/config/libcli.a $(LIB_TRANSPORT) $(DEP_LIBS)

check_PROGRAMS += tests/unit/test_tools_fetch_url
TESTS += tests/unit/test_tools_fetch_url
tests_unit_test_tools_fetch_url_SOURCES = tests/unit/test_tools_fetch_url.c
tests_unit_test_tools_fetch_url_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tools_fetch_url_LDADD = $(UNIT_LIBS) src/tools/libfetch.a $(LIB_CORE) $(CUNIT_LIBS)

dist_man_MANS += doc/scwsemu-fetch.1
TESTS += tests/integration/fetch.sh

# scwsemu-ctl: one command to a running scwsemu's control socket.
bin_PROGRAMS += src/scwsemu-ctl
src_scwsemu_ctl_SOURCES = src/tools/ctl_main.c
src_scwsemu_ctl_LDADD = $(LIB_LAB) $(DEP_LIBS)
dist_man_MANS += doc/scwsemu-ctl.1
