## src/lab: the instrument's sans-I/O pieces (fault registry).
noinst_LIBRARIES += src/lab/liblab.a
src_lab_liblab_a_SOURCES = \
	src/lab/fault.c src/lab/fault.h

check_PROGRAMS += tests/unit/test_lab_fault
TESTS += tests/unit/test_lab_fault
tests_unit_test_lab_fault_SOURCES = tests/unit/test_lab_fault.c
tests_unit_test_lab_fault_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lab_fault_LDADD = $(UNIT_LIBS) $(LIB_LAB) $(DEP_LIBS) $(CUNIT_LIBS)
