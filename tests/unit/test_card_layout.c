/* test_card_layout.c - unit tests for src/card/layout.c: the generated files
 * byte for byte (doc/protocol.md §4.3), overrides and extra files with their
 * errors, and end to end: the PKCS#15 walk over card_transmit() on the
 * built tree returns exactly spec->bootstrap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "card/layout.h"
#include "card/pkcs15.h"
#include "core/hex.h"
#include "runner.h"

static size_t hx(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int rc = hex_decode(s, out, cap, &n);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return n;
}

static void check_node(struct card_fs *fs, const uint16_t *path, size_t n, const char *hex,
		       const char *label)
{
	const struct card_fs_node *node = card_fs_lookup(fs, path, n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(node);
	uint8_t exp[512];
	size_t en = hx(hex, exp, sizeof(exp));
	CU_ASSERT_EQUAL(node->data.len, en);
	if (node->data.len == en)
		CU_ASSERT_EQUAL(memcmp(node->data.p, exp, en), 0);
	if (label)
		CU_ASSERT_STRING_EQUAL(node->label, label);
}

static void set_bootstrap(struct card_spec *s, size_t len)
{
	free(s->bootstrap);
	s->bootstrap = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->bootstrap);
	for (size_t i = 0; i < len; i++)
		s->bootstrap[i] = (uint8_t)(i * 31 + 3);
	s->bootstrap_len = len;
	s->has_bootstrap = true;
}

static struct card_file_spec *add_file(struct card_spec *s, const char *origin, const uint16_t *p,
				       size_t n, enum card_fs_type type, uint8_t rec_len,
				       const char *hex)
{
	struct card_file_spec *nf = realloc(s->files, (s->n_files + 1) * sizeof(*nf));
	CU_ASSERT_PTR_NOT_NULL_FATAL(nf);
	s->files = nf;
	struct card_file_spec *f = &nf[s->n_files++];
	memset(f, 0, sizeof(*f));
	memcpy(f->path, p, n * sizeof(*p));
	f->path_len = n;
	f->type = type;
	f->rec_len = rec_len;
	snprintf(f->origin, sizeof(f->origin), "%s", origin);
	if (hex) {
		uint8_t tmp[600];
		f->len = hx(hex, tmp, sizeof(tmp));
		f->data = malloc(f->len ? f->len : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f->data);
		memcpy(f->data, tmp, f->len);
	}
	return f;
}

static const uint16_t P_DIR[] = { 0x3F00, 0x2F00 };
static const uint16_t P_ICCID[] = { 0x3F00, 0x2FE2 };
static const uint16_t P_ODF[] = { 0x3F00, 0x7F50, 0x5031 };
static const uint16_t P_TOKEN[] = { 0x3F00, 0x7F50, 0x5032 };
static const uint16_t P_DODF[] = { 0x3F00, 0x7F50, 0x6430 };
static const uint16_t P_BOOT[] = { 0x3F00, 0x7F50, 0x6432 };

static void test_defaults_bytes(void)
{
	struct card_spec s;
	card_spec_init(&s);
	set_bootstrap(&s, 20);
	memcpy(s.iccid, "\x98\x88\x02\x00\x00\x00\x00\x00\x00\xF6", 10);
	s.iccid_len = 10;
	struct card_fs *fs = NULL;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(card_layout_build(&s, &fs, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(fs->mf->label, "MF");
	check_node(fs, P_ICCID, 2, "98 88 02 00 00 00 00 00 00 F6", "EF.ICCID");
	/* §4.3 record, with the path pointing at the real ADF 7F50. */
	check_node(fs, P_DIR, 2,
		   "61 1D 4F 0C A0 00 00 00 63 50 4B 43 53 2D 31 35 "
		   "50 07 50 4B 43 53 23 31 35 51 04 3F 00 7F 50",
		   "EF.DIR");
	const struct card_fs_node *dir = card_fs_lookup(fs, P_DIR, 2);
	CU_ASSERT_EQUAL(dir->type, CARD_FS_EF_LINEAR_FIXED);
	CU_ASSERT_EQUAL(dir->rec_len, 31);
	CU_ASSERT_EQUAL(card_fs_record_count(dir), 1);
	CU_ASSERT_EQUAL(dir->sfi, 0x1E);
	const struct card_fs_node *adf = card_fs_find_aid(fs, card_pkcs15_aid, 12);
	CU_ASSERT_PTR_NOT_NULL_FATAL(adf);
	CU_ASSERT_EQUAL(adf->fid, 0x7F50);
	CU_ASSERT_STRING_EQUAL(adf->label, "ADF PKCS#15");
	check_node(fs, P_ODF, 3, "A7 06 30 04 04 02 64 30", "EF.ODF");
	check_node(fs, P_TOKEN, 3,
		   "30 2E 02 01 00 04 08 01 02 03 04 05 06 07 08 0C 08 53 43 57 53 "
		   "2D 45 4D 55 80 12 44 4D 20 62 6F 6F 74 73 74 72 61 70 20 74 6F "
		   "6B 65 6E 03 01 00",
		   "EF.TokenInfo");
	check_node(fs, P_DODF, 3,
		   "A1 22 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 "
		   "A1 0E 30 0C 06 04 67 2B 07 01 30 04 04 02 64 32",
		   "EF.DODF");
	const struct card_fs_node *b = card_fs_lookup(fs, P_BOOT, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(b->label, "EF.DM_Bootstrap");
	CU_ASSERT_EQUAL(b->data.len, 20);
	CU_ASSERT_EQUAL(memcmp(b->data.p, s.bootstrap, 20), 0);
	CU_ASSERT_FALSE(b->update_always);
	card_fs_free(fs);
	card_spec_cleanup(&s);
	CU_ASSERT_PTR_NULL(s.bootstrap);
}

