/* pkcs15.c - PKCS#15 objects of the DM bootstrap and the handset's walk to it
 * (PKCS #15 v1.1, ISO/IEC 7816-4/-15, ETSI TS 102 221, OMA DM Bootstrap and
 * LwM2M Appendix G smartcard bootstrap; doc/protocol.md §4). */
#include "card/pkcs15.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "core/hex.h"
#include "codec/tlv.h"

const uint8_t card_pkcs15_aid[12] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50,
				      0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35 };
const uint8_t card_pkcs15_oid_dm_bootstrap[4] = { 0x67, 0x2B, 0x07, 0x01 };
const uint8_t card_pkcs15_oid_misencoded[6] = { 0x06, 0x04, 0x67, 0x2B, 0x09, 0x01 };

const char *card_pkcs15_path_str(const uint8_t *path, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t used = 0;
	if (cap == 0)
		return out;
	/* By hand, not snprintf: the SCWS's walk names its paths on every
	 * request. Whole bytes only, as before. */
	for (size_t i = 0; i < len; i++) {
		bool sep = (len % 2 == 0) && i > 0 && i % 2 == 0;
		if (used + sep + 2 >= cap)
			break;
		if (sep)
			out[used++] = '/';
		out[used++] = digits[path[i] >> 4];
		out[used++] = digits[path[i] & 0x0F];
	}
	out[used] = '\0';
	return out;
}

/* ---- encoders ---- */

static int wr_rc(const struct wr *w)
{
	return w->failed ? -EMSGSIZE : 0;
}

int card_pkcs15_dir_encode(struct wr *w, const struct card_pkcs15_dir_app *app)
{
	if (app->aid_len == 0 || app->aid_len > CARD_AID_MAX || app->path_len > PKCS15_PATH_MAX)
		return -EINVAL;
	size_t m = codec_tlv_begin(w, 0x61);
	codec_tlv_put(w, 0x4F, app->aid, app->aid_len);
	if (app->has_label)
		codec_tlv_put_str(w, 0x50, app->label);
	if (app->path_len)
		codec_tlv_put(w, 0x51, app->path, app->path_len);
	codec_tlv_end(w, m);
	return wr_rc(w);
}

int card_pkcs15_path_encode(struct wr *w, const struct card_pkcs15_path *path)
{
	if (path->len == 0 || path->len > PKCS15_PATH_MAX)
		return -EINVAL;
	size_t m = codec_tlv_begin(w, 0x30);
	codec_tlv_put(w, 0x04, path->path, path->len);
	if (path->has_index) {
		codec_tlv_put_int(w, 0x02, path->index);
		if (path->has_length)
			codec_tlv_put_int(w, 0x80, path->length);
	}
	codec_tlv_end(w, m);
	return wr_rc(w);
}

int card_pkcs15_odf_encode(struct wr *w, uint32_t tag, const struct card_pkcs15_path *path)
{
	size_t m = codec_tlv_begin(w, tag);
	int rc = card_pkcs15_path_encode(w, path);
	if (rc)
		return rc;
	codec_tlv_end(w, m);
	return wr_rc(w);
}

int card_pkcs15_tokeninfo_encode(struct wr *w, const struct card_pkcs15_tokeninfo *ti)
{
	if (ti->serial_len > sizeof(ti->serial))
		return -EINVAL;
	size_t m = codec_tlv_begin(w, 0x30);
	codec_tlv_put_int(w, 0x02, ti->version);
	codec_tlv_put(w, 0x04, ti->serial, ti->serial_len);
	if (ti->has_manufacturer)
		codec_tlv_put_str(w, 0x0C, ti->manufacturer);
	if (ti->has_label)
		codec_tlv_put_str(w, 0x80, ti->label);
	codec_tlv_put_named_bits(w, 0x03, ti->flags);
	codec_tlv_end(w, m);
	return wr_rc(w);
}

int card_pkcs15_do_encode(struct wr *w, const struct card_pkcs15_do *obj)
{
	if (!obj->has_path || obj->app_oid_len > PKCS15_OID_MAX ||
	    obj->type_oid_len > PKCS15_OID_MAX ||
	    (obj->kind == CARD_PKCS15_DO_OID && obj->type_oid_len == 0))
		return -EINVAL;
	size_t m = codec_tlv_begin(w, obj->kind);
	size_t c = codec_tlv_begin(w, 0x30);
	if (obj->has_label)
		codec_tlv_put_str(w, 0x0C, obj->label);
	if (obj->flags)
		codec_tlv_put_named_bits(w, 0x03, obj->flags);
	codec_tlv_end(w, c);
	c = codec_tlv_begin(w, 0x30);
	if (obj->has_app_name)
		codec_tlv_put_str(w, 0x0C, obj->app_name);
	if (obj->app_oid_len)
		codec_tlv_put(w, 0x06, obj->app_oid, obj->app_oid_len);
	codec_tlv_end(w, c);
	/* typeAttributes [1] is written explicitly, as the nRF card and
	 * OpenSC do (doc/protocol.md §4.2). */
	size_t t = codec_tlv_begin(w, 0xA1);
	size_t s = 0;
	if (obj->kind == CARD_PKCS15_DO_OID) {
		s = codec_tlv_begin(w, 0x30);
		codec_tlv_put(w, 0x06, obj->type_oid, obj->type_oid_len);
	}
	int rc = card_pkcs15_path_encode(w, &obj->path);
	if (rc)
		return rc;
	if (obj->kind == CARD_PKCS15_DO_OID)
		codec_tlv_end(w, s);
	codec_tlv_end(w, t);
	codec_tlv_end(w, m);
	return wr_rc(w);
}

/* ---- decoders ---- */

static void copy_text(char *dst, struct bytes v)
{
	size_t n = v.len < PKCS15_LABEL_MAX ? v.len : PKCS15_LABEL_MAX;
	if (n)
		memcpy(dst, v.ptr, n);
	dst[n] = '\0';
}

/* The TLVs of a constructed value, one after the other. */
static int read_in(struct rd *r, struct codec_tlv *t)
{
	return codec_tlv_read(r, 0, t) ? -EPROTO : 0;
}

/* Every remaining TLV is well formed (extensions we skip). */
static int skip_rest(struct rd *r)
{
	struct codec_tlv t;
	while (rd_left(r))
		if (read_in(r, &t))
			return -EPROTO;
	return 0;
}

/* After the last object of an EF: nothing, or 00/FF padding only. */
static bool at_padding(const struct rd *r)
{
	return rd_left(r) == 0 || r->p[r->pos] == 0x00 || r->p[r->pos] == 0xFF;
}

