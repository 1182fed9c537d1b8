## src/tools: scwsemu-card and scwsemu-fetch.
bin_PROGRAMS += src/scwsemu-card
src_scwsemu_card_SOURCES = src/tools/card_main.c
src_scwsemu_card_LDADD = src/config/libcli.a $(LIB_PROFILE) $(DEP_LIBS)

dist_man_MANS += doc/scwsemu-card.1

# scwsemu-fetch: the reference handset client and load generator (threads).
bin_PROGRAMS += src/scwsemu-fetch
src_scwsemu_fetch_SOURCES = src/tools/fetch_main.c
src_scwsemu_fetch_CFLAGS = $(AM_CFLAGS) -pthread
src_scwsemu_fetch_LDFLAGS = $(AM_LDFLAGS) -pthread
src_scwsemu_fetch_LDADD = src/config/libcli.a $(LIB_SCWS) $(DEP_LIBS)

dist_man_MANS += doc/scwsemu-fetch.1
TESTS += tests/integration/fetch.sh
