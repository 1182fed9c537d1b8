/* fs.c - the card's file system tree and FCP templates (ISO/IEC 7816-4 §7,
 * ETSI TS 102 221 §8 and §11.1.1.3). */
#include "card/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

static struct card_fs_node *node_new(enum card_fs_type type, uint16_t fid)
{
	struct card_fs_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->type = type;
	n->fid = fid;
	/* Records of a linear fixed EF fit under the same cap:
	 * CARD_RECORDS_MAX * CARD_RECORD_LEN_MAX < CARD_EF_SIZE_MAX. */
	buf_init(&n->data, CARD_EF_SIZE_MAX);
	return n;
}

static void node_free(struct card_fs_node *n)
{
	while (n) {
		struct card_fs_node *next = n->next;
		node_free(n->child);
		buf_cleanup(&n->data);
		free(n);
		n = next;
	}
}

struct card_fs *card_fs_new(void)
{
	struct card_fs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->mf = node_new(CARD_FS_MF, CARD_FID_MF);
	if (!fs->mf) {
		free(fs);
		return NULL;
	}
	snprintf(fs->mf->label, sizeof(fs->mf->label), "MF");
	return fs;
}

void card_fs_free(struct card_fs *fs)
{
	if (!fs)
		return;
	node_free(fs->mf);
	free(fs);
}

static unsigned node_depth(const struct card_fs_node *n)
{
	unsigned d = 0;
	for (; n; n = n->parent)
		d++;
	return d;
}

/* ISO 7816-4 §7.1.1: 3F00 is the MF, FFFF is reserved, and TS 102 221
 * §8.4.1 reserves 7FFF for the current ADF. A FID must also differ from
 * its parent's and its siblings', or SELECT by FID would be ambiguous. */
static int check_new_child(struct card_fs_node *parent, uint16_t fid)
{
	if (!parent || !card_fs_is_df(parent))
		return -EINVAL;
	if (fid == CARD_FID_MF || fid == CARD_FID_CURRENT_ADF || fid == 0xFFFF)
		return -EINVAL;
	if (fid == parent->fid || card_fs_child(parent, fid))
		return -EEXIST;
	if (node_depth(parent) + 1 > CARD_FS_DEPTH_MAX)
		return -EMSGSIZE;
	return 0;
}

static void link_child(struct card_fs_node *parent, struct card_fs_node *n)
{
	struct card_fs_node **pp = &parent->child;
	while (*pp)
		pp = &(*pp)->next;
	*pp = n;
	n->parent = parent;
}

int card_fs_add_df(struct card_fs_node *parent, uint16_t fid, struct card_fs_node **out)
{
	int rc = check_new_child(parent, fid);
	if (rc)
		return rc;
	struct card_fs_node *n = node_new(CARD_FS_DF, fid);
	if (!n)
		return -ENOMEM;
	link_child(parent, n);
	if (out)
		*out = n;
	return 0;
}

static bool aid_matches(const struct card_fs_node *n, const uint8_t *aid, size_t len, bool exact)
{
	if (n->type != CARD_FS_DF || n->aid_len == 0 || len > n->aid_len)
		return false;
	if (exact && len != n->aid_len)
		return false;
	return memcmp(n->aid, aid, len) == 0;
}

/* The first ADF in tree order from n (n, its children, then its next
 * siblings) whose AID starts with (exact: is) aid[0..len). */
static struct card_fs_node *find_aid(struct card_fs_node *n, const uint8_t *aid, size_t len,
				     bool exact)
{
	for (; n; n = n->next) {
		if (aid_matches(n, aid, len, exact))
			return n;
		struct card_fs_node *c = find_aid(n->child, aid, len, exact);
		if (c)
			return c;
	}
	return NULL;
}

int card_fs_add_adf(struct card_fs *fs, uint16_t fid, const uint8_t *aid, size_t aid_len,
		    struct card_fs_node **out)
{
	if (!fs || !aid || aid_len == 0)
		return -EINVAL;
	if (aid_len > CARD_AID_MAX)
		return -EMSGSIZE;
	int rc = check_new_child(fs->mf, fid);
	if (rc)
		return rc;
	if (find_aid(fs->mf, aid, aid_len, true))
		return -EEXIST;
	struct card_fs_node *n = node_new(CARD_FS_DF, fid);
	if (!n)
		return -ENOMEM;
	memcpy(n->aid, aid, aid_len);
	n->aid_len = aid_len;
	link_child(fs->mf, n);
	if (out)
		*out = n;
	return 0;
}

/* The new EF of either kind under parent, holding data[0..len) (the
 * caller checked fid and the sizes). */
static int add_ef_node(struct card_fs_node *parent, uint16_t fid, enum card_fs_type type,
		       uint8_t rec_len, const uint8_t *data, size_t len, struct card_fs_node **out)
{
	struct card_fs_node *n = node_new(type, fid);
	if (!n)
		return -ENOMEM;
	n->rec_len = rec_len;
	int rc = buf_append(&n->data, data, len);
	if (rc) {
		node_free(n);
		return rc;
	}
	link_child(parent, n);
	if (out)
		*out = n;
	return 0;
}

