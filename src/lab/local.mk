## src/lab: the instrument, sans-I/O, between transport and scws: the fault
## registry, the control protocol and its command table, scenarios, the
## journal of the clients under test and their verdicts.
noinst_LIBRARIES += src/lab/liblab.a
src_lab_liblab_a_SOURCES = \
	src/lab/fault.c src/lab/fault.h \
	src/lab/control.c src/lab/control.h \
	src/lab/journal.c src/lab/journal.h \
	src/lab/verdict.c src/lab/verdict.h \
	src/lab/scenario.c src/lab/scenario.h

check_PROGRAMS += tests/unit/test_lab_fault
TESTS += tests/unit/test_lab_fault
tests_unit_test_lab_fault_SOURCES = tests/unit/test_lab_fault.c
tests_unit_test_lab_fault_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lab_fault_LDADD = $(UNIT_LIBS) $(LIB_LAB) $(DEP_LIBS) $(CUNIT_LIBS)

check_PROGRAMS += tests/unit/test_lab_control
TESTS += tests/unit/test_lab_control
tests_unit_test_lab_control_SOURCES = tests/unit/test_lab_control.c
tests_unit_test_lab_control_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lab_control_LDADD = $(UNIT_LIBS) $(LIB_LAB) $(DEP_LIBS) $(CUNIT_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_control
tests_fuzz_fuzz_control_SOURCES = tests/fuzz/fuzz_control.c
tests_fuzz_fuzz_control_LDADD = $(FUZZ_MAIN) $(LIB_LAB) $(DEP_LIBS)

check_PROGRAMS += tests/unit/test_lab_journal tests/unit/test_lab_verdict
TESTS += tests/unit/test_lab_journal tests/unit/test_lab_verdict
tests_unit_test_lab_journal_SOURCES = tests/unit/test_lab_journal.c
tests_unit_test_lab_journal_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lab_journal_LDADD = $(UNIT_LIBS) $(LIB_LAB) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_lab_verdict_SOURCES = tests/unit/test_lab_verdict.c
tests_unit_test_lab_verdict_CFLAGS = $(UNIT_CFLAGS) $(LIBXML_CFLAGS)
tests_unit_test_lab_verdict_LDADD = $(UNIT_LIBS) $(LIB_LAB) $(DEP_LIBS) $(LIBXML_LIBS) $(CUNIT_LIBS)

check_PROGRAMS += tests/unit/test_lab_scenario
TESTS += tests/unit/test_lab_scenario
tests_unit_test_lab_scenario_SOURCES = tests/unit/test_lab_scenario.c
tests_unit_test_lab_scenario_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lab_scenario_LDADD = $(UNIT_LIBS) $(LIB_LAB) $(DEP_LIBS) $(CUNIT_LIBS)