static int decode_path(struct bytes seq, struct card_pkcs15_path *out)
{
	struct rd r;
	struct codec_tlv t;
	memset(out, 0, sizeof(*out));
	rd_init(&r, seq.ptr, seq.len);
	if (codec_tlv_expect(&r, 0, 0x04, &t) || t.value.len == 0 || t.value.len > PKCS15_PATH_MAX)
		return -EPROTO;
	memcpy(out->path, t.value.ptr, t.value.len);
	out->len = t.value.len;
	if (rd_left(&r)) {
		if (codec_tlv_expect(&r, 0, 0x02, &t) || codec_tlv_int(t.value, 0, &out->index) ||
		    out->index < 0)
			return -EPROTO;
		out->has_index = true;
		if (rd_left(&r)) {
			if (codec_tlv_expect(&r, 0, 0x80, &t) ||
			    codec_tlv_int(t.value, 0, &out->length) || out->length < 0)
				return -EPROTO;
			out->has_length = true;
		}
	}
	return rd_left(&r) ? -EPROTO : 0;
}

int card_pkcs15_dir_decode(const uint8_t *rec, size_t len, struct card_pkcs15_dir_app *out)
{
	struct rd r;
	struct codec_tlv app, t;
	memset(out, 0, sizeof(*out));
	rd_init(&r, rec, len);
	if (codec_tlv_expect(&r, 0, 0x61, &app) || !codec_tlv_rest_is_padding(&r))
		return -EPROTO;
	struct rd in;
	rd_init(&in, app.value.ptr, app.value.len);
	while (rd_left(&in)) {
		if (read_in(&in, &t))
			return -EPROTO;
		switch (t.tag) {
		case 0x4F:
			if (out->aid_len || t.value.len == 0 || t.value.len > CARD_AID_MAX)
				return -EPROTO;
			memcpy(out->aid, t.value.ptr, t.value.len);
			out->aid_len = t.value.len;
			break;
		case 0x50:
			copy_text(out->label, t.value);
			out->has_label = true;
			break;
		case 0x51:
			if (t.value.len > PKCS15_PATH_MAX)
				return -EPROTO;
			if (t.value.len)
				memcpy(out->path, t.value.ptr, t.value.len);
			out->path_len = t.value.len;
			break;
		default: /* 52, 53, 73, 5F50: not needed to find the application */
			break;
		}
	}
	return out->aid_len ? 0 : -EPROTO;
}

bool card_pkcs15_dir_is_pkcs15(const struct card_pkcs15_dir_app *app)
{
	return app->aid_len >= sizeof(card_pkcs15_aid) &&
	       memcmp(app->aid, card_pkcs15_aid, sizeof(card_pkcs15_aid)) == 0;
}

int card_pkcs15_odf_decode(const uint8_t *p, size_t len, struct card_pkcs15_odf *out)
{
	struct rd r;
	struct codec_tlv t, inner;
	out->n = 0;
	rd_init(&r, p, len);
	while (!at_padding(&r)) {
		if (read_in(&r, &t) || t.cls != CODEC_TLV_CLASS_CONTEXT || !t.constructed)
			return -EPROTO;
		if (out->n == PKCS15_ODF_ENTRIES_MAX)
			return -EMSGSIZE;
		struct card_pkcs15_odf_entry *e = &out->e[out->n];
		memset(e, 0, sizeof(*e));
		e->tag = t.tag;
		/* PathOrObjects: a Path, or objects / protected objects inline. */
		struct rd in;
		rd_init(&in, t.value.ptr, t.value.len);
		if (read_in(&in, &inner) || rd_left(&in))
			return -EPROTO;
		if (inner.tag == 0x30) {
			if (decode_path(inner.value, &e->path))
				return -EPROTO;
			e->has_path = true;
		} else if (inner.cls != CODEC_TLV_CLASS_CONTEXT) {
			return -EPROTO;
		}
		out->n++;
	}
	return codec_tlv_rest_is_padding(&r) ? 0 : -EPROTO;
}

int card_pkcs15_tokeninfo_decode(const uint8_t *p, size_t len, struct card_pkcs15_tokeninfo *out)
{
	struct rd r, in;
	struct codec_tlv seq, t;
	memset(out, 0, sizeof(*out));
	rd_init(&r, p, len);
	if (codec_tlv_expect(&r, 0, 0x30, &seq) || !codec_tlv_rest_is_padding(&r))
		return -EPROTO;
	rd_init(&in, seq.value.ptr, seq.value.len);
	if (codec_tlv_expect(&in, 0, 0x02, &t) || codec_tlv_int(t.value, 0, &out->version))
		return -EPROTO;
	if (codec_tlv_expect(&in, 0, 0x04, &t) || t.value.len > sizeof(out->serial))
		return -EPROTO;
	if (t.value.len)
		memcpy(out->serial, t.value.ptr, t.value.len);
	out->serial_len = t.value.len;
	if (read_in(&in, &t))
		return -EPROTO;
	if (t.tag == 0x0C) {
		copy_text(out->manufacturer, t.value);
		out->has_manufacturer = true;
		if (read_in(&in, &t))
			return -EPROTO;
	}
	if (t.tag == 0x80) {
		copy_text(out->label, t.value);
		out->has_label = true;
		if (read_in(&in, &t))
			return -EPROTO;
	}
	if (t.tag != 0x03 || codec_tlv_named_bits(t.value, &out->flags))
		return -EPROTO;
	/* sigAlgs, supportedAlgorithms, ...: well formed, otherwise ignored. */
	return skip_rest(&in);
}

static int copy_oid(struct bytes v, uint8_t *dst, size_t *dst_len)
{
	char text[CODEC_OID_TEXT_MAX];
	if (v.len == 0 || v.len > PKCS15_OID_MAX)
		return -EPROTO;
	int rc = codec_oid_decode(v.ptr, v.len, text, sizeof(text));
	if (rc && rc != -EMSGSIZE)
		return -EPROTO;
	memcpy(dst, v.ptr, v.len);
	*dst_len = v.len;
	return 0;
}

/* ObjectValue: indirect Path (30), or URL / direct / protected forms that
 * the walk does not follow. */
static int decode_value(const struct codec_tlv *v, struct card_pkcs15_do *out)
{
	if (v->tag == 0x30) {
		if (decode_path(v->value, &out->path))
			return -EPROTO;
		out->has_path = true;
	}
	return 0;
}

/* typeAttributes [1]: explicit OidDO (30 { 06, value }), implicit OidDO
 * (06, value), or a bare ObjectValue (opaqueDO/externalIDO, or an oidDO
 * whose OID sits in applicationOID). */