int card_fs_add_ef(struct card_fs_node *parent, uint16_t fid, const uint8_t *data, size_t len,
		   struct card_fs_node **out)
{
	int rc = check_new_child(parent, fid);
	if (rc)
		return rc;
	if (len > CARD_EF_SIZE_MAX)
		return -EMSGSIZE;
	if (len && !data)
		return -EINVAL;
	return add_ef_node(parent, fid, CARD_FS_EF_TRANSPARENT, 0, data, len, out);
}

int card_fs_add_ef_records(struct card_fs_node *parent, uint16_t fid, uint8_t rec_len,
			   const uint8_t *records, size_t nrec, struct card_fs_node **out)
{
	int rc = check_new_child(parent, fid);
	if (rc)
		return rc;
	if (rec_len == 0 || (nrec && !records))
		return -EINVAL;
	if (nrec > CARD_RECORDS_MAX)
		return -EMSGSIZE;
	return add_ef_node(parent, fid, CARD_FS_EF_LINEAR_FIXED, rec_len, records, nrec * rec_len,
			   out);
}

int card_fs_set_data(struct card_fs_node *ef, const uint8_t *data, size_t len)
{
	if (!ef || card_fs_is_df(ef) || (len && !data))
		return -EINVAL;
	if (len > CARD_EF_SIZE_MAX)
		return -EMSGSIZE;
	if (ef->type == CARD_FS_EF_LINEAR_FIXED) {
		if (len % ef->rec_len)
			return -EINVAL;
		if (len / ef->rec_len > CARD_RECORDS_MAX)
			return -EMSGSIZE;
	}
	/* Reserve first so that a failure leaves the old contents intact. */
	size_t old = ef->data.len;
	ef->data.len = 0;
	int rc = buf_reserve(&ef->data, len);
	if (rc) {
		ef->data.len = old;
		return rc;
	}
	if (len)
		memcpy(ef->data.p, data, len);
	ef->data.len = len;
	return 0;
}

int card_fs_set_sfi(struct card_fs_node *ef, uint8_t sfi)
{
	if (!ef || card_fs_is_df(ef) || sfi > CARD_SFI_MAX)
		return -EINVAL;
	if (sfi) {
		const struct card_fs_node *other = card_fs_child_sfi(ef->parent, sfi);
		if (other && other != ef)
			return -EEXIST;
	}
	ef->sfi = sfi;
	return 0;
}

struct card_fs_node *card_fs_child(struct card_fs_node *df, uint16_t fid)
{
	if (!df || !card_fs_is_df(df))
		return NULL;
	for (struct card_fs_node *c = df->child; c; c = c->next)
		if (c->fid == fid)
			return c;
	return NULL;
}

struct card_fs_node *card_fs_child_sfi(struct card_fs_node *df, uint8_t sfi)
{
	if (!df || !card_fs_is_df(df) || sfi == 0)
		return NULL;
	for (struct card_fs_node *c = df->child; c; c = c->next)
		if (!card_fs_is_df(c) && c->sfi == sfi)
			return c;
	return NULL;
}

struct card_fs_node *card_fs_find_aid(struct card_fs *fs, const uint8_t *aid, size_t len)
{
	if (!fs || !aid || len == 0)
		return NULL;
	return find_aid(fs->mf, aid, len, false);
}

struct card_fs_node *card_fs_lookup(struct card_fs *fs, const uint16_t *fids, size_t n)
{
	if (!fs || !fids || n == 0 || fids[0] != CARD_FID_MF)
		return NULL;
	struct card_fs_node *cur = fs->mf;
	for (size_t i = 1; i < n && cur; i++)
		cur = card_fs_child(cur, fids[i]);
	return cur;
}

size_t card_fs_path(const struct card_fs_node *node, uint16_t *fids, size_t cap)
{
	if (!node)
		return 0;
	size_t n = node_depth(node);
	if (n > cap)
		return 0;
	size_t i = n;
	for (; node; node = node->parent)
		fids[--i] = node->fid;
	return n;
}

