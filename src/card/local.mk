## src/card: the emulated UICC, (state, C-APDU) -> R-APDU.
noinst_LIBRARIES += src/card/libcard.a src/card/libpkcs15.a
src_card_libcard_a_SOURCES = \
	src/card/apdu.c src/card/apdu.h \
	src/card/atr.c src/card/atr.h \
	src/card/fs.c src/card/fs.h \
	src/card/card.c src/card/card.h \
	src/card/cat_msg.c src/card/cat_msg.h \
	src/card/cat.c src/card/cat.h \
	src/card/bip.c src/card/bip.h
src_card_libpkcs15_a_SOURCES = \
	src/card/pkcs15.c src/card/pkcs15.h \
	src/card/layout.c src/card/layout.h

check_PROGRAMS += tests/unit/test_card_apdu tests/unit/test_card_fs tests/unit/test_card_atr \
	tests/unit/test_card_card tests/unit/test_card_pkcs15 \
	tests/unit/test_card_layout tests/unit/test_card_cat_msg \
	tests/unit/test_card_cat
TESTS += tests/unit/test_card_apdu tests/unit/test_card_fs tests/unit/test_card_atr \
	tests/unit/test_card_card tests/unit/test_card_pkcs15 \
	tests/unit/test_card_layout tests/unit/test_card_cat_msg \
	tests/unit/test_card_cat
tests_unit_test_card_apdu_SOURCES = tests/unit/test_card_apdu.c
tests_unit_test_card_apdu_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_card_apdu_LDADD = $(UNIT_LIBS) $(LIB_CARD) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_card_atr_SOURCES = tests/unit/test_card_atr.c
tests_unit_test_card_atr_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_card_atr_LDADD = $(UNIT_LIBS) $(LIB_CARD) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_card_fs_SOURCES = tests/unit/test_card_fs.c
tests_unit_test_card_fs_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_card_fs_LDADD = $(UNIT_LIBS) $(LIB_CARD) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_card_card_SOURCES = tests/unit/test_card_card.c
tests_unit_test_card_card_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_card_card_LDADD = $(UNIT_LIBS) $(LIB_CARD) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_card_pkcs15_SOURCES = tests/unit/test_card_pkcs15.c
tests_unit_test_card_pkcs15_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_card_pkcs15_LDADD = $(UNIT_LIBS) $(LIB_PKCS15) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_card_layout_SOURCES = tests/unit/test_card_layout.c
tests_unit_test_card_layout_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_card_layout_LDADD = $(UNIT_LIBS) $(LIB_PKCS15) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_card_cat_msg_SOURCES = tests/unit/test_card_cat_msg.c
tests_unit_test_card_cat_msg_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_card_cat_msg_LDADD = $(UNIT_LIBS) $(LIB_CARD) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_card_cat_SOURCES = tests/unit/test_card_cat.c
tests_unit_test_card_cat_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_card_cat_LDADD = $(UNIT_LIBS) $(LIB_CARD) $(DEP_LIBS) $(CUNIT_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_apdu
tests_fuzz_fuzz_apdu_SOURCES = tests/fuzz/fuzz_apdu.c
tests_fuzz_fuzz_apdu_LDADD = $(FUZZ_MAIN) $(LIB_CARD) $(DEP_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_cat
tests_fuzz_fuzz_cat_SOURCES = tests/fuzz/fuzz_cat.c
tests_fuzz_fuzz_cat_LDADD = $(FUZZ_MAIN) $(LIB_CARD) $(DEP_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_atr
tests_fuzz_fuzz_atr_SOURCES = tests/fuzz/fuzz_atr.c
tests_fuzz_fuzz_atr_LDADD = $(FUZZ_MAIN) $(LIB_CARD) $(DEP_LIBS)