static void test_oid_places_bytes(void)
{
	static const struct {
		enum card_oid_place place;
		bool mis;
		const char *dodf;
	} cases[] = {
		{ CARD_OID_APPLICATION_OID, false,
		  "30 20 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 06 06 04 67 2B 07 01 "
		  "A1 06 30 04 04 02 64 32" },
		{ CARD_OID_BOTH, false,
		  "A1 28 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 06 06 04 67 2B 07 01 "
		  "A1 0E 30 0C 06 04 67 2B 07 01 30 04 04 02 64 32" },
		{ CARD_OID_TYPE_ATTRIBUTES, true,
		  "A1 24 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 "
		  "A1 10 30 0E 06 06 06 04 67 2B 09 01 30 04 04 02 64 32" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct card_spec s;
		card_spec_init(&s);
		set_bootstrap(&s, 4);
		s.oid_place = cases[i].place;
		s.oid_misencoded = cases[i].mis;
		struct card_fs *fs = NULL;
		char err[256];
		CU_ASSERT_EQUAL_FATAL(card_layout_build(&s, &fs, err, sizeof(err)), 0);
		check_node(fs, P_DODF, 3, cases[i].dodf, NULL);
		card_fs_free(fs);
		card_spec_cleanup(&s);
	}
}

/* ---- end to end: the walk over card_transmit() ---- */

static int transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
		    size_t *rlen)
{
	return card_transmit(ctx, capdu, len, rapdu, cap, rlen);
}

static void collect(void *arg, const char *line)
{
	struct buf *b = arg;
	if (buf_append_str(b, line) || buf_append_u8(b, '\n'))
		CU_FAIL("report buffer");
}

/* The PIN block walk_spec() gives the walk (NULL: none). */
static const uint8_t *walk_pin1;

/* Builds the spec's tree, walks it through a card configured with the
 * spec's options; 0 or the walk's error. */
