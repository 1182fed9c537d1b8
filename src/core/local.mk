## src/core: no protocol knowledge, no libevent.
noinst_LIBRARIES += src/core/libcore.a
src_core_libcore_a_SOURCES = \
	src/core/bytes.h src/core/buf.c src/core/buf.h src/core/file.c src/core/file.h src/core/hex.c \
	src/core/hex.h src/core/json.c src/core/json.h src/core/limits.h src/core/log.c src/core/log.h \
	src/core/perr.c src/core/perr.h src/core/strparse.c src/core/strparse.h src/core/timeval.h \
	src/core/xml.c src/core/xml.h

check_PROGRAMS += tests/unit/test_core
tests_unit_test_core_SOURCES = tests/unit/test_core.c
tests_unit_test_core_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_core_LDADD = $(UNIT_LIBS) $(LIB_CORE) $(CUNIT_LIBS)
TESTS += tests/unit/test_core
