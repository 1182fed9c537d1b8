/* test_card_fs.c - unit tests for src/card/fs.c: tree, lookups, FCP bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/fs.h"
#include "runner.h"

static const uint8_t pkcs15_aid[] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50,
				      0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35 };

static void test_new_mf(void)
{
	struct card_fs *fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	CU_ASSERT_EQUAL(fs->mf->type, CARD_FS_MF);
	CU_ASSERT_EQUAL(fs->mf->fid, 0x3F00);
	CU_ASSERT_PTR_NULL(fs->mf->parent);
	CU_ASSERT_PTR_NULL(fs->mf->child);
	card_fs_free(fs);
	card_fs_free(NULL);
}

static void test_add_errors(void)
{
	struct card_fs *fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	struct card_fs_node *ef = NULL, *df = NULL, *adf = NULL;
	const uint8_t d[] = { 1, 2, 3 };

	static const struct {
		uint16_t fid;
		int rc;
	} reserved[] = {
		{ 0x3F00, -EINVAL },
		{ 0x7FFF, -EINVAL },
		{ 0xFFFF, -EINVAL },
		{ 0x2FE2, 0 },
	};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		int rc = card_fs_add_ef(fs->mf, reserved[i].fid, d, 3, NULL);
		CU_ASSERT_EQUAL(rc, reserved[i].rc);
		CU_ASSERT_EQUAL(card_fs_add_df(fs->mf, reserved[i].fid, NULL),
				reserved[i].rc ? reserved[i].rc : -EEXIST);
	}
	CU_ASSERT_EQUAL(card_fs_add_ef(fs->mf, 0x2F00, d, 3, &ef), 0);
	CU_ASSERT_EQUAL(card_fs_add_ef(fs->mf, 0x2F00, d, 3, NULL), -EEXIST);
	CU_ASSERT_EQUAL(card_fs_add_ef_records(fs->mf, 0x2F00, 4, d, 0, NULL), -EEXIST);
	/* An EF is not a parent. */
	CU_ASSERT_EQUAL(card_fs_add_ef(ef, 0x1234, d, 3, NULL), -EINVAL);
	CU_ASSERT_EQUAL(card_fs_add_df(ef, 0x1234, NULL), -EINVAL);
	CU_ASSERT_EQUAL(card_fs_add_df(NULL, 0x1234, NULL), -EINVAL);
	/* Same FID as the parent. */
	CU_ASSERT_EQUAL(card_fs_add_df(fs->mf, 0x7F10, &df), 0);
	CU_ASSERT_EQUAL(card_fs_add_ef(df, 0x7F10, d, 3, NULL), -EEXIST);
	/* Sizes. */
	CU_ASSERT_EQUAL(card_fs_add_ef(df, 0x6F01, d, CARD_EF_SIZE_MAX + 1, NULL), -EMSGSIZE);
	CU_ASSERT_EQUAL(card_fs_add_ef(df, 0x6F01, NULL, 3, NULL), -EINVAL);
	CU_ASSERT_EQUAL(card_fs_add_ef_records(df, 0x6F01, 0, d, 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(card_fs_add_ef_records(df, 0x6F01, 1, d, CARD_RECORDS_MAX + 1, NULL),
			-EMSGSIZE);
	/* ADFs: AID length and uniqueness, FID uniqueness under the MF. */
	CU_ASSERT_EQUAL(card_fs_add_adf(fs, 0x7F50, pkcs15_aid, 0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(card_fs_add_adf(fs, 0x7F50, pkcs15_aid, CARD_AID_MAX + 1, NULL), -EMSGSIZE);
	CU_ASSERT_EQUAL(card_fs_add_adf(fs, 0x7F50, pkcs15_aid, sizeof(pkcs15_aid), &adf), 0);
	CU_ASSERT_EQUAL(card_fs_add_adf(fs, 0x7F51, pkcs15_aid, sizeof(pkcs15_aid), NULL), -EEXIST);
	CU_ASSERT_EQUAL(card_fs_add_adf(fs, 0x7F10, (const uint8_t *)"\xA0\x01", 2, NULL), -EEXIST);
	CU_ASSERT_EQUAL(card_fs_add_adf(fs, 0x7FFF, (const uint8_t *)"\xA0\x01", 2, NULL), -EINVAL);
	/* A shorter AID that is a prefix of an existing one is a different AID. */
	CU_ASSERT_EQUAL(card_fs_add_adf(fs, 0x7F51, pkcs15_aid, 5, NULL), 0);
	card_fs_free(fs);
}

static void test_depth_limit(void)
{
	struct card_fs *fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	struct card_fs_node *df = fs->mf;
	/* The MF counts as one level. */
	for (unsigned i = 1; i < CARD_FS_DEPTH_MAX; i++)
		CU_ASSERT_EQUAL_FATAL(card_fs_add_df(df, (uint16_t)(0x7F00 + i), &df), 0);
	CU_ASSERT_EQUAL(card_fs_add_df(df, 0x7F00, NULL), -EMSGSIZE);
	CU_ASSERT_EQUAL(card_fs_add_ef(df, 0x6F00, NULL, 0, NULL), -EMSGSIZE);
	uint16_t path[CARD_FS_DEPTH_MAX];
	CU_ASSERT_EQUAL(card_fs_path(df, path, CARD_FS_DEPTH_MAX), CARD_FS_DEPTH_MAX);
	CU_ASSERT_EQUAL(card_fs_path(df, path, CARD_FS_DEPTH_MAX - 1), 0);
	CU_ASSERT_PTR_EQUAL(card_fs_lookup(fs, path, CARD_FS_DEPTH_MAX), df);
	card_fs_free(fs);
}

static void test_lookup_and_path(void)
{
	struct card_fs *fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	struct card_fs_node *adf, *odf, *df, *ef;
	CU_ASSERT_EQUAL_FATAL(card_fs_add_adf(fs, 0x7F50, pkcs15_aid, sizeof(pkcs15_aid), &adf), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(adf, 0x5031, (const uint8_t *)"\xA7\x00", 2, &odf), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_df(adf, 0x5F00, &df), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(df, 0x5031, NULL, 0, &ef), 0);

	CU_ASSERT_PTR_EQUAL(card_fs_child(fs->mf, 0x7F50), adf);
	CU_ASSERT_PTR_EQUAL(card_fs_child(adf, 0x5031), odf);
	CU_ASSERT_PTR_NULL(card_fs_child(adf, 0x5032));
	CU_ASSERT_PTR_NULL(card_fs_child(odf, 0x5031));
	CU_ASSERT_PTR_EQUAL(odf->parent, adf);

	static const struct {
		uint16_t fids[4];
		size_t n;
		int which; /* 0 none, 1 mf, 2 adf, 3 odf, 4 ef */
	} cases[] = {
		{ { 0x3F00 }, 1, 1 },
		{ { 0x3F00, 0x7F50 }, 2, 2 },
		{ { 0x3F00, 0x7F50, 0x5031 }, 3, 3 },
		{ { 0x3F00, 0x7F50, 0x5F00, 0x5031 }, 4, 4 },
		{ { 0x7F50, 0x5031 }, 2, 0 },
		{ { 0x3F00, 0x5031 }, 2, 0 },
		{ { 0x3F00, 0x7F50, 0x5031, 0x0001 }, 4, 0 },
		{ { 0 }, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct card_fs_node *want[] = { NULL, fs->mf, adf, odf, ef };
		CU_ASSERT_PTR_EQUAL(card_fs_lookup(fs, cases[i].fids, cases[i].n),
				    want[cases[i].which]);
	}
	uint16_t path[8];
	CU_ASSERT_EQUAL(card_fs_path(ef, path, 8), 4);
	CU_ASSERT_EQUAL(path[0], 0x3F00);
	CU_ASSERT_EQUAL(path[1], 0x7F50);
	CU_ASSERT_EQUAL(path[2], 0x5F00);
	CU_ASSERT_EQUAL(path[3], 0x5031);
	CU_ASSERT_EQUAL(card_fs_path(fs->mf, path, 1), 1);
	CU_ASSERT_EQUAL(card_fs_path(ef, path, 3), 0);

	/* Partial AID: any non-empty prefix; longer or different is no match. */
	CU_ASSERT_PTR_EQUAL(card_fs_find_aid(fs, pkcs15_aid, sizeof(pkcs15_aid)), adf);
	CU_ASSERT_PTR_EQUAL(card_fs_find_aid(fs, pkcs15_aid, 7), adf);
	CU_ASSERT_PTR_NULL(card_fs_find_aid(fs, pkcs15_aid, 0));
	const uint8_t longer[13] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B,
				     0x43, 0x53, 0x2D, 0x31, 0x35, 0x00 };
	CU_ASSERT_PTR_NULL(card_fs_find_aid(fs, longer, sizeof(longer)));
	CU_ASSERT_PTR_NULL(card_fs_find_aid(fs, (const uint8_t *)"\xA0\x01", 2));
	card_fs_free(fs);
}

struct walk_log {
	char text[256];
	size_t len;
	int stop_at;
	int count;
};

static int log_node(void *arg, const struct card_fs_node *n, unsigned depth)
{
	struct walk_log *l = arg;
	int w = snprintf(l->text + l->len, sizeof(l->text) - l->len, "%u:%04X ", depth, n->fid);
	if (w > 0)
		l->len += (size_t)w;
	l->count++;
	return l->count == l->stop_at ? 42 : 0;
}

static void test_walk(void)
{
	struct card_fs *fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	struct card_fs_node *adf, *df;
	const uint8_t rec[4] = { 1, 2, 3, 4 };
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef_records(fs->mf, 0x2F00, 2, rec, 2, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_adf(fs, 0x7F50, pkcs15_aid, sizeof(pkcs15_aid), &adf), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(adf, 0x5031, rec, 4, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_df(adf, 0x5F00, &df), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(df, 0x4F01, rec, 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(adf, 0x6430, rec, 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(fs->mf, 0x2FE2, rec, 1, NULL), 0);

	struct walk_log l = { .len = 0, .stop_at = 0, .count = 0 };
	CU_ASSERT_EQUAL(card_fs_walk(fs, log_node, &l), 0);
	CU_ASSERT_STRING_EQUAL(l.text, "0:3F00 1:2F00 1:7F50 2:5031 2:5F00 3:4F01 2:6430 1:2FE2 ");
	struct walk_log s = { .len = 0, .stop_at = 4, .count = 0 };
	CU_ASSERT_EQUAL(card_fs_walk(fs, log_node, &s), 42);
	CU_ASSERT_STRING_EQUAL(s.text, "0:3F00 1:2F00 1:7F50 2:5031 ");
	card_fs_free(fs);
}

static void test_set_data(void)
{
	struct card_fs *fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	struct card_fs_node *t, *r;
	const uint8_t d[6] = { 1, 2, 3, 4, 5, 6 };
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(fs->mf, 0x2FE2, d, 2, &t), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef_records(fs->mf, 0x2F00, 3, d, 1, &r), 0);
	CU_ASSERT_EQUAL(card_fs_record_count(r), 1);
	CU_ASSERT_EQUAL(card_fs_record_count(t), 0);

	CU_ASSERT_EQUAL(card_fs_set_data(t, d, 6), 0);
	CU_ASSERT_EQUAL(t->data.len, 6);
	CU_ASSERT_EQUAL(memcmp(t->data.p, d, 6), 0);
	CU_ASSERT_EQUAL(card_fs_set_data(t, NULL, 0), 0);
	CU_ASSERT_EQUAL(t->data.len, 0);
	CU_ASSERT_EQUAL(card_fs_set_data(r, d, 5), -EINVAL);
	CU_ASSERT_EQUAL(r->data.len, 3);
	CU_ASSERT_EQUAL(card_fs_set_data(r, d, 6), 0);
	CU_ASSERT_EQUAL(card_fs_record_count(r), 2);
	CU_ASSERT_EQUAL(card_fs_set_data(fs->mf, d, 6), -EINVAL);
	uint8_t *big = calloc(1, CARD_EF_SIZE_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_EQUAL(card_fs_set_data(t, big, CARD_EF_SIZE_MAX + 1), -EMSGSIZE);
	CU_ASSERT_EQUAL(card_fs_set_data(t, big, CARD_EF_SIZE_MAX), 0);
	CU_ASSERT_EQUAL(t->data.len, CARD_EF_SIZE_MAX);
	/* 255 records of 1 byte: over CARD_RECORDS_MAX. */
	struct card_fs_node *r1;
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef_records(fs->mf, 0x2F01, 1, d, 1, &r1), 0);
	CU_ASSERT_EQUAL(card_fs_set_data(r1, big, CARD_RECORDS_MAX + 1), -EMSGSIZE);
	CU_ASSERT_EQUAL(card_fs_set_data(r1, big, CARD_RECORDS_MAX), 0);
	free(big);
	card_fs_free(fs);
}

static void test_sfi(void)
{
	struct card_fs *fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	struct card_fs_node *a, *b;
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(fs->mf, 0x2F00, NULL, 0, &a), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(fs->mf, 0x2F01, NULL, 0, &b), 0);
	CU_ASSERT_EQUAL(card_fs_set_sfi(a, 30), 0);
	CU_ASSERT_EQUAL(card_fs_set_sfi(a, 30), 0);
	CU_ASSERT_EQUAL(card_fs_set_sfi(b, 30), -EEXIST);
	CU_ASSERT_EQUAL(card_fs_set_sfi(b, 31), -EINVAL);
	CU_ASSERT_EQUAL(card_fs_set_sfi(fs->mf, 1), -EINVAL);
	CU_ASSERT_EQUAL(card_fs_set_sfi(b, 1), 0);
	CU_ASSERT_PTR_EQUAL(card_fs_child_sfi(fs->mf, 30), a);
	CU_ASSERT_PTR_EQUAL(card_fs_child_sfi(fs->mf, 1), b);
	CU_ASSERT_PTR_NULL(card_fs_child_sfi(fs->mf, 0));
	CU_ASSERT_PTR_NULL(card_fs_child_sfi(fs->mf, 2));
	CU_ASSERT_EQUAL(card_fs_set_sfi(a, 0), 0);
	CU_ASSERT_PTR_NULL(card_fs_child_sfi(fs->mf, 30));
	card_fs_free(fs);
}

static void test_fcp_bytes(void)
{
	struct card_fs *fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	struct card_fs_node *adf, *dir, *odf, *boot, *df;
	const uint8_t rec[2 * 0x20] = { 0x61 };
	const uint8_t odf_data[] = { 0xA7, 0x06, 0x30, 0x04, 0x04, 0x02, 0x64, 0x30 };
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef_records(fs->mf, 0x2F00, 0x20, rec, 2, &dir), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_adf(fs, 0x7F50, pkcs15_aid, sizeof(pkcs15_aid), &adf), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(adf, 0x5031, odf_data, sizeof(odf_data), &odf), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(adf, 0x6432, NULL, 0, &boot), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_set_sfi(odf, 0x11), 0);
	boot->update_always = true;
	CU_ASSERT_EQUAL_FATAL(card_fs_set_data(boot, rec, 0x34), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_df(fs->mf, 0x7F10, &df), 0);

	static const struct {
		int which;
		const char *hex;
	} cases[] = {
		{ 0, "62108202782183023F008A01058C03069090" },
		{ 1, "621E8202782183027F5084"
		     "0CA000000063504B43532D3135"
		     "8A01058C03069090" },
		{ 2, "62198205422100200283022F008A01058C03039000800200408800" },
		{ 3, "62178202412183025031"
		     "8A01058C0303900080020008880188" },
		{ 4, "62168202412183026432"
		     "8A01058C0303000080020034"
		     "8800" },
		{ 5, "62108202782183027F108A01058C03069090" },
	};
	const struct card_fs_node *nodes[] = { fs->mf, adf, dir, odf, boot, df };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[80];
		size_t n = 0;
		char hex[200] = "";
		CU_ASSERT_EQUAL(card_fs_fcp(nodes[cases[i].which], out, sizeof(out), &n), 0);
		for (size_t k = 0; k < n && 2 * k + 2 < sizeof(hex); k++)
			snprintf(hex + 2 * k, 3, "%02X", out[k]);
		CU_ASSERT_STRING_EQUAL(hex, cases[i].hex);
		CU_ASSERT_EQUAL(out[1], n - 2);
		/* Exactly n bytes fit; one less does not. */
		size_t m = 0;
		CU_ASSERT_EQUAL(card_fs_fcp(nodes[cases[i].which], out, n, &m), 0);
		CU_ASSERT_EQUAL(m, n);
		CU_ASSERT_EQUAL(card_fs_fcp(nodes[cases[i].which], out, n - 1, &m), -EMSGSIZE);
	}
	CU_ASSERT_STRING_EQUAL(card_fs_type_name(CARD_FS_EF_LINEAR_FIXED), "EF linear fixed");
	CU_ASSERT_STRING_EQUAL(card_fs_type_name(CARD_FS_MF), "MF");
	card_fs_free(fs);
}

int unit_register(void)
{
	static CU_TestInfo tree[] = {
		UNIT_TEST(test_new_mf),      UNIT_TEST(test_add_errors),
		UNIT_TEST(test_depth_limit), UNIT_TEST(test_lookup_and_path),
		UNIT_TEST(test_walk),        UNIT_TEST(test_set_data),
		UNIT_TEST(test_sfi),         CU_TEST_INFO_NULL,
	};
	static CU_TestInfo fcp[] = {
		UNIT_TEST(test_fcp_bytes),
		CU_TEST_INFO_NULL,
	};
	int rc = unit_add_suite("card_fs_tree", tree);
	if (!rc)
		rc = unit_add_suite("card_fs_fcp", fcp);
	return rc;
}