static int decode_type(struct bytes ta, struct card_pkcs15_do *out)
{
	struct rd r, in;
	struct codec_tlv x, y;
	rd_init(&r, ta.ptr, ta.len);
	if (read_in(&r, &x))
		return -EPROTO;
	if (x.tag == 0x06) {
		if (copy_oid(x.value, out->type_oid, &out->type_oid_len) || read_in(&r, &y) ||
		    decode_value(&y, out))
			return -EPROTO;
	} else if (x.tag == 0x30) {
		rd_init(&in, x.value.ptr, x.value.len);
		if (read_in(&in, &y))
			return -EPROTO;
		if (y.tag == 0x06) {
			struct codec_tlv z;
			if (copy_oid(y.value, out->type_oid, &out->type_oid_len) ||
			    read_in(&in, &z) || decode_value(&z, out) || skip_rest(&in))
				return -EPROTO;
		} else if (y.tag == 0x04) {
			if (decode_value(&x, out))
				return -EPROTO;
		} else {
			return -EPROTO;
		}
	} else if (decode_value(&x, out)) {
		return -EPROTO;
	}
	return skip_rest(&r);
}

/* The one attribute besides the name that decode_do() keeps from a
 * Common*Attributes SEQUENCE (0 or -EPROTO). */
static int take_flags(struct bytes v, struct card_pkcs15_do *out)
{
	return codec_tlv_named_bits(v, &out->flags) ? -EPROTO : 0;
}

static int take_app_oid(struct bytes v, struct card_pkcs15_do *out)
{
	return out->app_oid_len || copy_oid(v, out->app_oid, &out->app_oid_len) ? -EPROTO : 0;
}

/* A Common*Attributes SEQUENCE from r, every element optional: its first
 * UTF8String (0C) into name, and each element tagged `tag` to take(); the
 * others skipped. */
static int read_common(struct rd *r, char *name, bool *has_name, uint8_t tag,
		       int (*take)(struct bytes v, struct card_pkcs15_do *out),
		       struct card_pkcs15_do *out)
{
	struct rd in;
	struct codec_tlv t;
	if (codec_tlv_expect(r, 0, 0x30, &t))
		return -EPROTO;
	rd_init(&in, t.value.ptr, t.value.len);
	while (rd_left(&in)) {
		if (read_in(&in, &t))
			return -EPROTO;
		if (t.tag == 0x0C && !*has_name) {
			copy_text(name, t.value);
			*has_name = true;
		} else if (t.tag == tag && take(t.value, out)) {
			return -EPROTO;
		}
	}
	return 0;
}

static int decode_do(const struct codec_tlv *obj, struct card_pkcs15_do *out)
{
	struct rd r;
	struct codec_tlv t;
	memset(out, 0, sizeof(*out));
	out->kind = obj->tag;
	rd_init(&r, obj->value.ptr, obj->value.len);

	/* CommonObjectAttributes { label, flags, authId, ... }, then
	 * CommonDataObjectAttributes { applicationName, applicationOID, ... }. */
	if (read_common(&r, out->label, &out->has_label, 0x03, take_flags, out) ||
	    read_common(&r, out->app_name, &out->has_app_name, 0x06, take_app_oid, out))
		return -EPROTO;

	if (read_in(&r, &t))
		return -EPROTO;
	if (t.tag == 0xA0 && read_in(&r, &t)) /* subClassAttributes */
		return -EPROTO;
	if (t.tag != 0xA1 || decode_type(t.value, out))
		return -EPROTO;
	return skip_rest(&r);
}

int card_pkcs15_dodf_decode(const uint8_t *p, size_t len, struct card_pkcs15_dodf *out)
{
	struct rd r;
	struct codec_tlv t;
	out->n = 0;
	rd_init(&r, p, len);
	while (!at_padding(&r)) {
		if (read_in(&r, &t) || !t.constructed)
			return -EPROTO;
		if (out->n == PKCS15_DODF_ENTRIES_MAX)
			return -EMSGSIZE;
		if (decode_do(&t, &out->e[out->n]))
			return -EPROTO;
		out->n++;
	}
	return codec_tlv_rest_is_padding(&r) ? 0 : -EPROTO;
}

static bool oid_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && alen && memcmp(a, b, alen) == 0;
}

/* The OID's contents are a whole DER OID TLV of `oid` (06 len contents). */
static bool oid_wrapped(const uint8_t *a, size_t alen, const uint8_t *oid, size_t oid_len)
{
	return oid_len < 0x80 && alen == oid_len + 2 && a[0] == 0x06 && a[1] == oid_len &&
	       memcmp(a + 2, oid, oid_len) == 0;
}

int card_pkcs15_dodf_find(const struct card_pkcs15_dodf *dodf, const uint8_t *oid, size_t oid_len,
			  bool strict, bool *misencoded)
{
	bool dm = !oid || oid_eq(oid, oid_len, card_pkcs15_oid_dm_bootstrap,
				 sizeof(card_pkcs15_oid_dm_bootstrap));
	if (!oid) {
		oid = card_pkcs15_oid_dm_bootstrap;
		oid_len = sizeof(card_pkcs15_oid_dm_bootstrap);
	}
	for (size_t i = 0; i < dodf->n; i++) {
		const struct card_pkcs15_do *e = &dodf->e[i];
		if (oid_eq(e->type_oid, e->type_oid_len, oid, oid_len) ||
		    oid_eq(e->app_oid, e->app_oid_len, oid, oid_len)) {
			if (misencoded)
				*misencoded = false;
			return (int)i;
		}
	}
	if (strict)
		return -ENOENT;
	for (size_t i = 0; i < dodf->n; i++) {
		const struct card_pkcs15_do *e = &dodf->e[i];
		const uint8_t *cand[2] = { e->type_oid, e->app_oid };
		size_t cand_len[2] = { e->type_oid_len, e->app_oid_len };
		for (int k = 0; k < 2; k++) {
			if (oid_wrapped(cand[k], cand_len[k], oid, oid_len) ||
			    (dm && oid_eq(cand[k], cand_len[k], card_pkcs15_oid_misencoded,
					  sizeof(card_pkcs15_oid_misencoded)))) {
				if (misencoded)
					*misencoded = true;
				return (int)i;
			}
		}
	}
	return -ENOENT;
}

/* ---- the walk ---- */

struct walk {
	const struct card_pkcs15_walk_ops *ops;
	struct card_pkcs15_walk_info *info;
	char *err;
	size_t errcap;
	uint8_t cla;     /* CLA of the logical channel in use */
	int channel;     /* 0 = basic */
	struct buf resp; /* response data of the last command */
	uint16_t sw;
	bool closing; /* failures are reported, not recorded in err */
};

struct fcp {
	bool has_fd;
	uint8_t fd;     /* file descriptor byte */
	size_t rec_len; /* linear fixed */
	size_t rec_count;
	bool has_size;
	size_t size;      /* tag 80 */
	int pin1_enabled; /* C6 (TS 102 221 §11.1.1.4.10): 1, 0; -1 not listed */
};

/* PIN status template C6: PS_DO 90 (b8 of its first byte for the first
 * key reference listed), then usage qualifiers 95 and key references 83. */
