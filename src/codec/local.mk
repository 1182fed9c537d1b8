## src/codec: stateless encoders and decoders (BER-TLV/DER, WBXML).
noinst_LIBRARIES += src/codec/libcodec.a
src_codec_libcodec_a_SOURCES = \
	src/codec/tlv.c src/codec/tlv.h \
	src/codec/wbxml.c src/codec/wbxml.h

check_PROGRAMS += tests/unit/test_codec_tlv tests/unit/test_codec_wbxml
TESTS += tests/unit/test_codec_tlv tests/unit/test_codec_wbxml
tests_unit_test_codec_tlv_SOURCES = tests/unit/test_codec_tlv.c
tests_unit_test_codec_tlv_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_codec_tlv_LDADD = $(UNIT_LIBS) $(LIB_CODEC) $(DEP_LIBS) $(CUNIT_LIBS)
tests_unit_test_codec_wbxml_SOURCES = tests/unit/test_codec_wbxml.c
tests_unit_test_codec_wbxml_CFLAGS = $(UNIT_CFLAGS) $(LIBXML_CFLAGS)
tests_unit_test_codec_wbxml_LDADD = $(UNIT_LIBS) $(LIB_CODEC) $(DEP_LIBS) $(LIBXML_LIBS) $(CUNIT_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_der
tests_fuzz_fuzz_der_SOURCES = tests/fuzz/fuzz_der.c
tests_fuzz_fuzz_der_LDADD = $(FUZZ_MAIN) $(LIB_PKCS15) $(DEP_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_xml
tests_fuzz_fuzz_xml_SOURCES = tests/fuzz/fuzz_xml.c
tests_fuzz_fuzz_xml_LDADD = $(FUZZ_MAIN) $(LIB_CODEC) $(DEP_LIBS)
