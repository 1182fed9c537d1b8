## src/scws: the Smart Card Web Server, sans-I/O (TLS, HTTP, handlers).
noinst_LIBRARIES += src/scws/libscws.a
src_scws_libscws_a_SOURCES = \
	src/scws/http.c src/scws/http.h \
	src/scws/http_head.c src/scws/http_head.h \
	src/scws/http_resp.c src/scws/http_resp.h \
	src/scws/chunked.c src/scws/chunked.h src/scws/framer.c src/scws/framer.h \
	src/scws/multipart.c src/scws/multipart.h \
	src/scws/tls.c src/scws/tls.h \
	src/scws/bootstrap.c src/scws/bootstrap.h \
	src/scws/server.c src/scws/server.h \
	src/scws/throttle.c src/scws/throttle.h \
	src/scws/conn.c src/scws/conn.h \
	src/scws/observe.h

check_PROGRAMS += tests/unit/test_scws_http tests/unit/test_scws_multipart \
	tests/unit/test_scws_tls tests/unit/test_scws_bootstrap
TESTS += tests/unit/test_scws_http tests/unit/test_scws_multipart \
	tests/unit/test_scws_tls tests/unit/test_scws_bootstrap
tests_unit_test_scws_http_SOURCES = tests/unit/test_scws_http.c
tests_unit_test_scws_http_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_scws_http_LDADD = $(UNIT_LIBS) $(LIB_SCWS) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_scws_multipart_SOURCES = tests/unit/test_scws_multipart.c
tests_unit_test_scws_multipart_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_scws_multipart_LDADD = $(UNIT_LIBS) $(LIB_SCWS) $(DEP_LIBS) $(CUNIT_LIBS)
check_PROGRAMS += tests/unit/test_scws_throttle
TESTS += tests/unit/test_scws_throttle
tests_unit_test_scws_throttle_SOURCES = tests/unit/test_scws_throttle.c
tests_unit_test_scws_throttle_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_scws_throttle_LDADD = $(UNIT_LIBS) $(LIB_SCWS) $(DEP_LIBS) $(CUNIT_LIBS)
check_PROGRAMS += tests/unit/test_scws_http_resp
TESTS += tests/unit/test_scws_http_resp
tests_unit_test_scws_http_resp_SOURCES = tests/unit/test_scws_http_resp.c
tests_unit_test_scws_http_resp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_scws_http_resp_LDADD = $(UNIT_LIBS) $(LIB_SCWS) $(DEP_LIBS) $(CUNIT_LIBS)
check_PROGRAMS += tests/unit/test_scws_chunked tests/unit/test_scws_framer
TESTS += tests/unit/test_scws_chunked tests/unit/test_scws_framer
tests_unit_test_scws_framer_SOURCES = tests/unit/test_scws_framer.c
tests_unit_test_scws_framer_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_scws_framer_LDADD = $(UNIT_LIBS) $(LIB_SCWS) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_scws_chunked_SOURCES = tests/unit/test_scws_chunked.c
tests_unit_test_scws_chunked_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_scws_chunked_LDADD = $(UNIT_LIBS) $(LIB_SCWS) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_scws_tls_SOURCES = tests/unit/test_scws_tls.c
tests_unit_test_scws_tls_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_scws_tls_LDADD = $(UNIT_LIBS) $(LIB_SCWS) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_scws_bootstrap_SOURCES = tests/unit/test_scws_bootstrap.c
tests_unit_test_scws_bootstrap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_scws_bootstrap_LDADD = $(UNIT_LIBS) $(LIB_SCWS) $(DEP_LIBS) $(CUNIT_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_http tests/fuzz/fuzz_multipart tests/fuzz/fuzz_scws
tests_fuzz_fuzz_http_SOURCES = tests/fuzz/fuzz_http.c
tests_fuzz_fuzz_http_LDADD = $(FUZZ_MAIN) $(LIB_SCWS) $(DEP_LIBS)
tests_fuzz_fuzz_multipart_SOURCES = tests/fuzz/fuzz_multipart.c
tests_fuzz_fuzz_multipart_LDADD = $(FUZZ_MAIN) $(LIB_SCWS) $(DEP_LIBS)
tests_fuzz_fuzz_scws_SOURCES = tests/fuzz/fuzz_scws.c
tests_fuzz_fuzz_scws_LDADD = $(FUZZ_MAIN) $(LIB_SCWS) $(DEP_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_http_resp
tests_fuzz_fuzz_http_resp_SOURCES = tests/fuzz/fuzz_http_resp.c
tests_fuzz_fuzz_http_resp_LDADD = $(FUZZ_MAIN) $(LIB_SCWS) $(DEP_LIBS)

# pki/: the published test CA and SCWS server certificate (pki/README.md).
# Installed beside cards/, whose profiles name ../../pki/scws-server.crt.
nobase_dist_pkgdata_DATA += pki/scws-ca.crt pki/scws-server.crt pki/scws-server.key \
	pki/scws-server-rsa.crt pki/scws-server-rsa.key \
	pki/bootsrv.crt pki/bootsrv.key \
	pki/scws-fault-wrong-name.crt pki/scws-fault-expired.crt \
	pki/scws-fault-untrusted.crt pki/scws-fault-self-signed.crt pki/scws-fault.key
EXTRA_DIST += pki/README.md pki/make-pki.sh pki/scws-ca.key
