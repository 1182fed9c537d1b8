## src/config: card profiles (libconfig) and, later, the command line.
noinst_LIBRARIES += src/config/libprofile.a
src_config_libprofile_a_SOURCES = \
	src/config/profile.c src/config/profile.h

check_PROGRAMS += tests/unit/test_config_profile
TESTS += tests/unit/test_config_profile
tests_unit_test_config_profile_SOURCES = tests/unit/test_config_profile.c
tests_unit_test_config_profile_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_profile_LDADD = $(UNIT_LIBS) $(LIB_PROFILE) $(DEP_LIBS) $(CUNIT_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_profile
tests_fuzz_fuzz_profile_SOURCES = tests/fuzz/fuzz_profile.c
tests_fuzz_fuzz_profile_LDADD = $(FUZZ_MAIN) $(LIB_PROFILE) $(DEP_LIBS)

# The scwsemu command line (kept in its own library: it needs no card code).
noinst_LIBRARIES += src/config/libcli.a
src_config_libcli_a_SOURCES = src/config/cli.c src/config/cli.h \
	src/config/paths.c src/config/paths.h
check_PROGRAMS += tests/unit/test_config_cli
TESTS += tests/unit/test_config_cli
tests_unit_test_config_cli_SOURCES = tests/unit/test_config_cli.c
tests_unit_test_config_cli_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_cli_LDADD = $(UNIT_LIBS) src/config/libcli.a $(LIB_CORE) $(CUNIT_LIBS)