static int parse_c6(const uint8_t *p, size_t len, struct fcp *out)
{
	struct rd r;
	struct codec_tlv f;
	const uint8_t *ps = NULL;
	size_t ps_len = 0, k = 0;
	rd_init(&r, p, len);
	while (rd_left(&r)) {
		if (codec_tlv_read(&r, 0, &f))
			return -EPROTO;
		if (f.tag == 0x90) {
			ps = f.value.ptr;
			ps_len = f.value.len;
		} else if (f.tag == 0x83) {
			if (f.value.len != 1)
				return -EPROTO;
			if (f.value.ptr[0] == 0x01 && ps && k / 8 < ps_len)
				out->pin1_enabled = (ps[k / 8] & (0x80 >> (k % 8))) != 0;
			k++;
		}
	}
	return 0;
}

__attribute__((format(printf, 2, 3))) static void report(struct walk *wk, const char *fmt, ...)
{
	if (!wk->ops->report)
		return;
	char line[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	wk->ops->report(wk->ops->report_arg, line);
}

/* Records the first failure; returns rc. */
__attribute__((format(printf, 3, 4))) static int fail(struct walk *wk, int rc, const char *fmt, ...)
{
	if (wk->closing) {
		char line[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		report(wk, "%s", line);
		return rc;
	}
	if (wk->errcap && wk->err[0] == '\0') {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(wk->err, wk->errcap, fmt, ap);
		va_end(ap);
		report(wk, "error: %s", wk->err);
	}
	return rc;
}

static const char *sw_str(uint16_t sw, char *out, size_t cap)
{
	/* 90 00 speaks for itself; anything else gets its meaning. */
	if (sw == 0x9000 && cap >= sizeof("90 00"))
		memcpy(out, "90 00", sizeof("90 00"));
	else
		snprintf(out, cap, "%02X %02X %s", sw >> 8, sw & 0xFF, card_sw_text(sw));
	return out;
}

static bool sw_ok(uint16_t sw)
{
	/* 91 xx / 92 xx end normally too, with news from the card. */
	return sw == 0x9000 || (sw & 0xFF00) == 0x9100 || (sw & 0xFF00) == 0x9200;
}

static uint8_t channel_cla(int ch)
{
	/* TS 102 221 §10.1.1: channels 0-3 in b1-b2, 4-19 as 0x40 | (n - 4). */
	return ch < 4 ? (uint8_t)ch : (uint8_t)(0x40 | (ch - 4));
}

/* Sends one command and collects the response data: 61 xx -> GET
 * RESPONSE, 6C xx -> the same command again with Le = xx (has_le: the
 * last byte of capdu is Le). The final SW is in wk->sw. */
static int xfer(struct walk *wk, const char *what, uint8_t *capdu, size_t len, bool has_le)
{
	uint8_t rapdu[APDU_SHORT_RESP_MAX + 2];
	uint8_t gr[5]; /* GET RESPONSE; capdu points here after a 61 xx */
	size_t rlen = 0;
	bool resent = false;
	unsigned chained = 0;
	buf_reset(&wk->resp);
	for (;;) {
		int rc = wk->ops->transmit(wk->ops->ctx, capdu, len, rapdu, sizeof(rapdu), &rlen);
		if (wk->info)
			wk->info->apdus++;
		if (rc < 0)
			return fail(wk, -EIO, "%s: transmit failed: %s", what, strerror(-rc));
		if (rlen < 2 || rlen > sizeof(rapdu))
			return fail(wk, -EPROTO, "%s: response of %zu bytes, no status word", what,
				    rlen);
		wk->sw = (uint16_t)((rapdu[rlen - 2] << 8) | rapdu[rlen - 1]);
		uint8_t sw1 = rapdu[rlen - 2], sw2 = rapdu[rlen - 1];
		if (sw1 == 0x6C && has_le && !resent) {
			/* ISO 7816-3 §12.2.2 (T=0): wrong Le, the card says which. */
			report(wk, "%s: 6C %02X, sending again with Le %02X", what, sw2, sw2);
			capdu[len - 1] = sw2;
			resent = true;
			continue;
		}
		rc = buf_append(&wk->resp, rapdu, rlen - 2);
		if (rc)
			return fail(wk, rc, "%s: response data over %zu bytes", what, wk->resp.max);
		if (sw1 != 0x61)
			return 0;
		/* T=0 case 4: the data waits for GET RESPONSE (TS 102 221 §7.3.1.1.4). */
		if (++chained > PKCS15_WALK_RESP_MAX / APDU_SHORT_RESP_MAX)
			return fail(wk, -EPROTO, "%s: endless 61 xx chain", what);
		report(wk, "%s: 61 %02X, GET RESPONSE", what, sw2);
		gr[0] = wk->cla;
		gr[1] = 0xC0;
		gr[2] = 0x00;
		gr[3] = 0x00;
		gr[4] = sw2;
		capdu = gr;
		len = sizeof(gr);
		has_le = true;
		resent = false;
	}
}

static int parse_fcp(const uint8_t *p, size_t len, struct fcp *out)
{
	struct codec_tlv t, f;
	memset(out, 0, sizeof(*out));
	out->pin1_enabled = -1;
	if (len == 0)
		return 0; /* no FCP at all: nothing known */
	struct rd r;
	rd_init(&r, p, len);
	if (codec_tlv_expect(&r, 0, 0x62, &t) || rd_left(&r))
		return -EPROTO;
	struct rd in;
	rd_init(&in, t.value.ptr, t.value.len);
	while (rd_left(&in)) {
		if (codec_tlv_read(&in, 0, &f))
			return -EPROTO;
		if (f.tag == 0x82) {
			if (f.value.len < 1)
				return -EPROTO;
			out->has_fd = true;
			out->fd = f.value.ptr[0];
			/* TS 102 221 §11.1.1.4.3: FD, coding, record length (2), count. */
			if (f.value.len >= 5) {
				out->rec_len = (size_t)(f.value.ptr[2] << 8 | f.value.ptr[3]);
				out->rec_count = f.value.ptr[4];
			} else if (f.value.len >= 4) {
				out->rec_len = f.value.ptr[3];
			}
		} else if (f.tag == 0x80) {
			if (f.value.len < 1 || f.value.len > 4)
				return -EPROTO;
			size_t v = 0;
			for (size_t i = 0; i < f.value.len; i++)
				v = (v << 8) | f.value.ptr[i];
			out->has_size = true;
			out->size = v;
		} else if (f.tag == 0xC6) {
			if (parse_c6(f.value.ptr, f.value.len, out))
				return -EPROTO;
		}
	}
	return 0;
}

static bool fcp_is_df(const struct fcp *f)
{
	return f->has_fd && (f->fd & 0x38) == 0x38;
}

static const char *fcp_kind(const struct fcp *f)
{
	if (!f->has_fd)
		return "no descriptor";
	if (fcp_is_df(f))
		return "DF";
	switch (f->fd & 0x07) {
	case 1:
		return "transparent";
	case 2:
		return "linear fixed";
	case 6:
		return "cyclic";
	default:
		return "unknown structure";
	}
}

/* SELECT with P2 04 (return the FCP); data is copied into the command. */
static int do_select(struct walk *wk, const char *what, uint8_t p1, const uint8_t *data,
		     size_t dlen, struct fcp *fcp)
{
	uint8_t c[5 + 255 + 1];
	char sw[64];
	c[0] = wk->cla;
	c[1] = 0xA4;
	c[2] = p1;
	c[3] = 0x04;
	c[4] = (uint8_t)dlen;
	memcpy(c + 5, data, dlen);
	c[5 + dlen] = 0x00;
	int rc = xfer(wk, what, c, 6 + dlen, true);
	if (rc)
		return rc;
	if (!sw_ok(wk->sw)) {
		report(wk, "%s: %s", what, sw_str(wk->sw, sw, sizeof(sw)));
		return 1; /* the caller words the failure */
	}
	if (parse_fcp(wk->resp.p, wk->resp.len, fcp))
		return fail(wk, -EPROTO, "%s: malformed FCP (%zu bytes)", what, wk->resp.len);
	return 0;
}

static void fcp_line(const struct fcp *f, char *out, size_t cap)
{
	if (f->rec_len && f->has_fd && (f->fd & 0x07) == 2)
		snprintf(out, cap, ", %s, %zu record%s of %zu bytes", fcp_kind(f), f->rec_count,
			 f->rec_count == 1 ? "" : "s", f->rec_len);
	else if (f->has_size)
		snprintf(out, cap, ", %s, %zu bytes", fcp_kind(f), f->size);
	else
		snprintf(out, cap, ", %s", fcp_kind(f));
}

/* Turns a PKCS#15 Path into the data of SELECT P1 08 (path from the MF,
 * without 3F00; 7FFF first means the current application, TS 102 221
 * §8.4.2). A path not starting with 3F00 is relative to the application
 * (PKCS#15 §6.1.5; OpenSC prepends the application's path the same way). */
static int select_data_of(const uint8_t *path, size_t len, uint8_t *out, size_t *out_len)
{
	if (len == 0 || len % 2 || len > PKCS15_PATH_MAX)
		return -EPROTO;
	if (path[0] == 0x3F && path[1] == 0x00) {
		if (len == 2)
			return -EPROTO;
		memcpy(out, path + 2, len - 2);
		*out_len = len - 2;
	} else if (path[0] == 0x7F && path[1] == 0xFF) {
		memcpy(out, path, len);
		*out_len = len;
	} else {
		out[0] = 0x7F;
		out[1] = 0xFF;
		memcpy(out + 2, path, len);
		*out_len = len + 2;
	}
	return 0;
}

/* Selects a transparent EF of the application by PKCS#15 path. */
static int select_ef(struct walk *wk, const char *name, const uint8_t *path, size_t plen,
		     struct fcp *fcp)
{
	uint8_t data[PKCS15_PATH_MAX + 2];
	size_t dlen = 0;
	char ps[64], what[128], sw[64], extra[96];
	card_pkcs15_path_str(path, plen, ps, sizeof(ps));
	if (select_data_of(path, plen, data, &dlen))
		return fail(wk, -EPROTO, "%s: path %s is not a path to an EF", name, ps);
	char sel[64];
	card_pkcs15_path_str(data, dlen, sel, sizeof(sel));
	snprintf(what, sizeof(what), "SELECT %s (%s)", sel, name);
	int rc = do_select(wk, what, 0x08, data, dlen, fcp);
	if (rc == 1 && (wk->sw == 0x6A86 || wk->sw == 0x6A81) && dlen == 4 && data[0] == 0x7F &&
	    data[1] == 0xFF) {
		/* No select by path: the FID from the current DF (the ADF). */
		snprintf(what, sizeof(what), "SELECT %02X%02X (%s) by FID", data[2], data[3], name);
		rc = do_select(wk, what, 0x00, data + 2, 2, fcp);
	}
	if (rc < 0)
		return rc;
	if (rc == 1)
		return fail(wk, -EPROTO, "%s: %s", what, sw_str(wk->sw, sw, sizeof(sw)));
	if (wk->ops->report) {
		fcp_line(fcp, extra, sizeof(extra));
		report(wk, "%s: %s%s", what, sw_str(wk->sw, sw, sizeof(sw)), extra);
	}
	if (fcp->has_fd && (fcp_is_df(fcp) || (fcp->fd & 0x07) != 1))
		return fail(wk, -EPROTO, "%s: %s, not a transparent EF", what, fcp_kind(fcp));
	return 0;
}

/* READ BINARY of the selected EF into out: [start, start + want) when
 * the size is known, else until the card says the end is reached. */
static int read_binary(struct walk *wk, const char *name, const struct fcp *fcp,
		       const struct card_pkcs15_path *p, struct buf *out)
{
	char what[96], sw[64];
	size_t start = 0, want = 0;
	bool known = fcp->has_size;
	if (p && p->has_index) {
		start = (size_t)p->index;
		if (known && start > fcp->size)
			return fail(wk, -EPROTO, "%s: Path.index %zu past the file's %zu bytes",
				    name, start, fcp->size);
		if (p->has_length) {
			want = (size_t)p->length;
			if (known && want > fcp->size - start)
				return fail(wk, -EPROTO,
					    "%s: Path index %zu length %zu past the "
					    "file's %zu bytes",
					    name, start, want, fcp->size);
			known = true;
		} else if (known) {
			want = fcp->size - start;
		}
	} else if (known) {
		want = fcp->size;
	}
	if (known && want > out->max)
		return fail(wk, -EMSGSIZE, "%s: %zu bytes, over the limit of %zu", name, want,
			    out->max);
	size_t got = 0;
	while (!known || got < want) {
		size_t off = start + got;
		size_t n = known ? want - got : APDU_SHORT_RESP_MAX;
		if (n > APDU_SHORT_RESP_MAX)
			n = APDU_SHORT_RESP_MAX;
		if (off > 0xFFFF)
			return fail(wk, -EMSGSIZE, "%s: offset %zu beyond READ BINARY's FFFF", name,
				    off);
		bool odd = off > 0x7FFF;
		/* B1 (ISO 7816-4 §11.2.3): the offset in DO 54, the data in DO
		 * 53, whose header takes 2 to 3 of Le's bytes. */
		uint8_t c[10] = { wk->cla, 0xB0, (uint8_t)(off >> 8), (uint8_t)off,
				  (uint8_t)(n == 256 ? 0 : n) };
		size_t clen = 5;
		if (odd) {
			n = n > 0x7F ? (n > 0xFD ? 0xFD : n) : n;
			size_t le = n + (n < 0x80 ? 2 : 3);
			uint8_t oc[10] = { wk->cla,      0xB1,
					   0x00,         0x00,
					   0x04,         0x54,
					   0x02,         (uint8_t)(off >> 8),
					   (uint8_t)off, (uint8_t)(le == 256 ? 0 : le) };
			memcpy(c, oc, sizeof(oc));
			clen = sizeof(oc);
		}
		snprintf(what, sizeof(what), "READ BINARY%s %s offset %zu length %zu",
			 odd ? " (B1)" : "", name, off, n);
		int rc = xfer(wk, what, c, clen, true);
		if (rc)
			return rc;
		if (odd && sw_ok(wk->sw)) {
			/* Unwrap 53 LL: what follows is the file's data. */
			struct rd r;
			struct codec_tlv t;
			rd_init(&r, wk->resp.p, wk->resp.len);
			if (codec_tlv_read(&r, 0, &t) || t.tag != 0x53 || rd_left(&r))
				return fail(wk, -EPROTO, "%s: %zu bytes, not one data object 53",
					    what, wk->resp.len);
			memmove(wk->resp.p, t.value.ptr, t.value.len);
			wk->resp.len = t.value.len;
		}
		bool eof = false;
		if (wk->sw == 0x6282) {
			eof = true; /* end of file reached before Le bytes */
		} else if (!known && off > 0 && wk->sw == 0x6B00) {
			eof = true; /* the previous chunk ended exactly at the end */
		} else if (wk->sw == 0x6982) {
			return fail(wk, -EACCES, "%s: %s: the file needs a PIN%s", what,
				    sw_str(wk->sw, sw, sizeof(sw)),
				    wk->ops->pin1 ? "" : " (none was given)");
		} else if (!sw_ok(wk->sw)) {
			return fail(wk, -EPROTO, "%s: %s", what, sw_str(wk->sw, sw, sizeof(sw)));
		}
		size_t len = wk->resp.len;
		if (len > n)
			return fail(wk, -EPROTO, "%s: %zu bytes returned for Le %zu", what, len, n);
		rc = buf_append(out, wk->resp.p, len);
		if (rc)
			return fail(wk, rc, "%s: over the limit of %zu bytes", name, out->max);
		got += len;
		report(wk, "%s: %s, %zu bytes", what, sw_str(wk->sw, sw, sizeof(sw)), len);
		if (eof || (!known && len < n))
			break;
		if (len == 0)
			return fail(wk, -EPROTO, "%s: no data", what);
	}
	if (known && got < want)
		return fail(wk, -EPROTO, "%s: %zu of %zu bytes before the end of file", name, got,
			    want);
	return 0;
}

static int read_ef(struct walk *wk, const char *name, const struct card_pkcs15_path *p,
		   struct buf *out)
{
	struct fcp fcp;
	int rc = select_ef(wk, name, p->path, p->len, &fcp);
	if (rc)
		return rc;
	return read_binary(wk, name, &fcp, p, out);
}

static void oid_text(const uint8_t *oid, size_t len, char *out, size_t cap)
{
	if (codec_oid_decode(oid, len, out, cap) == 0)
		return;
	/* Not a valid OID: show its bytes. */
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < len && used + 3 <= cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%02X", oid[i]);
}

/* A label from the card, fit for a log line: control bytes and quotes
 * become '?' (UTF-8 sequences pass). */
static void printable(char *dst, const char *src)
{
	size_t i = 0;
	for (; src[i] && i < PKCS15_LABEL_MAX; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7F || c == '"' || c == '\\') ? '?' : (char)c;
	}
	dst[i] = '\0';
}

static const char *do_kind(uint32_t kind)
{
	switch (kind) {
	case CARD_PKCS15_DO_OPAQUE:
		return "opaqueDO";
	case CARD_PKCS15_DO_EXTERNAL:
		return "externalIDO";
	case CARD_PKCS15_DO_OID:
		return "oidDO";
	default:
		return "unknown DO";
	}
}

/* VERIFY PIN1 (TS 102 221 §11.1.9) with ops->pin1; without one, only
 * said: files that need it will answer 69 82. */
static int verify_pin1(struct walk *wk)
{
	char sw[64];
	if (!wk->ops->pin1) {
		report(wk, "PIN1 is enabled and no PIN was given: files that need it answer 69 82");
		return 0;
	}
	uint8_t c[5 + 8] = { 0x00, 0x20, 0x00, 0x01, 0x08 };
	memcpy(c + 5, wk->ops->pin1, 8);
	int rc = xfer(wk, "VERIFY PIN1", c, sizeof(c), false);
	memset(c + 5, 0, 8);
	if (rc)
		return rc;
	if (wk->sw == 0x9000) {
		report(wk, "VERIFY PIN1: 90 00");
		if (wk->info)
			wk->info->pin1_verified = true;
		return 0;
	}
	if ((wk->sw & 0xFFF0) == 0x63C0)
		return fail(wk, -EACCES, "VERIFY PIN1: %s: wrong PIN, %u tries left",
			    sw_str(wk->sw, sw, sizeof(sw)), wk->sw & 0x0F);
	if (wk->sw == 0x6983)
		return fail(wk, -EACCES,
			    "VERIFY PIN1: %s: PIN1 is blocked (UNBLOCK PIN with the PUK)",
			    sw_str(wk->sw, sw, sizeof(sw)));
	return fail(wk, -EPROTO, "VERIFY PIN1: %s", sw_str(wk->sw, sw, sizeof(sw)));
}

/* EF.DIR: the first application template with the PKCS#15 AID. */
static int find_app(struct walk *wk, struct card_pkcs15_dir_app *app)
{
	struct fcp fcp;
	char sw[64], extra[96];
	static const uint8_t mf[2] = { 0x3F, 0x00 }, dir[2] = { 0x2F, 0x00 };
	int rc = do_select(wk, "SELECT 3F00 (MF)", 0x00, mf, 2, &fcp);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return fail(wk, -EPROTO, "SELECT 3F00 (MF): %s", sw_str(wk->sw, sw, sizeof(sw)));
	report(wk, "SELECT 3F00 (MF): %s%s", sw_str(wk->sw, sw, sizeof(sw)),
	       fcp.pin1_enabled == 1   ? ", PIN1 enabled"
	       : fcp.pin1_enabled == 0 ? ", PIN1 disabled"
				       : "");
	if (wk->info)
		wk->info->pin1_enabled = fcp.pin1_enabled;
	if (fcp.pin1_enabled == 1) {
		rc = verify_pin1(wk);
		if (rc)
			return rc;
	}
	rc = do_select(wk, "SELECT 2F00 (EF.DIR)", 0x00, dir, 2, &fcp);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		if (wk->sw == 0x6A82)
			return fail(wk, -ENOENT,
				    "SELECT 2F00 (EF.DIR): %s: the card lists no "
				    "applications",
				    sw_str(wk->sw, sw, sizeof(sw)));
		return fail(wk, -EPROTO, "SELECT 2F00 (EF.DIR): %s",
			    sw_str(wk->sw, sw, sizeof(sw)));
	}
	if (wk->ops->report) {
		fcp_line(&fcp, extra, sizeof(extra));
		report(wk, "SELECT 2F00 (EF.DIR): %s%s", sw_str(wk->sw, sw, sizeof(sw)), extra);
	}
	if (fcp.has_fd && (fcp_is_df(&fcp) || (fcp.fd & 0x07) != 2))
		return fail(wk, -EPROTO, "EF.DIR 2F00 is %s, not linear fixed", fcp_kind(&fcp));
	int bad = 0;
	for (unsigned n = 1; n <= CARD_RECORDS_MAX; n++) {
		char what[64];
		snprintf(what, sizeof(what), "READ RECORD %u of EF.DIR", n);
		size_t le = fcp.rec_len && fcp.rec_len < 256 ? fcp.rec_len : 0;
		uint8_t c[5] = { wk->cla, 0xB2, (uint8_t)n, 0x04, (uint8_t)le };
		rc = xfer(wk, what, c, sizeof(c), true);
		if (rc)
			return rc;
		if (wk->sw == 0x6A83) {
			report(wk, "%s: %s (end of EF.DIR)", what, sw_str(wk->sw, sw, sizeof(sw)));
			break;
		}
		if (!sw_ok(wk->sw))
			return fail(wk, -EPROTO, "%s: %s", what, sw_str(wk->sw, sw, sizeof(sw)));
		struct rd r;
		rd_init(&r, wk->resp.p, wk->resp.len);
		if (wk->resp.len == 0 || codec_tlv_rest_is_padding(&r)) {
			report(wk, "%s: %s, empty record", what, sw_str(wk->sw, sw, sizeof(sw)));
			continue;
		}
		if (card_pkcs15_dir_decode(wk->resp.p, wk->resp.len, app)) {
			report(wk, "%s: %s, not an application template (skipped)", what,
			       sw_str(wk->sw, sw, sizeof(sw)));
			if (!bad)
				bad = (int)n;
			continue;
		}
		if (wk->ops->report) { /* formatted only for a reader */
			char aid[2 * CARD_AID_MAX + 1], path[64];
			card_pkcs15_path_str(app->path, app->path_len, path, sizeof(path));
			hex_encode(app->aid, app->aid_len, 0, aid, sizeof(aid));
			char label[PKCS15_LABEL_MAX + 1];
			printable(label, app->label);
			report(wk, "%s: %s, application %s%s%s%s%s%s", what,
			       sw_str(wk->sw, sw, sizeof(sw)), aid, app->has_label ? " \"" : "",
			       label, app->has_label ? "\"" : "", app->path_len ? " path " : "",
			       path);
		}
		if (card_pkcs15_dir_is_pkcs15(app))
			return 0;
	}
	if (bad)
		return fail(wk, -EPROTO,
			    "EF.DIR record %d is malformed and no record holds the "
			    "PKCS#15 AID",
			    bad);
	return fail(wk, -ENOENT,
		    "EF.DIR has no PKCS#15 application (AID A000000063504B43532D3135)");
}

