## src/tools: scwsemu-card (and later scwsemu-fetch).
bin_PROGRAMS += src/scwsemu-card
src_scwsemu_card_SOURCES = src/tools/card_main.c
src_scwsemu_card_LDADD = src/config/libcli.a $(LIB_PROFILE) $(DEP_LIBS)

dist_man_MANS += doc/scwsemu-card.1