static int walk_spec(const struct card_spec *s, struct buf *out, char *err, size_t errcap,
		     struct buf *lines, struct card_pkcs15_walk_info *info)
{
	struct card_fs *fs = NULL;
	int rc = card_layout_build(s, &fs, err, errcap);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	struct card *card = card_new(fs, s->atr, s->atr_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(card);
	CU_ASSERT_EQUAL_FATAL(card_configure(card, &s->opts), 0);
	struct card_pkcs15_walk_ops ops = { .transmit = transmit,
					    .ctx = card,
					    .report = lines ? collect : NULL,
					    .report_arg = lines,
					    .pin1 = walk_pin1 };
	rc = card_pkcs15_walk(&ops, out, info, err, errcap);
	/* The walk closed its channel: only the basic channel is open. */
	for (unsigned ch = 1; ch < CARD_LOGICAL_CHANNELS; ch++)
		CU_ASSERT_FALSE(card_channel_is_open(card, ch));
	card_free(card);
	card_fs_free(fs);
	return rc;
}

static void expect_walk_ok(const struct card_spec *s)
{
	struct buf out;
	buf_init(&out, CARD_EF_SIZE_MAX);
	char err[256];
	struct card_pkcs15_walk_info info;
	int rc = walk_spec(s, &out, err, sizeof(err), NULL, &info);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		fprintf(stderr, "\n  walk: %d %s\n", rc, err);
	CU_ASSERT_EQUAL(out.len, s->bootstrap_len);
	if (out.len == s->bootstrap_len)
		CU_ASSERT_EQUAL(memcmp(out.p, s->bootstrap, out.len), 0);
	CU_ASSERT_EQUAL(info.misencoded_oid, s->oid_misencoded);
	buf_cleanup(&out);
}

static void test_e2e_default(void)
{
	struct card_spec s;
	card_spec_init(&s);
	set_bootstrap(&s, 311);
	struct buf out, lines;
	buf_init(&out, CARD_EF_SIZE_MAX);
	buf_init(&lines, 65536);
	char err[256];
	struct card_pkcs15_walk_info info;
	CU_ASSERT_EQUAL(walk_spec(&s, &out, err, sizeof(err), &lines, &info), 0);
	CU_ASSERT_EQUAL(out.len, 311);
	CU_ASSERT_EQUAL(memcmp(out.p, s.bootstrap, 311), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(info.channel, 1);
	CU_ASSERT_EQUAL(info.ef_path_len, 2);
	CU_ASSERT_EQUAL(memcmp(info.ef_path, "\x64\x32", 2), 0);
	CU_ASSERT_FALSE(info.misencoded_oid);
	CU_ASSERT_TRUE(buf_append_u8(&lines, 0) == 0);
	const char *l = (const char *)lines.p;
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "READ RECORD 1 of EF.DIR: 90 00, application "
					 "A000000063504B43532D3135 \"PKCS#15\" path 3F00/7F50"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "SELECT 7FFF/6432 (bootstrap EF 6432): 90 00, "
					 "transparent, 311 bytes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "311 bytes of bootstrap"));
	if (getenv("SHOW_WALK"))
		fprintf(stderr, "\n%s", l);
	buf_cleanup(&lines);
	buf_cleanup(&out);
	card_spec_cleanup(&s);
}

static void test_e2e_variants(void)
{
	/* Past 7FFF the walk reads with B1 (offset DO 54). */
	static const size_t sizes[] = { 1,     255,   256,   257,   4096,  5003,
					32767, 32768, 32769, 40000, 61440, 65535 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct card_spec s;
		card_spec_init(&s);
		set_bootstrap(&s, sizes[i]);
		expect_walk_ok(&s);
		card_spec_cleanup(&s);
	}
	for (int place = 0; place < 3; place++) {
		for (int mis = 0; mis < 2; mis++) {
			struct card_spec s;
			card_spec_init(&s);
			set_bootstrap(&s, 100);
			s.oid_place = (enum card_oid_place)place;
			s.oid_misencoded = mis;
			expect_walk_ok(&s);
			card_spec_cleanup(&s);
		}
	}
	/* Other FIDs, another (longer) AID, no labels. */
	struct card_spec s;
	card_spec_init(&s);
	set_bootstrap(&s, 77);
	s.pkcs15_fid = 0x7F10;
	s.odf_fid = 0x5031;
	s.dodf_fid = 0x4401;
	s.bootstrap_fid = 0x4402;
	s.tokeninfo_fid = 0x5032;
	s.pkcs15_aid[12] = 0x01;
	s.pkcs15_aid_len = 13;
	s.dodf_label[0] = '\0';
	s.token_label[0] = '\0';
	s.manufacturer[0] = '\0';
	expect_walk_ok(&s);
	card_spec_cleanup(&s);
}

static void test_e2e_no_bootstrap(void)
{
	struct card_spec s;
	card_spec_init(&s);
	struct card_fs *fs = NULL;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(card_layout_build(&s, &fs, err, sizeof(err)), 0);
	/* ODF and DODF are there (the DODF all padding), the EF is not. */
	check_node(fs, P_ODF, 3, "A7 06 30 04 04 02 64 30", NULL);
	const struct card_fs_node *d = card_fs_lookup(fs, P_DODF, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(d->data.len, 36);
	for (size_t i = 0; i < d->data.len; i++)
		CU_ASSERT_EQUAL(d->data.p[i], 0xFF);
	CU_ASSERT_PTR_NULL(card_fs_lookup(fs, P_BOOT, 3));
	card_fs_free(fs);

	struct buf out;
	buf_init(&out, CARD_EF_SIZE_MAX);
	CU_ASSERT_EQUAL(walk_spec(&s, &out, err, sizeof(err), NULL, NULL), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "DODF 6430 has no entry with OID 2.23.43.7.1");
	CU_ASSERT_EQUAL(out.len, 0);
	buf_cleanup(&out);
	card_spec_cleanup(&s);
}

static void test_e2e_overrides(void)
{
	static const struct {
		const uint16_t *path;
		size_t n;
		enum card_fs_type type;
		uint8_t rec_len;
		const char *hex;
		int rc;
		const char *err;
	} cases[] = {
		/* A DODF that points to a missing EF: a broken card. */
		{ P_DODF, 3, CARD_FS_EF_TRANSPARENT, 0,
		  "A1 22 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 A1 0E 30 0C "
		  "06 04 67 2B 07 01 30 04 04 02 64 39",
		  -EPROTO, "SELECT 7FFF/6439 (bootstrap EF 6439): 6A 82" },
		/* Malformed DODF. */
		{ P_DODF, 3, CARD_FS_EF_TRANSPARENT, 0, "A1 22 30 0E", -EPROTO,
		  "DODF 6430: malformed (4 bytes)" },
		/* ODF without dataObjects. */
		{ P_ODF, 3, CARD_FS_EF_TRANSPARENT, 0, "A8 06 30 04 04 02 64 30", -ENOENT,
		  "ODF has no DODF" },
		/* EF.DIR with another application only (longer records, padded). */
		{ P_DIR, 2, CARD_FS_EF_LINEAR_FIXED, 0x14,
		  "61 0E 4F 0C A0 00 00 00 87 10 02 FF FF FF FF 89 FF FF FF FF "
		  "FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF",
		  -ENOENT, "EF.DIR has no PKCS#15 application" },
		/* Empty bootstrap EF. */
		{ P_BOOT, 3, CARD_FS_EF_TRANSPARENT, 0, "", -ENOENT, "bootstrap EF 6432 is empty" },
		/* DODF with the absolute path form, still found. */
		{ P_DODF, 3, CARD_FS_EF_TRANSPARENT, 0,
		  "A1 26 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 A1 12 30 10 "
		  "06 04 67 2B 07 01 30 08 04 06 3F 00 7F 50 64 32 FF FF",
		  0, "" },
		/* EF.DIR record: PKCS#15 second, after a USIM record, 2 records. */
		{ P_DIR, 2, CARD_FS_EF_LINEAR_FIXED, 0x21,
		  "61 0E 4F 0C A0 00 00 00 87 10 02 FF FF FF FF 89 FF FF FF FF FF FF FF FF FF FF "
		  "FF FF FF FF FF FF FF "
		  "61 1D 4F 0C A0 00 00 00 63 50 4B 43 53 2D 31 35 50 07 50 4B 43 53 23 31 35 "
		  "51 04 3F 00 7F 50 FF FF",
		  0, "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct card_spec s;
		card_spec_init(&s);
		set_bootstrap(&s, 50);
		add_file(&s, "card.conf:9", cases[i].path, cases[i].n, cases[i].type,
			 cases[i].rec_len, cases[i].hex);
		struct buf out;
		buf_init(&out, CARD_EF_SIZE_MAX);
		char err[256];
		int rc = walk_spec(&s, &out, err, sizeof(err), NULL, NULL);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].err));
		if (rc != cases[i].rc || !strstr(err, cases[i].err))
			fprintf(stderr, "\n  case %zu: %d %s\n", i, rc, err);
		CU_ASSERT_EQUAL(out.len, rc ? 0 : 50);
		buf_cleanup(&out);
		card_spec_cleanup(&s);
	}
}

static void test_extra_files(void)
{
	struct card_spec s;
	card_spec_init(&s);
	static const uint16_t df[] = { 0x3F00, 0x7F10 };
	static const uint16_t ef[] = { 0x3F00, 0x7F10, 0x6F3A };
	static const uint16_t pl[] = { 0x3F00, 0x2F05 };
	add_file(&s, "card.conf:1", df, 2, CARD_FS_DF, 0, NULL);
	struct card_file_spec *f = add_file(&s, "card.conf:2", ef, 3, CARD_FS_EF_LINEAR_FIXED, 4,
					    "01 02 03 04 05 06 07 08");
	snprintf(f->label, sizeof(f->label), "EF.ADN");
	f = add_file(&s, "card.conf:3", pl, 2, CARD_FS_EF_TRANSPARENT, 0, "65 6E");
	f->update_always = true;
	/* An override of a generated file keeps its place, gets the bytes. */
	f = add_file(&s, "card.conf:4", P_TOKEN, 3, CARD_FS_EF_TRANSPARENT, 0, "30 00");
	struct card_fs *fs = NULL;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(card_layout_build(&s, &fs, err, sizeof(err)), 0);
	const struct card_fs_node *n = card_fs_lookup(fs, ef, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(n->type, CARD_FS_EF_LINEAR_FIXED);
	CU_ASSERT_EQUAL(card_fs_record_count(n), 2);
	CU_ASSERT_STRING_EQUAL(n->label, "EF.ADN");
	n = card_fs_lookup(fs, pl, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_TRUE(n->update_always);
	check_node(fs, P_TOKEN, 3, "30 00", "EF.TokenInfo");
	card_fs_free(fs);
	card_spec_cleanup(&s);
}

static void test_file_errors(void)
{
	static const uint16_t bad_root[] = { 0x2F00 };
	static const uint16_t no_parent[] = { 0x3F00, 0x7F10, 0x6F3A };
	static const uint16_t under_ef[] = { 0x3F00, 0x2F00, 0x6F3A };
	static const uint16_t reserved[] = { 0x3F00, 0x7FFF };
	static const uint16_t deep[CARD_FS_DEPTH_MAX + 1] = { 0x3F00 };
	static const struct {
		const uint16_t *path;
		size_t n;
		enum card_fs_type type;
		uint8_t rec_len;
		const char *hex;
		int rc;
		const char *err;
	} cases[] = {
		{ bad_root, 1, CARD_FS_EF_TRANSPARENT, 0, "00", -EINVAL,
		  "card.conf:7: 2F00 does not start at the MF (3F00)" },
		{ no_parent, 3, CARD_FS_EF_TRANSPARENT, 0, "00", -ENOENT,
		  "card.conf:7: 3F00/7F10/6F3A: parent 3F00/7F10 does not exist (declare the DF "
		  "first)" },
		{ under_ef, 3, CARD_FS_EF_TRANSPARENT, 0, "00", -EINVAL,
		  "card.conf:7: 3F00/2F00/6F3A: parent 3F00/2F00 is a linear fixed EF, not a DF" },
		{ reserved, 2, CARD_FS_EF_TRANSPARENT, 0, "00", -EINVAL,
		  "card.conf:7: 3F00/7FFF: reserved FID" },
		{ deep, 0, CARD_FS_EF_TRANSPARENT, 0, "00", -EINVAL,
		  "card.conf:7: a path of 0 FIDs (1..8)" },
		{ deep, CARD_FS_DEPTH_MAX + 1, CARD_FS_EF_TRANSPARENT, 0, "00", -EINVAL,
		  "card.conf:7: a path of 9 FIDs (1..8)" },
		{ P_DIR, 2, CARD_FS_EF_TRANSPARENT, 0, "00", -EINVAL,
		  "card.conf:7: 3F00/2F00 is a linear fixed EF, declared as a transparent EF" },
		{ P_DIR, 2, CARD_FS_EF_LINEAR_FIXED, 0x10, "00 01 02", -EINVAL,
		  "card.conf:7: 3F00/2F00: 3 bytes are not records of 16 bytes" },
		{ P_DIR, 2, CARD_FS_EF_LINEAR_FIXED, 0, "00 01 02", -EINVAL,
		  "card.conf:7: 3F00/2F00: Invalid argument (3 bytes, records must divide)" },
		{ P_ODF, 3, CARD_FS_DF, 0, NULL, -EINVAL,
		  "card.conf:7: 3F00/7F50/5031 is a transparent EF, declared as a DF" },
		{ no_parent, 2, CARD_FS_EF_LINEAR_FIXED, 0, "00", -EINVAL,
		  "card.conf:7: 3F00/7F10: 1 bytes are not records of 0 bytes" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct card_spec s;
		card_spec_init(&s);
		struct card_file_spec *nf = calloc(1, sizeof(*nf));
		CU_ASSERT_PTR_NOT_NULL_FATAL(nf);
		s.files = nf;
		s.n_files = 1;
		size_t n = cases[i].n <= CARD_FS_DEPTH_MAX ? cases[i].n : CARD_FS_DEPTH_MAX;
		memcpy(nf->path, cases[i].path, n * sizeof(uint16_t));
		nf->path_len = cases[i].n;
		nf->type = cases[i].type;
		nf->rec_len = cases[i].rec_len;
		snprintf(nf->origin, sizeof(nf->origin), "card.conf:7");
		if (cases[i].hex) {
			uint8_t tmp[16];
			nf->len = hx(cases[i].hex, tmp, sizeof(tmp));
			nf->data = malloc(nf->len);
			CU_ASSERT_PTR_NOT_NULL_FATAL(nf->data);
			memcpy(nf->data, tmp, nf->len);
		}
		struct card_fs *fs = (struct card_fs *)&s; /* must be reset to NULL */
		char err[256];
		int rc = card_layout_build(&s, &fs, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_PTR_NULL(fs);
		CU_ASSERT_STRING_EQUAL(err, cases[i].err);
		if (rc != cases[i].rc || strcmp(err, cases[i].err))
			fprintf(stderr, "\n  case %zu: %d \"%s\"\n", i, rc, err);
		card_spec_cleanup(&s);
	}
}

/* PIN1 enabled and the bootstrap EF needing it: 69 82 without the PIN,
 * 63 Cx with a wrong one, the bytes with the right one. */
static void test_e2e_pin(void)
{
	struct card_spec s;
	card_spec_init(&s);
	set_bootstrap(&s, 40000);
	s.opts.pins[0].enabled = true;
	struct card_access_spec acc = { .path = { 0x3F00, 0x7F50, 0x6432 },
					.path_len = 3,
					.read_key = CARD_KEY_PIN1 };
	s.access = &acc;
	s.n_access = 1;
	struct buf out, lines;
	buf_init(&out, CARD_EF_SIZE_MAX);
	buf_init(&lines, 1 << 20);
	char err[256];
	struct card_pkcs15_walk_info info;
	walk_pin1 = NULL;
	CU_ASSERT_EQUAL(walk_spec(&s, &out, err, sizeof(err), &lines, &info), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "READ BINARY bootstrap EF 6432 offset 0 length 256: "
					   "69 82 security status not satisfied: the file needs a "
					   "PIN (none was given)"));
	CU_ASSERT_EQUAL(info.pin1_enabled, 1);
	CU_ASSERT_FALSE(info.pin1_verified);
	uint8_t wrong[CARD_PIN_LEN], right[CARD_PIN_LEN];
	CU_ASSERT_EQUAL(card_pin_block("1234", wrong), 0);
	CU_ASSERT_EQUAL(card_pin_block("0000", right), 0);
	walk_pin1 = wrong;
	CU_ASSERT_EQUAL(walk_spec(&s, &out, err, sizeof(err), NULL, &info), -EACCES);
	CU_ASSERT_STRING_EQUAL(err, "VERIFY PIN1: 63 C2 verification failed, SW2 b4-b1 tries "
				    "left: wrong PIN, 2 tries left");
	walk_pin1 = right;
	buf_reset(&lines);
	CU_ASSERT_EQUAL(walk_spec(&s, &out, err, sizeof(err), &lines, &info), 0);
	CU_ASSERT_TRUE(info.pin1_verified);
	CU_ASSERT_EQUAL(out.len, 40000);
	CU_ASSERT_EQUAL(memcmp(out.p, s.bootstrap, 40000), 0);
	CU_ASSERT_TRUE(buf_append_u8(&lines, 0) == 0);
	CU_ASSERT_PTR_NOT_NULL(
		strstr((const char *)lines.p,
		       "SELECT 3F00 (MF): 90 00, PIN1 enabled\nVERIFY PIN1: 90 00\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr((const char *)lines.p,
				      "READ BINARY (B1) bootstrap EF 6432 offset 32768 length 253: "
				      "90 00, 253 bytes"));
	/* PIN1 disabled: no VERIFY even with a PIN at hand. */
	s.opts.pins[0].enabled = false;
	buf_reset(&lines);
	CU_ASSERT_EQUAL(walk_spec(&s, &out, err, sizeof(err), &lines, &info), 0);
	CU_ASSERT_EQUAL(info.pin1_enabled, 0);
	CU_ASSERT_FALSE(info.pin1_verified);
	walk_pin1 = NULL;
	s.access = NULL;
	s.n_access = 0;
	buf_cleanup(&lines);
	buf_cleanup(&out);
	card_spec_cleanup(&s);
}

static void test_access_errors(void)
{
	struct card_spec s;
	card_spec_init(&s);
	struct card_fs *fs = NULL;
	char err[256];
	struct card_access_spec acc = { .path = { 0x3F00, 0x7F50, 0x6499 },
					.path_len = 3,
					.read_key = CARD_KEY_PIN1,
					.origin = "x.conf:7" };
	s.access = &acc;
	s.n_access = 1;
	CU_ASSERT_EQUAL(card_layout_build(&s, &fs, err, sizeof(err)), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "x.conf:7: 3F00/7F50/6499: no such file");
	acc.path_len = 2;
	CU_ASSERT_EQUAL(card_layout_build(&s, &fs, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "x.conf:7: 3F00/7F50 is a DF; READ conditions are for EFs");
	acc.path_len = 0;
	CU_ASSERT_EQUAL(card_layout_build(&s, &fs, err, sizeof(err)), -EINVAL);
	/* The default options: 4 channels, GSM on, PIN1 off, PIN2 on. */
	CU_ASSERT_EQUAL(s.opts.channels, 4);
	CU_ASSERT_TRUE(s.opts.gsm_class);
	CU_ASSERT_EQUAL(s.opts.n_pins, 2);
	CU_ASSERT_FALSE(s.opts.pins[0].enabled);
	CU_ASSERT_TRUE(s.opts.pins[1].enabled);
	uint8_t b[CARD_PIN_LEN];
	CU_ASSERT_EQUAL(card_pin_block("123", b), -EINVAL);
	CU_ASSERT_EQUAL(card_pin_block("123456789", b), -EINVAL);
	CU_ASSERT_EQUAL(card_pin_block("12a4", b), -EINVAL);
	CU_ASSERT_EQUAL(card_pin_block("12345678", b), 0);
	CU_ASSERT_EQUAL(memcmp(b, "12345678", 8), 0);
	s.access = NULL;
	s.n_access = 0;
	card_spec_cleanup(&s);
}

static void test_spec_errors(void)
{
	struct card_spec s;
	card_spec_init(&s);
	struct card_fs *fs;
	char err[256];
	s.dodf_fid = s.odf_fid;
	CU_ASSERT_EQUAL(card_layout_build(&s, &fs, err, sizeof(err)), -EEXIST);
	CU_ASSERT_STRING_EQUAL(err, "EF.DODF 5031: File exists");
	card_spec_init(&s);
	s.pkcs15_fid = 0x2F00;
	CU_ASSERT_EQUAL(card_layout_build(&s, &fs, err, sizeof(err)), -EEXIST);
	CU_ASSERT_STRING_EQUAL(err, "PKCS#15 ADF 2F00: File exists");
	card_spec_init(&s);
	s.pkcs15_aid_len = 0;
	CU_ASSERT_EQUAL(card_layout_build(&s, &fs, err, sizeof(err)), -EINVAL);
	card_spec_init(&s);
	set_bootstrap(&s, CARD_EF_SIZE_MAX + 1);
	CU_ASSERT_EQUAL(card_layout_build(&s, &fs, err, sizeof(err)), -EMSGSIZE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "EF.DM_Bootstrap 6432 (65536 bytes)"));
	card_spec_cleanup(&s);
	/* A short ICCID is padded with F. */
	card_spec_init(&s);
	memcpy(s.iccid, "\x98\x88\x02", 3);
	s.iccid_len = 3;
	CU_ASSERT_EQUAL_FATAL(card_layout_build(&s, &fs, err, sizeof(err)), 0);
	check_node(fs, P_ICCID, 2, "98 88 02 FF FF FF FF FF FF FF", NULL);
	card_fs_free(fs);
	/* cleanup twice is harmless. */
	card_spec_cleanup(&s);
	card_spec_cleanup(&s);
}

int unit_register(void)
{
	static CU_TestInfo layout[] = {
		UNIT_TEST(test_defaults_bytes),
		UNIT_TEST(test_oid_places_bytes),
		UNIT_TEST(test_extra_files),
		UNIT_TEST(test_file_errors),
		UNIT_TEST(test_spec_errors),
		UNIT_TEST(test_access_errors),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo e2e[] = {
		UNIT_TEST(test_e2e_default),      UNIT_TEST(test_e2e_variants),
		UNIT_TEST(test_e2e_no_bootstrap), UNIT_TEST(test_e2e_overrides),
		UNIT_TEST(test_e2e_pin),          CU_TEST_INFO_NULL,
	};
	int rc = unit_add_suite("card_layout", layout);
	if (!rc)
		rc = unit_add_suite("card_layout_walk", e2e);
	return rc;
}