static int open_channel(struct walk *wk)
{
	char sw[64];
	uint8_t c[5] = { 0x00, 0x70, 0x00, 0x00, 0x01 };
	int rc = xfer(wk, "MANAGE CHANNEL open", c, sizeof(c), true);
	if (rc)
		return rc;
	if (sw_ok(wk->sw)) {
		if (wk->resp.len != 1 || wk->resp.p[0] == 0 ||
		    wk->resp.p[0] >= CARD_LOGICAL_CHANNELS)
			return fail(wk, -EPROTO,
				    "MANAGE CHANNEL open: %s with %zu bytes of data, "
				    "not one channel number 1..%u",
				    sw_str(wk->sw, sw, sizeof(sw)), wk->resp.len,
				    CARD_LOGICAL_CHANNELS - 1);
		wk->channel = wk->resp.p[0];
		wk->cla = channel_cla(wk->channel);
		report(wk, "MANAGE CHANNEL open: %s, channel %d", sw_str(wk->sw, sw, sizeof(sw)),
		       wk->channel);
		return 0;
	}
	switch (wk->sw) {
	case 0x6881:
	case 0x6A81:
	case 0x6D00:
	case 0x6E00:
		/* A card without logical channels: go on on the basic channel. */
		report(wk, "MANAGE CHANNEL open: %s, using the basic channel",
		       sw_str(wk->sw, sw, sizeof(sw)));
		return 0;
	default:
		return fail(wk, -EPROTO, "MANAGE CHANNEL open: %s", sw_str(wk->sw, sw, sizeof(sw)));
	}
}

