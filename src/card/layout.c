/* layout.c - a card's file system from a declarative spec: MF, EF.ICCID,
 * EF.DIR, the PKCS#15 application (ODF, TokenInfo, DODF) and the DM
 * bootstrap EF (PKCS #15 v1.1, ETSI TS 102 221 §13, doc/protocol.md §4.3),
 * then extra files and byte-for-byte overrides. */
#include "card/layout.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/pkcs15.h"
#include "core/bytes.h"

#define FID_ICCID 0x2FE2
#define FID_DIR 0x2F00
#define SFI_ICCID 0x02 /* TS 102 221 §13.2 */
#define SFI_DIR 0x1E   /* TS 102 221 §13.1 */

/* A UICC ATR (T=0 with T=15 global bytes), the one cards/default declares. */
static const uint8_t default_atr[] = { 0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7, 0x80, 0x31,
				       0xE0, 0x73, 0xFE, 0x21, 0x1B, 0x63, 0x3A, 0x20,
				       0x4E, 0x83, 0x00, 0x90, 0x00, 0x93 };

void card_spec_init(struct card_spec *spec)
{
	static const uint8_t serial[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	memset(spec, 0, sizeof(*spec));
	memcpy(spec->atr, default_atr, sizeof(default_atr));
	spec->atr_len = sizeof(default_atr);
	spec->pkcs15_fid = 0x7F50;
	memcpy(spec->pkcs15_aid, card_pkcs15_aid, sizeof(card_pkcs15_aid));
	spec->pkcs15_aid_len = sizeof(card_pkcs15_aid);
	spec->odf_fid = 0x5031;
	spec->tokeninfo_fid = 0x5032;
	spec->dodf_fid = 0x6430;
	spec->bootstrap_fid = 0x6432;
	snprintf(spec->token_label, sizeof(spec->token_label), "DM bootstrap token");
	snprintf(spec->manufacturer, sizeof(spec->manufacturer), "SCWS-EMU");
	memcpy(spec->serial, serial, sizeof(serial));
	spec->serial_len = sizeof(serial);
	snprintf(spec->dodf_label, sizeof(spec->dodf_label), "DM Bootstrap");
	spec->oid_place = CARD_OID_TYPE_ATTRIBUTES;
	card_options_init(&spec->opts);
	spec->opts.channels = 4; /* default_atr's card capabilities: 1B */
	spec->opts.n_pins = 2;
	for (size_t i = 0; i < 2; i++) {
		struct card_pin_config *c = &spec->opts.pins[i];
		c->ref = i == 0 ? CARD_KEY_PIN1 : CARD_KEY_PIN2;
		(void)!card_pin_block("0000", c->pin);
		memcpy(c->puk, "12345678", 8);
		c->puk_len = 8;
		c->tries = 3;
		c->puk_tries = 10;
		c->enabled = i == 1;
	}
}

int card_pin_block(const char *digits, uint8_t out[CARD_PIN_LEN])
{
	size_t n = strlen(digits);
	if (n < 4 || n > CARD_PIN_LEN || strspn(digits, "0123456789") != n)
		return -EINVAL;
	memset(out, 0xFF, CARD_PIN_LEN);
	memcpy(out, digits, n);
	return 0;
}

void card_spec_cleanup(struct card_spec *spec)
{
	free(spec->bootstrap);
	for (size_t i = 0; i < spec->n_files; i++)
		free(spec->files[i].data);
	free(spec->files);
	free(spec->access);
	spec->access = NULL;
	spec->n_access = 0;
	spec->bootstrap = NULL;
	spec->bootstrap_len = 0;
	spec->has_bootstrap = false;
	spec->files = NULL;
	spec->n_files = 0;
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errcap, int rc,
						      const char *fmt, ...)
{
	if (errcap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static const char *fid_path_str(const uint16_t *fids, size_t n, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(out + used, cap - used, "%s%04X", i ? "/" : "", fids[i]);
		if (k < 0 || (size_t)k >= cap - used)
			break;
		used += (size_t)k;
	}
	return out;
}

static void set_label(struct card_fs_node *n, const char *label)
{
	snprintf(n->label, sizeof(n->label), "%s", label);
}

static void rel_path(struct card_pkcs15_path *p, uint16_t fid)
{
	memset(p, 0, sizeof(*p));
	p->path[0] = (uint8_t)(fid >> 8);
	p->path[1] = (uint8_t)fid;
	p->len = 2;
}

/* The DODF entry that leads to the bootstrap EF (doc/protocol.md §4.3 with the
 * defaults; the OID where spec->oid_place says). */
static int encode_dodf(const struct card_spec *spec, struct wr *w)
{
	struct card_pkcs15_do d;
	memset(&d, 0, sizeof(d));
	const uint8_t *oid =
		spec->oid_misencoded ? card_pkcs15_oid_misencoded : card_pkcs15_oid_dm_bootstrap;
	size_t oid_len = spec->oid_misencoded ? sizeof(card_pkcs15_oid_misencoded)
					      : sizeof(card_pkcs15_oid_dm_bootstrap);
	d.kind = spec->oid_place == CARD_OID_APPLICATION_OID ? CARD_PKCS15_DO_OPAQUE
							     : CARD_PKCS15_DO_OID;
	if (spec->dodf_label[0]) {
		snprintf(d.label, sizeof(d.label), "%s", spec->dodf_label);
		d.has_label = true;
	}
	if (spec->oid_place != CARD_OID_APPLICATION_OID) {
		memcpy(d.type_oid, oid, oid_len);
		d.type_oid_len = oid_len;
	}
	if (spec->oid_place != CARD_OID_TYPE_ATTRIBUTES) {
		memcpy(d.app_oid, oid, oid_len);
		d.app_oid_len = oid_len;
	}
	rel_path(&d.path, spec->bootstrap_fid);
	d.has_path = true;
	return card_pkcs15_do_encode(w, &d);
}

static int build_pkcs15(const struct card_spec *spec, struct card_fs *fs, char *err, size_t errcap)
{
	uint8_t tmp[512];
	struct wr w;
	struct card_fs_node *n, *adf;
	int rc;

	/* EF.DIR: one application template; the record is exactly as long as
	 * the template. Its path is where the ADF really is (3F00/ADF FID,
	 * doc/protocol.md §4.3), not the example 3F00 5015, so that a reader
	 * following the path (OpenSC) finds the application too. */
	struct card_pkcs15_dir_app app;
	memset(&app, 0, sizeof(app));
	if (spec->pkcs15_aid_len == 0 || spec->pkcs15_aid_len > CARD_AID_MAX)
		return fail(err, errcap, -EINVAL, "PKCS#15 AID of %zu bytes (1..%u)",
			    spec->pkcs15_aid_len, CARD_AID_MAX);
	memcpy(app.aid, spec->pkcs15_aid, spec->pkcs15_aid_len);
	app.aid_len = spec->pkcs15_aid_len;
	snprintf(app.label, sizeof(app.label), "PKCS#15");
	app.has_label = true;
	app.path[0] = 0x3F;
	app.path[1] = 0x00;
	app.path[2] = (uint8_t)(spec->pkcs15_fid >> 8);
	app.path[3] = (uint8_t)spec->pkcs15_fid;
	app.path_len = 4;
	wr_init(&w, tmp, sizeof(tmp));
	rc = card_pkcs15_dir_encode(&w, &app);
	if (rc || w.len > CARD_RECORD_LEN_MAX)
		return fail(err, errcap, rc ? rc : -EMSGSIZE, "EF.DIR record does not fit");
	rc = card_fs_add_ef_records(fs->mf, FID_DIR, (uint8_t)w.len, tmp, 1, &n);
	if (rc)
		return fail(err, errcap, rc, "EF.DIR 2F00: %s", strerror(-rc));
	set_label(n, "EF.DIR");
	rc = card_fs_set_sfi(n, SFI_DIR);
	if (rc)
		return fail(err, errcap, rc, "EF.DIR SFI: %s", strerror(-rc));

	rc = card_fs_add_adf(fs, spec->pkcs15_fid, spec->pkcs15_aid, spec->pkcs15_aid_len, &adf);
	if (rc)
		return fail(err, errcap, rc, "PKCS#15 ADF %04X: %s", spec->pkcs15_fid,
			    strerror(-rc));
	set_label(adf, "ADF PKCS#15");

	struct card_pkcs15_path dodf_path;
	rel_path(&dodf_path, spec->dodf_fid);
	wr_init(&w, tmp, sizeof(tmp));
	rc = card_pkcs15_odf_encode(&w, CARD_PKCS15_ODF_DODF, &dodf_path);
	if (rc)
		return fail(err, errcap, rc, "EF.ODF does not encode");
	rc = card_fs_add_ef(adf, spec->odf_fid, tmp, w.len, &n);
	if (rc)
		return fail(err, errcap, rc, "EF.ODF %04X: %s", spec->odf_fid, strerror(-rc));
	set_label(n, "EF.ODF");

	struct card_pkcs15_tokeninfo ti;
	memset(&ti, 0, sizeof(ti));
	if (spec->serial_len > sizeof(ti.serial) || spec->serial_len > sizeof(spec->serial))
		return fail(err, errcap, -EINVAL, "TokenInfo serial of %zu bytes",
			    spec->serial_len);
	memcpy(ti.serial, spec->serial, spec->serial_len);
	ti.serial_len = spec->serial_len;
	if (spec->manufacturer[0]) {
		snprintf(ti.manufacturer, sizeof(ti.manufacturer), "%s", spec->manufacturer);
		ti.has_manufacturer = true;
	}
	if (spec->token_label[0]) {
		snprintf(ti.label, sizeof(ti.label), "%s", spec->token_label);
		ti.has_label = true;
	}
	wr_init(&w, tmp, sizeof(tmp));
	rc = card_pkcs15_tokeninfo_encode(&w, &ti);
	if (rc)
		return fail(err, errcap, rc, "EF.TokenInfo does not encode");
	rc = card_fs_add_ef(adf, spec->tokeninfo_fid, tmp, w.len, &n);
	if (rc)
		return fail(err, errcap, rc, "EF.TokenInfo %04X: %s", spec->tokeninfo_fid,
			    strerror(-rc));
	set_label(n, "EF.TokenInfo");

	wr_init(&w, tmp, sizeof(tmp));
	rc = encode_dodf(spec, &w);
	if (rc)
		return fail(err, errcap, rc, "EF.DODF does not encode");
	/* A card without a bootstrap: the file system a card personalised
	 * with one has after the object was erased (the DODF EF keeps its
	 * size, filled with FF, as an UPDATE BINARY of padding leaves it;
	 * no bootstrap EF). The walk then reports "no entry with OID". */
	if (!spec->has_bootstrap)
		memset(tmp, 0xFF, w.len);
	rc = card_fs_add_ef(adf, spec->dodf_fid, tmp, w.len, &n);
	if (rc)
		return fail(err, errcap, rc, "EF.DODF %04X: %s", spec->dodf_fid, strerror(-rc));
	set_label(n, "EF.DODF");

	if (spec->has_bootstrap) {
		rc = card_fs_add_ef(adf, spec->bootstrap_fid, spec->bootstrap, spec->bootstrap_len,
				    &n);
		if (rc)
			return fail(err, errcap, rc, "EF.DM_Bootstrap %04X (%zu bytes): %s",
				    spec->bootstrap_fid, spec->bootstrap_len, strerror(-rc));
		set_label(n, "EF.DM_Bootstrap");
	}
	return 0;
}

static const char *type_name(enum card_fs_type t)
{
	switch (t) {
	case CARD_FS_MF:
		return "the MF";
	case CARD_FS_DF:
		return "a DF";
	case CARD_FS_EF_TRANSPARENT:
		return "a transparent EF";
	case CARD_FS_EF_LINEAR_FIXED:
		return "a linear fixed EF";
	}
	return "?";
}

static int override_node(const struct card_file_spec *f, struct card_fs_node *n, const char *ps,
			 const char *origin, char *err, size_t errcap)
{
	bool want_df = f->type == CARD_FS_DF || f->type == CARD_FS_MF;
	if (want_df != card_fs_is_df(n) || (!want_df && f->type != n->type))
		return fail(err, errcap, -EINVAL, "%s: %s is %s, declared as %s", origin, ps,
			    type_name(n->type), type_name(f->type));
	if (!want_df) {
		uint8_t old_rec = n->rec_len;
		if (n->type == CARD_FS_EF_LINEAR_FIXED && f->rec_len) {
			if (f->len % f->rec_len)
				return fail(err, errcap, -EINVAL,
					    "%s: %s: %zu bytes are not records "
					    "of %u bytes",
					    origin, ps, f->len, f->rec_len);
			n->rec_len = f->rec_len;
		}
		int rc = card_fs_set_data(n, f->data, f->len);
		if (rc) {
			n->rec_len = old_rec;
			return fail(err, errcap, rc, "%s: %s: %s (%zu bytes%s)", origin, ps,
				    strerror(-rc), f->len,
				    n->type == CARD_FS_EF_LINEAR_FIXED ? ", records must divide"
								       : "");
		}
		n->update_always = f->update_always;
	}
	if (f->label[0])
		set_label(n, f->label);
	return 0;
}

static int add_file(const struct card_file_spec *f, struct card_fs *fs, char *err, size_t errcap)
{
	char ps[8 * CARD_FS_DEPTH_MAX];
	const char *origin = f->origin[0] ? f->origin : "extra file";
	if (f->path_len == 0 || f->path_len > CARD_FS_DEPTH_MAX)
		return fail(err, errcap, -EINVAL, "%s: a path of %zu FIDs (1..%u)", origin,
			    f->path_len, CARD_FS_DEPTH_MAX);
	fid_path_str(f->path, f->path_len, ps, sizeof(ps));
	if (f->path[0] != CARD_FID_MF)
		return fail(err, errcap, -EINVAL, "%s: %s does not start at the MF (3F00)", origin,
			    ps);
	if (f->len && !f->data)
		return fail(err, errcap, -EINVAL, "%s: %s: no data", origin, ps);
	struct card_fs_node *n = card_fs_lookup(fs, f->path, f->path_len);
	if (n)
		return override_node(f, n, ps, origin, err, errcap);

	/* A new file: its parent DF must exist already (declare DFs first), so
	 * a mistyped path is an error rather than a surprise directory. */
	char pp[8 * CARD_FS_DEPTH_MAX];
	fid_path_str(f->path, f->path_len - 1, pp, sizeof(pp));
	struct card_fs_node *parent = card_fs_lookup(fs, f->path, f->path_len - 1);
	if (!parent)
		return fail(err, errcap, -ENOENT,
			    "%s: %s: parent %s does not exist (declare the DF "
			    "first)",
			    origin, ps, pp);
	if (!card_fs_is_df(parent))
		return fail(err, errcap, -EINVAL, "%s: %s: parent %s is %s, not a DF", origin, ps,
			    pp, type_name(parent->type));
	uint16_t fid = f->path[f->path_len - 1];
	int rc;
	switch (f->type) {
	case CARD_FS_DF:
		rc = card_fs_add_df(parent, fid, &n);
		break;
	case CARD_FS_EF_TRANSPARENT:
		rc = card_fs_add_ef(parent, fid, f->data, f->len, &n);
		break;
	case CARD_FS_EF_LINEAR_FIXED:
		if (f->rec_len == 0 || f->len % f->rec_len)
			return fail(err, errcap, -EINVAL,
				    "%s: %s: %zu bytes are not records of %u "
				    "bytes",
				    origin, ps, f->len, f->rec_len);
		rc = card_fs_add_ef_records(parent, fid, f->rec_len, f->data, f->len / f->rec_len,
					    &n);
		break;
	default:
		return fail(err, errcap, -EINVAL, "%s: %s: cannot create %s", origin, ps,
			    type_name(f->type));
	}
	if (rc)
		return fail(err, errcap, rc, "%s: %s: %s", origin, ps,
			    rc == -EINVAL ? "reserved FID" : strerror(-rc));
	n->update_always = f->update_always;
	if (f->label[0])
		set_label(n, f->label);
	return 0;
}

static int apply_access(const struct card_access_spec *a, struct card_fs *fs, char *err,
			size_t errcap)
{
	char ps[8 * CARD_FS_DEPTH_MAX];
	const char *origin = a->origin[0] ? a->origin : "access";
	if (a->path_len == 0 || a->path_len > CARD_FS_DEPTH_MAX)
		return fail(err, errcap, -EINVAL, "%s: a path of %zu FIDs (1..%u)", origin,
			    a->path_len, CARD_FS_DEPTH_MAX);
	fid_path_str(a->path, a->path_len, ps, sizeof(ps));
	struct card_fs_node *n = card_fs_lookup(fs, a->path, a->path_len);
	if (!n)
		return fail(err, errcap, -ENOENT, "%s: %s: no such file", origin, ps);
	if (card_fs_is_df(n))
		return fail(err, errcap, -EINVAL, "%s: %s is %s; READ conditions are for EFs",
			    origin, ps, type_name(n->type));
	n->read_key = a->read_key;
	return 0;
}

int card_layout_build(const struct card_spec *spec, struct card_fs **out, char *err, size_t errcap)
{
	struct card_fs *fs = card_fs_new();
	struct card_fs_node *n;
	int rc;
	if (errcap)
		err[0] = '\0';
	*out = NULL;
	if (!fs)
		return fail(err, errcap, -ENOMEM, "out of memory");
	set_label(fs->mf, "MF");

	if (spec->iccid_len) {
		/* EF.ICCID is 10 bytes (TS 102 221 §13.2); a shorter ICCID is
		 * padded with F nibbles. */
		uint8_t iccid[10];
		memset(iccid, 0xFF, sizeof(iccid));
		if (spec->iccid_len > sizeof(iccid)) {
			rc = fail(err, errcap, -EINVAL, "ICCID of %zu bytes", spec->iccid_len);
			goto err;
		}
		memcpy(iccid, spec->iccid, spec->iccid_len);
		rc = card_fs_add_ef(fs->mf, FID_ICCID, iccid, sizeof(iccid), &n);
		if (rc) {
			rc = fail(err, errcap, rc, "EF.ICCID: %s", strerror(-rc));
			goto err;
		}
		set_label(n, "EF.ICCID");
		rc = card_fs_set_sfi(n, SFI_ICCID);
		if (rc) {
			rc = fail(err, errcap, rc, "EF.ICCID SFI: %s", strerror(-rc));
			goto err;
		}
	}
	rc = build_pkcs15(spec, fs, err, errcap);
	if (rc)
		goto err;
	for (size_t i = 0; i < spec->n_files; i++) {
		rc = add_file(&spec->files[i], fs, err, errcap);
		if (rc)
			goto err;
	}
	for (size_t i = 0; i < spec->n_access; i++) {
		rc = apply_access(&spec->access[i], fs, err, errcap);
		if (rc)
			goto err;
	}
	*out = fs;
	return 0;
err:
	card_fs_free(fs);
	return rc;
}

int card_layout_set_bootstrap(const struct card_spec *spec, struct card_fs *fs, const uint8_t *data,
			      size_t len, char *err, size_t errcap)
{
	struct card_fs_node *adf = card_fs_find_aid(fs, spec->pkcs15_aid, spec->pkcs15_aid_len);
	struct card_fs_node *ef =
		adf && spec->has_bootstrap ? card_fs_child(adf, spec->bootstrap_fid) : NULL;
	if (!ef || card_fs_is_df(ef)) {
		snprintf(err, errcap, "the card has no bootstrap EF");
		return -ENOENT;
	}
	int rc = card_fs_set_data(ef, data, len);
	if (rc)
		snprintf(err, errcap, "EF.DM_Bootstrap %04X (%zu bytes): %s", spec->bootstrap_fid,
			 len, strerror(-rc));
	return rc;
}