static int walk(const struct card_fs_node *n, unsigned depth, card_fs_visit_fn *fn, void *arg)
{
	for (; n; n = n->next) {
		int rc = fn(arg, n, depth);
		if (rc)
			return rc;
		rc = walk(n->child, depth + 1, fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int card_fs_walk(const struct card_fs *fs, card_fs_visit_fn *fn, void *arg)
{
	if (!fs || !fn)
		return 0;
	/* The MF has no siblings; walking from it visits the whole tree. */
	return walk(fs->mf, 0, fn, arg);
}

const char *card_fs_type_name(enum card_fs_type type)
{
	switch (type) {
	case CARD_FS_MF:
		return "MF";
	case CARD_FS_DF:
		return "DF";
	case CARD_FS_EF_TRANSPARENT:
		return "EF transparent";
	case CARD_FS_EF_LINEAR_FIXED:
		return "EF linear fixed";
	}
	return "?";
}

/* BER length (ISO 7816-4 §5.2.2.2); FCP templates stay below 128 bytes
 * but the encoder does not rely on it. */
static void put_len(struct wr *w, size_t len)
{
	if (len < 0x80) {
		wr_u8(w, (uint8_t)len);
	} else {
		wr_u8(w, 0x81);
		wr_u8(w, (uint8_t)len);
	}
}

/* Security attributes in compact form (ISO 7816-4 §9.3.3, tag 8C): one
 * access mode byte, then one security condition byte per bit set, from b7
 * down to b1. SC 00 = always, 90 = all conditions, user authentication
 * (the ADM key). The emulator enforces only UPDATE; the rest is
 * descriptive. */
static void put_security(struct wr *w, const struct card_fs_node *n)
{
	if (card_fs_is_df(n)) {
		/* b3 CREATE DF, b2 CREATE EF: ADM. */
		static const uint8_t df[] = { 0x8C, 0x03, 0x06, 0x90, 0x90 };
		wr_mem(w, df, sizeof(df));
	} else {
		/* b2 UPDATE: ALW or ADM; b1 READ: ALW or the PIN of read_key. */
		uint8_t rd =
			n->read_key == CARD_AC_ALW ? 0x00 : (uint8_t)(0x90 | (n->read_key & 0x0F));
		const uint8_t ef[] = { 0x8C, 0x03, 0x03, n->update_always ? 0x00 : 0x90, rd };
		wr_mem(w, ef, sizeof(ef));
	}
}

int card_fs_fcp(const struct card_fs_node *node, uint8_t *out, size_t cap, size_t *out_len)
{
	return card_fs_fcp_with(node, NULL, 0, out, cap, out_len);
}

int card_fs_fcp_with(const struct card_fs_node *node, const uint8_t *extra, size_t extra_len,
		     uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t body[CARD_FCP_MAX];
	struct wr w;
	if (!node || !out || !out_len || (extra_len && !extra))
		return -EINVAL;
	wr_init(&w, body, sizeof(body));

	/* TS 102 221 §11.1.1.4.3: file descriptor byte, data coding byte 21
	 * and, for record EFs, record length (2 bytes) and record count. */
	switch (node->type) {
	case CARD_FS_MF:
	case CARD_FS_DF:
		wr_mem(&w, "\x82\x02\x78\x21", 4);
		break;
	case CARD_FS_EF_TRANSPARENT:
		wr_mem(&w, "\x82\x02\x41\x21", 4);
		break;
	case CARD_FS_EF_LINEAR_FIXED:
		wr_mem(&w, "\x82\x05\x42\x21\x00", 5);
		wr_u8(&w, node->rec_len);
		wr_u8(&w, (uint8_t)card_fs_record_count(node));
		break;
	}
	wr_u8(&w, 0x83);
	wr_u8(&w, 0x02);
	wr_u16be(&w, node->fid);
	if (node->type == CARD_FS_DF && node->aid_len) {
		wr_u8(&w, 0x84);
		wr_u8(&w, (uint8_t)node->aid_len);
		wr_mem(&w, node->aid, node->aid_len);
	}
	/* Life cycle status: operational state, activated (§11.1.1.4.9). */
	wr_mem(&w, "\x8A\x01\x05", 3);
	put_security(&w, node);
	if (!card_fs_is_df(node)) {
		/* File size, 2 bytes or more (§11.1.1.4.1): from 8000 on, a
		 * leading 00, so that readers decoding it as an ASN.1 INTEGER
		 * (OpenSC) do not see a negative size. */
		wr_u8(&w, 0x80);
		if (node->data.len >= 0x8000) {
			wr_u8(&w, 0x03);
			wr_u8(&w, 0x00);
		} else {
			wr_u8(&w, 0x02);
		}
		wr_u16be(&w, (uint16_t)node->data.len);
		/* §11.1.1.4.8: without tag 88 the SFI would default to the low
		 * five bits of the FID; an empty 88 says "no SFI", which is what
		 * this card does for an EF without one. */
		wr_u8(&w, 0x88);
		if (node->sfi) {
			wr_u8(&w, 0x01);
			wr_u8(&w, (uint8_t)(node->sfi << 3));
		} else {
			wr_u8(&w, 0x00);
		}
	}
	if (extra_len)
		wr_mem(&w, extra, extra_len);
	if (w.failed)
		return -EMSGSIZE;

	struct wr o;
	wr_init(&o, out, cap);
	wr_u8(&o, 0x62);
	put_len(&o, w.len);
	wr_mem(&o, body, w.len);
	if (o.failed)
		return -EMSGSIZE;
	*out_len = o.len;
	return 0;
}