static void close_channel(struct walk *wk)
{
	char sw[64], what[48];
	if (wk->channel <= 0)
		return;
	snprintf(what, sizeof(what), "MANAGE CHANNEL close %d", wk->channel);
	/* As the nRF trace: on the channel being closed, P2 = its number. */
	uint8_t c[4] = { wk->cla, 0x70, 0x80, (uint8_t)wk->channel };
	/* A failed close does not change the walk's result (the data are in
	 * hand, or the first error is): it is only reported. */
	wk->closing = true;
	if (xfer(wk, what, c, sizeof(c), false) == 0)
		report(wk, "%s: %s", what, sw_str(wk->sw, sw, sizeof(sw)));
	wk->channel = 0;
	wk->cla = 0;
}

static int walk_dodfs(struct walk *wk, const struct card_pkcs15_odf *odf,
		      struct card_pkcs15_dodf *dodf, struct card_pkcs15_path *ef,
		      const uint8_t *oid, size_t oid_len)
{
	char ps[64], names[160] = "", what[96], ot[CODEC_OID_TEXT_MAX];
	size_t searched = 0, used = 0;
	struct buf data;
	oid_text(oid, oid_len, ot, sizeof(ot));
	buf_init(&data, PKCS15_EF_READ_MAX);
	int rc = -ENOENT;
	for (size_t i = 0; i < odf->n && searched < PKCS15_WALK_DODFS_MAX; i++) {
		const struct card_pkcs15_odf_entry *e = &odf->e[i];
		if (e->tag != CARD_PKCS15_ODF_DODF || !e->has_path)
			continue;
		searched++;
		card_pkcs15_path_str(e->path.path, e->path.len, ps, sizeof(ps));
		snprintf(what, sizeof(what), "DODF %s", ps);
		int k = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", ps);
		if (k > 0 && (size_t)k < sizeof(names) - used)
			used += (size_t)k;
		buf_reset(&data);
		rc = read_ef(wk, what, &e->path, &data);
		if (rc)
			goto out;
		rc = card_pkcs15_dodf_decode(data.p, data.len, dodf);
		if (rc) {
			rc = fail(wk, -EPROTO, "%s: malformed (%zu bytes)%s", what, data.len,
				  rc == -EMSGSIZE ? ": too many objects" : "");
			goto out;
		}
		for (size_t j = 0; j < dodf->n && wk->ops->report; j++) {
			const struct card_pkcs15_do *d = &dodf->e[j];
			char t[CODEC_OID_TEXT_MAX] = "-", a[CODEC_OID_TEXT_MAX] = "-", p2[64] = "-";
			char label[PKCS15_LABEL_MAX + 1];
			if (d->type_oid_len)
				oid_text(d->type_oid, d->type_oid_len, t, sizeof(t));
			if (d->app_oid_len)
				oid_text(d->app_oid, d->app_oid_len, a, sizeof(a));
			if (d->has_path)
				card_pkcs15_path_str(d->path.path, d->path.len, p2, sizeof(p2));
			printable(label, d->has_label      ? d->label
					 : d->has_app_name ? d->app_name
							   : "");
			report(wk, "%s object %zu: %s \"%s\" id %s applicationOID %s -> %s", what,
			       j + 1, do_kind(d->kind), label, t, a, p2);
		}
		bool mis = false;
		int idx = card_pkcs15_dodf_find(dodf, oid, oid_len, wk->ops->strict_oid, &mis);
		if (idx < 0)
			continue;
		const struct card_pkcs15_do *d = &dodf->e[idx];
		if (wk->info)
			wk->info->misencoded_oid = mis;
		if (mis)
			report(wk, "%s: object %d carries a mis-encoded OID, accepted as %s", what,
			       idx + 1, ot);
		if (!d->has_path) {
			rc = fail(wk, -EPROTO,
				  "%s: the entry with OID %s does not point to a file "
				  "(its value is not a Path)",
				  what, ot);
			goto out;
		}
		*ef = d->path;
		if (wk->info) {
			memcpy(wk->info->dodf_path, e->path.path, e->path.len);
			wk->info->dodf_path_len = e->path.len;
		}
		rc = 0;
		goto out;
	}
	if (searched == 0)
		rc = fail(wk, -ENOENT, "ODF has no DODF (dataObjects A7) entry with a Path");
	else
		rc = fail(wk, -ENOENT, "%s %s has no entry with OID %s",
			  searched > 1 ? "no DODF of" : "DODF", names, ot);
out:
	buf_cleanup(&data);
	return rc;
}

int card_pkcs15_walk(const struct card_pkcs15_walk_ops *ops, struct buf *out,
		     struct card_pkcs15_walk_info *info, char *err, size_t errcap)
{
	struct walk wk = { .ops = ops, .info = info, .err = err, .errcap = errcap };
	struct card_pkcs15_dir_app app;
	struct card_pkcs15_odf odf;
	struct card_pkcs15_dodf *dodf = NULL;
	struct card_pkcs15_path odf_path = { .path = { 0x50, 0x31 }, .len = 2 };
	struct card_pkcs15_path ef;
	struct buf data;
	char ps[64], aid[2 * CARD_AID_MAX + 1], sw[64];
	const uint8_t *oid = ops->oid;
	size_t oid_len = ops->oid_len;
	int rc;

	if (errcap)
		err[0] = '\0';
	if (!oid) {
		oid = card_pkcs15_oid_dm_bootstrap;
		oid_len = sizeof(card_pkcs15_oid_dm_bootstrap);
	}
	if (info) {
		memset(info, 0, sizeof(*info));
		info->channel = -1;
		info->pin1_enabled = -1;
	}
	buf_reset(out);
	buf_init(&wk.resp, PKCS15_WALK_RESP_MAX);
	buf_init(&data, PKCS15_EF_READ_MAX);

	rc = find_app(&wk, &app);
	if (rc)
		goto out;
	if (info) {
		memcpy(info->aid, app.aid, app.aid_len);
		info->aid_len = app.aid_len;
	}
	rc = open_channel(&wk);
	if (rc)
		goto out;
	if (info)
		info->channel = wk.channel;

	hex_encode(app.aid, app.aid_len, 0, aid, sizeof(aid));
	char what[96];
	struct fcp fcp;
	snprintf(what, sizeof(what), "SELECT AID %s on channel %d", aid, wk.channel);
	rc = do_select(&wk, what, 0x04, app.aid, app.aid_len, &fcp);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		rc = fail(&wk, -EPROTO, "%s: %s", what, sw_str(wk.sw, sw, sizeof(sw)));
		goto out;
	}
	report(&wk, "%s: %s", what, sw_str(wk.sw, sw, sizeof(sw)));

	/* EF.ODF is 5031 in the application (PKCS#15 §6.6.1). */
	rc = read_ef(&wk, "EF.ODF", &odf_path, &data);
	if (rc)
		goto out;
	rc = card_pkcs15_odf_decode(data.p, data.len, &odf);
	if (rc) {
		rc = fail(&wk, -EPROTO, "EF.ODF: malformed (%zu bytes)%s", data.len,
			  rc == -EMSGSIZE ? ": too many entries" : "");
		goto out;
	}
	for (size_t i = 0; i < odf.n; i++) {
		card_pkcs15_path_str(odf.e[i].path.path, odf.e[i].path.len, ps, sizeof(ps));
		report(&wk, "EF.ODF entry %zu: %02X%s -> %s", i + 1, odf.e[i].tag,
		       odf.e[i].tag == CARD_PKCS15_ODF_DODF ? " (dataObjects)" : "",
		       odf.e[i].has_path ? ps : "(objects inline: not followed)");
	}

	dodf = malloc(sizeof(*dodf));
	if (!dodf) {
		rc = fail(&wk, -ENOMEM, "out of memory");
		goto out;
	}
	rc = walk_dodfs(&wk, &odf, dodf, &ef, oid, oid_len);
	if (rc)
		goto out;

	card_pkcs15_path_str(ef.path, ef.len, ps, sizeof(ps));
	if (info) {
		memcpy(info->ef_path, ef.path, ef.len);
		info->ef_path_len = ef.len;
	}
	char name[80];
	snprintf(name, sizeof(name), "bootstrap EF %s", ps);
	rc = read_ef(&wk, name, &ef, out);
	if (rc)
		goto out;
	struct rd r;
	rd_init(&r, out->p, out->len);
	if (out->len == 0 || codec_tlv_rest_is_padding(&r)) {
		rc = fail(&wk, -ENOENT, "%s is empty (%zu bytes, all padding)", name, out->len);
		goto out;
	}
	report(&wk, "%s: %zu bytes of bootstrap", name, out->len);
	rc = 0;
out:
	close_channel(&wk);
	if (rc)
		buf_reset(out);
	free(dodf);
	buf_cleanup(&data);
	buf_cleanup(&wk.resp);
	return rc;
}
