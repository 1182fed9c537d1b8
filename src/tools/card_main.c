/* card_main.c - scwsemu-card: create, check and inspect card profiles.
 *
 * Every read goes through the card's own APDU interface (card_transmit),
 * as a handset or a PC/SC tool would see it, except `ls` and `cat`, which
 * show the file system as built (a listing, not a protocol walk). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card/atr.h"
#include "card/card.h"
#include "card/layout.h"
#include "card/pkcs15.h"
#include "codec/wbxml.h"
#include "config/paths.h"
#include "config/profile.h"
#include "core/buf.h"
#include "core/bytes.h"
#include "core/hex.h"
#include "core/limits.h"
#include "tools/stamp.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char usage_text[] =
	"Usage:\n"
	"  scwsemu-card new DIR --bootstrap FILE.xml [--auth USER:PASSPHRASE]\n"
	"                   [--psk IDENTITY:HEXKEY] [--store wbxml|xml] [--no-bootstrap]\n"
	"                   [--pki DIR] [--devid SCHEME:VALUE]...\n"
	"  scwsemu-card new DIR --count N ...   N cards DIR/card-001 ... with ${N} and ${NNN}\n"
	"                                  (the card's number) replaced in the bootstrap, --auth,\n"
	"                                  --psk's identity and --devid; --psk IDENTITY[:HEXKEY]\n"
	"                                  gives each card its own key (derived, or random)\n"
	"  scwsemu-card check DIR [--pin DIGITS]\n"
	"                                  walk EF.DIR -> PKCS#15 -> ODF -> DODF -> EF over APDUs\n"
	"                                  (VERIFY PIN1 first when it is enabled), check the ATR\n"
	"  scwsemu-card ls DIR             the file tree with decoded PKCS#15 objects\n"
	"  scwsemu-card cat DIR PATH       raw bytes of one EF (PATH as FIDs, e.g. "
	"3F00/7F50/6432)\n"
	"  scwsemu-card bootstrap DIR [--xml]   the bootstrap as stored, or decoded to XML\n"
	"\n"
	"Exit status: 0 success, 1 failure (the reason is printed), 2 bad usage or bad profile.\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "scwsemu-card: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'scwsemu-card --help'.\n");
	return EXIT_USAGE;
}

struct loaded {
	struct profile *p;
	struct card_fs *fs;
	struct card *card;
};

static void loaded_free(struct loaded *l)
{
	card_free(l->card);
	card_fs_free(l->fs);
	profile_free(l->p);
}

/* Loads DIR into a powered card; EXIT_USAGE after saying why. */
static int load(const char *dir, struct loaded *l)
{
	struct profile_error perr;
	char msg[1024];
	memset(l, 0, sizeof(*l));
	if (profile_load(dir, &l->p, &perr) != 0) {
		fprintf(stderr, "scwsemu-card: %s\n", profile_error_str(&perr, msg, sizeof(msg)));
		return EXIT_USAGE;
	}
	if (card_layout_build(&l->p->card, &l->fs, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "scwsemu-card: %s: %s\n", l->p->conf_path, msg);
		loaded_free(l);
		return EXIT_USAGE;
	}
	l->card = card_new(l->fs, l->p->card.atr, l->p->card.atr_len);
	if (!l->card || card_configure(l->card, &l->p->card.opts) != 0) {
		fprintf(stderr, "scwsemu-card: %s: cannot power the card (ATR or options)\n",
			l->p->conf_path);
		loaded_free(l);
		return EXIT_USAGE;
	}
	return 0;
}

static int transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
		    size_t *rlen)
{
	return card_transmit(ctx, capdu, len, rapdu, cap, rlen);
}

static void report(void *arg, const char *line)
{
	printf("  %s\n", line);
}

/* The walk a handset does; 0, -ENOENT (no bootstrap) or another error. */
static int walk(struct loaded *l, bool verbose, const uint8_t *pin1, struct buf *out,
		struct card_pkcs15_walk_info *info, char *err, size_t errcap)
{
	struct card_pkcs15_walk_ops ops = {
		.transmit = transmit,
		.ctx = l->card,
		.report = verbose ? report : NULL,
		.pin1 = pin1,
	};
	card_reset(l->card);
	return card_pkcs15_walk(&ops, out, info, err, errcap);
}

static bool is_wbxml(const struct profile *p)
{
	return p->store == PROFILE_STORE_WBXML;
}

/* The profile's PIN1 block, or NULL: what the card itself (its SCWS)
 * presents. */
static const uint8_t *profile_pin1(const struct profile *p)
{
	for (size_t i = 0; i < p->card.opts.n_pins; i++)
		if (p->card.opts.pins[i].ref == CARD_KEY_PIN1)
			return p->card.opts.pins[i].pin;
	return NULL;
}

/* The ATR against the card: TCK, historical bytes, the logical channels
 * the card capabilities announce against those MANAGE CHANNEL opens,
 * extended lengths and chaining against what the card does. Prints one
 * line per finding; returns the number of disagreements. */
static int check_atr(const struct profile *p)
{
	struct card_atr a;
	char why[160];
	int bad = 0;
	if (card_atr_parse(p->card.atr, p->card.atr_len, &a, why, sizeof(why)) != 0) {
		printf("  ATR: %s\n", why);
		return 1;
	}
	if (a.has_tck) {
		bool ok = a.tck == a.tck_want;
		printf("  TCK %02X: %s\n", a.tck, ok ? "correct" : "WRONG");
		if (!ok) {
			printf("  DISAGREE: TCK is %02X, the XOR of T0 .. TCK needs %02X\n", a.tck,
			       a.tck_want);
			bad++;
		}
	} else {
		printf("  TCK: absent (only T=0 indicated)\n");
	}
	char h[64];
	printf("  historical bytes (%zu): %s%s\n", a.hist_len,
	       hex_encode(a.hist, a.hist_len, ' ', h, sizeof(h)),
	       a.hist_len && !a.hist_ok ? "  (not compact-TLV as ISO 7816-4 §8.1.1 codes it)" : "");
	if (a.hist_len && !a.hist_ok) {
		printf("  DISAGREE: the historical bytes do not decode\n");
		bad++;
	}
	unsigned ch = p->card.opts.channels;
	if (a.channels < 0) {
		printf("  logical channels: the ATR does not say; the card opens %u\n", ch);
	} else {
		bool agree = a.channels == 8 ? ch >= 8 : (unsigned)a.channels == ch;
		printf("  logical channels: ATR %d%s, card %u%s\n", a.channels,
		       a.channels == 8 ? " or more" : "", ch,
		       p->channels_set ? " (logical_channels)" : " (from the ATR)");
		if (!agree) {
			printf("  DISAGREE: the ATR announces %d logical channel%s, the profile's "
			       "card opens %u (set logical_channels = %d, or fix byte 3 of the "
			       "card "
			       "capabilities: %02X)\n",
			       a.channels, a.channels == 1 ? "" : "s", ch, a.channels,
			       (uint8_t)((a.caps[2] & 0xF8) | card_atr_channel_bits(ch)));
			bad++;
		}
	}
	if (a.has_caps && a.caps_len >= 3 && a.chaining) {
		printf("  DISAGREE: the ATR announces command chaining, which the card does not "
		       "do\n");
		bad++;
	}
	if (a.has_status && a.sw != 0x9000 && a.sw != 0x0000) {
		printf("  DISAGREE: the status indicator says %04X, the card answers 90 00\n",
		       a.sw);
		bad++;
	}
	return bad;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pin = NULL;
	int c;
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'p')
			return usage_error("check: bad option '%s'", argv[optind - 1]);
		pin = optarg;
	}
	if (optind != argc - 1)
		return usage_error("check: expected one DIR");
	const char *dir = argv[optind];
	uint8_t pin1[CARD_PIN_LEN];
	if (pin && card_pin_block(pin, pin1) != 0)
		return usage_error("check: --pin: 4 to 8 decimal digits");
	struct loaded l;
	int rc = load(dir, &l);
	if (rc)
		return rc;
	char atr[128];
	printf("profile %s: card '%s', ATR %s\n", l.p->conf_path, l.p->name ? l.p->name : "?",
	       hex_encode(l.p->card.atr, l.p->card.atr_len, ' ', atr, sizeof(atr)));
	printf("ATR against the card:\n");
	int atr_bad = check_atr(l.p);
	printf("walk (APDUs as a handset sends them):\n");
	struct buf b;
	buf_init(&b, CARD_EF_SIZE_MAX);
	struct card_pkcs15_walk_info info;
	char err[512] = "";
	rc = walk(&l, true, pin ? pin1 : NULL, &b, &info, err, sizeof(err));
	memset(pin1, 0, sizeof(pin1));
	char path[64];
	if (rc == 0) {
		card_pkcs15_path_str(info.ef_path, info.ef_path_len, path, sizeof(path));
		printf("ok: bootstrap of %zu bytes (%s) at %s, found in %u APDUs%s\n", b.len,
		       is_wbxml(l.p) ? "WBXML" : "XML", path, info.apdus,
		       info.misencoded_oid ? " (DODF OID mis-encoded as 2.23.43.9.1)" : "");
		if (!l.p->card.has_bootstrap) {
			printf("FAIL: the profile declares no bootstrap, yet the walk found one\n");
			rc = EXIT_FAIL;
		} else if (b.len != l.p->card.bootstrap_len ||
			   memcmp(b.p, l.p->card.bootstrap, b.len) != 0) {
			printf("FAIL: the bytes found differ from the profile's bootstrap\n");
			rc = EXIT_FAIL;
		}
	} else if (rc == -ENOENT && !l.p->card.has_bootstrap) {
		printf("ok: no bootstrap on this card (%s): the SCWS answers 404\n", err);
		rc = 0;
	} else {
		printf("FAIL: %s\n", err[0] ? err : strerror(-rc));
		if (rc == -EACCES && !pin && info.pin1_enabled == 1)
			printf("hint: PIN1 is enabled on this card; run scwsemu-card check --pin "
			       "DIGITS "
			       "%s\n",
			       dir);
		rc = EXIT_FAIL;
	}
	if (atr_bad) {
		printf("FAIL: the ATR disagrees with the card in %d point%s (see above)\n", atr_bad,
		       atr_bad == 1 ? "" : "s");
		rc = EXIT_FAIL;
	}
	buf_cleanup(&b);
	loaded_free(&l);
	return rc;
}

static int cmd_bootstrap(const char *dir, bool want_xml)
{
	struct loaded l;
	int rc = load(dir, &l);
	if (rc)
		return rc;
	struct buf b, x;
	buf_init(&b, CARD_EF_SIZE_MAX);
	buf_init(&x, 16 * CARD_EF_SIZE_MAX);
	char err[512] = "";
	rc = walk(&l, false, profile_pin1(l.p), &b, NULL, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "scwsemu-card: %s: %s\n", dir,
			rc == -ENOENT ? "no bootstrap on this card" : err);
		rc = EXIT_FAIL;
		goto out;
	}
	const struct buf *show = &b;
	if (want_xml && is_wbxml(l.p)) {
		if (codec_wbxml_decode(b.p, b.len, &x, err, sizeof(err)) != 0) {
			fprintf(stderr, "scwsemu-card: %s: WBXML does not decode: %s\n", dir, err);
			rc = EXIT_FAIL;
			goto out;
		}
		show = &x;
	}
	if (fwrite(show->p, 1, show->len, stdout) != show->len || fflush(stdout) != 0) {
		perror("scwsemu-card: stdout");
		rc = EXIT_FAIL;
	}
out:
	buf_cleanup(&b);
	buf_cleanup(&x);
	loaded_free(&l);
	return rc;
}

/* "3F00/7F50/6432" (also with '\' or ':' or nothing between FIDs). */
static int parse_path(const char *s, uint16_t *fids, size_t cap, size_t *n)
{
	uint8_t bytes[2 * CARD_FS_DEPTH_MAX];
	char compact[64];
	size_t k = 0;
	for (; *s; s++) {
		if (*s == '/' || *s == '\\' || *s == ':')
			continue;
		if (k + 1 >= sizeof(compact))
			return -EINVAL;
		compact[k++] = *s;
	}
	compact[k] = 0;
	size_t len;
	if (k == 0 || k % 4 || hex_decode(compact, bytes, sizeof(bytes), &len) != 0 ||
	    len / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < len / 2; i++)
		fids[i] = (uint16_t)(bytes[2 * i] << 8 | bytes[2 * i + 1]);
	*n = len / 2;
	return fids[0] == CARD_FID_MF ? 0 : -EINVAL;
}

static int cmd_cat(const char *dir, const char *pathstr)
{
	uint16_t fids[CARD_FS_DEPTH_MAX];
	size_t n;
	if (parse_path(pathstr, fids, CARD_FS_DEPTH_MAX, &n) != 0)
		return usage_error("'%s': PATH is FIDs from the MF, e.g. 3F00/7F50/6432", pathstr);
	struct loaded l;
	int rc = load(dir, &l);
	if (rc)
		return rc;
	const struct card_fs_node *node = card_fs_lookup(l.fs, fids, n);
	if (!node) {
		fprintf(stderr, "scwsemu-card: %s: no file at %s (see scwsemu-card ls)\n", dir,
			pathstr);
		rc = EXIT_FAIL;
	} else if (card_fs_is_df(node)) {
		fprintf(stderr, "scwsemu-card: %s: %s is a DF, not an EF\n", dir, pathstr);
		rc = EXIT_FAIL;
	} else if (node->data.len &&
		   (fwrite(node->data.p, 1, node->data.len, stdout) != node->data.len ||
		    fflush(stdout) != 0)) {
		perror("scwsemu-card: stdout");
		rc = EXIT_FAIL;
	}
	loaded_free(&l);
	return rc;
}

/* ---------------------------------------------------------------- ls */

struct ls_ctx {
	const struct card_fs *fs;
	const struct card_fs_node *pkcs15_adf;
	struct card_pkcs15_odf odf;
	bool has_odf;
};

static const char *oid_str(const uint8_t *c, size_t len, char *out, size_t cap)
{
	/* Dotted form of DER OID contents (X.690 §8.19). */
	size_t o = 0;
	unsigned long v = 0;
	bool first = true;
	out[0] = 0;
	for (size_t i = 0; i < len; i++) {
		if (v > (ULONG_MAX >> 7))
			break;
		v = (v << 7) | (c[i] & 0x7F);
		if (c[i] & 0x80)
			continue;
		int k;
		if (first) {
			unsigned long a = v < 80 ? v / 40 : 2;
			k = snprintf(out + o, cap - o, "%lu.%lu", a, v - a * 40);
			first = false;
		} else {
			k = snprintf(out + o, cap - o, ".%lu", v);
		}
		if (k < 0 || (size_t)k >= cap - o)
			break;
		o += (size_t)k;
		v = 0;
	}
	return out;
}

static void show_dir(const struct card_fs_node *n)
{
	size_t count = card_fs_record_count(n);
	for (size_t r = 0; r < count; r++) {
		const uint8_t *rec = n->data.p + r * n->rec_len;
		struct card_pkcs15_dir_app app;
		char aid[64], path[64];
		if (card_pkcs15_dir_decode(rec, n->rec_len, &app) != 0) {
			printf("      record %zu: not an application template\n", r + 1);
			continue;
		}
		printf("      record %zu: application %s%s%s%s path %s\n", r + 1,
		       hex_encode(app.aid, app.aid_len, 0, aid, sizeof(aid)),
		       app.has_label ? " \"" : "", app.has_label ? app.label : "",
		       app.has_label ? "\"" : "",
		       app.path_len
			       ? card_pkcs15_path_str(app.path, app.path_len, path, sizeof(path))
			       : "-");
	}
}

static const char *odf_name(uint32_t tag)
{
	static const char *const names[] = { "PrKDF",     "PuKDF", "TrustedPuKDF",
					     "SKDF",      "CDF",   "TrustedCDF",
					     "UsefulCDF", "DODF",  "AODF" };
	return tag >= 0xA0 && tag <= 0xA8 ? names[tag - 0xA0] : "unknown";
}

static void show_odf(const struct card_fs_node *n, struct ls_ctx *c)
{
	if (card_pkcs15_odf_decode(n->data.p, n->data.len, &c->odf) != 0) {
		printf("      does not decode as an ODF\n");
		return;
	}
	c->has_odf = true;
	for (size_t i = 0; i < c->odf.n; i++) {
		char path[64];
		const struct card_pkcs15_odf_entry *e = &c->odf.e[i];
		printf("      %s -> %s\n", odf_name(e->tag),
		       e->has_path
			       ? card_pkcs15_path_str(e->path.path, e->path.len, path, sizeof(path))
			       : "(objects inline)");
	}
}

static void show_tokeninfo(const struct card_fs_node *n)
{
	struct card_pkcs15_tokeninfo ti;
	char serial[80];
	if (card_pkcs15_tokeninfo_decode(n->data.p, n->data.len, &ti) != 0) {
		printf("      does not decode as TokenInfo\n");
		return;
	}
	printf("      version %ld, serial %s%s%s%s%s%s\n", ti.version,
	       hex_encode(ti.serial, ti.serial_len, 0, serial, sizeof(serial)),
	       ti.has_manufacturer ? ", manufacturer \"" : "",
	       ti.has_manufacturer ? ti.manufacturer : "", ti.has_manufacturer ? "\"" : "",
	       ti.has_label ? ", label " : "", ti.has_label ? ti.label : "");
}

static void show_dodf(const struct card_fs_node *n)
{
	static struct card_pkcs15_dodf dodf; /* large; not on the stack */
	if (card_pkcs15_dodf_decode(n->data.p, n->data.len, &dodf) != 0) {
		printf("      does not decode as a DODF\n");
		return;
	}
	for (size_t i = 0; i < dodf.n; i++) {
		const struct card_pkcs15_do *d = &dodf.e[i];
		char oid[96] = "-", aoid[96] = "", path[64] = "-";
		if (d->type_oid_len)
			oid_str(d->type_oid, d->type_oid_len, oid, sizeof(oid));
		if (d->app_oid_len)
			oid_str(d->app_oid, d->app_oid_len, aoid, sizeof(aoid));
		if (d->has_path)
			card_pkcs15_path_str(d->path.path, d->path.len, path, sizeof(path));
		printf("      %s \"%s\" oid %s%s%s -> %s\n",
		       d->kind == CARD_PKCS15_DO_OID ? "oidDO" : "dataObject",
		       d->has_label ? d->label : "", oid, aoid[0] ? " applicationOID " : "", aoid,
		       path);
	}
}

/* True when n is the EF that an ODF DODF entry names (paths relative to
 * the PKCS#15 ADF, through 7FFF, or absolute). */
static bool is_dodf(const struct ls_ctx *c, const struct card_fs_node *n)
{
	if (!c->has_odf || n->parent != c->pkcs15_adf)
		return false;
	for (size_t i = 0; i < c->odf.n; i++) {
		const struct card_pkcs15_odf_entry *e = &c->odf.e[i];
		if (e->tag != CARD_PKCS15_ODF_DODF || !e->has_path || e->path.len < 2)
			continue;
		const uint8_t *last = e->path.path + e->path.len - 2;
		if ((uint16_t)(last[0] << 8 | last[1]) == n->fid)
			return true;
	}
	return false;
}

static int ls_visit(void *arg, const struct card_fs_node *n, unsigned depth)
{
	struct ls_ctx *c = arg;
	uint16_t fids[CARD_FS_DEPTH_MAX];
	size_t k = card_fs_path(n, fids, CARD_FS_DEPTH_MAX);
	char path[64] = "", aid[64];
	size_t o = 0;
	for (size_t i = 0; i < k && o < sizeof(path); i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "%s%04X", i ? "/" : "", fids[i]);
	switch (n->type) {
	case CARD_FS_MF:
		printf("%-22s MF\n", path);
		break;
	case CARD_FS_DF:
		if (n->aid_len)
			printf("%-22s ADF  AID %s  %s\n", path,
			       hex_encode(n->aid, n->aid_len, 0, aid, sizeof(aid)), n->label);
		else
			printf("%-22s DF   %s\n", path, n->label);
		if (n->aid_len && n->aid_len >= sizeof(card_pkcs15_aid) &&
		    memcmp(n->aid, card_pkcs15_aid, sizeof(card_pkcs15_aid)) == 0)
			c->pkcs15_adf = n;
		break;
	case CARD_FS_EF_TRANSPARENT:
		printf("%-22s EF   transparent  %5zu bytes  %s%s\n", path, n->data.len, n->label,
		       n->update_always ? "  (update: always)" : "");
		break;
	case CARD_FS_EF_LINEAR_FIXED:
		printf("%-22s EF   linear fixed %3zu x %-3u    %s%s\n", path,
		       card_fs_record_count(n), n->rec_len, n->label,
		       n->update_always ? "  (update: always)" : "");
		break;
	}
	if (n->type == CARD_FS_EF_LINEAR_FIXED && n->fid == 0x2F00 && n->parent == c->fs->mf)
		show_dir(n);
	else if (n->type == CARD_FS_EF_TRANSPARENT && c->pkcs15_adf && n->parent == c->pkcs15_adf) {
		if (n->fid == 0x5031)
			show_odf(n, c);
		else if (n->fid == 0x5032)
			show_tokeninfo(n);
		else if (is_dodf(c, n))
			show_dodf(n);
	}
	return 0;
}

static int cmd_ls(const char *dir)
{
	struct loaded l;
	int rc = load(dir, &l);
	if (rc)
		return rc;
	struct ls_ctx c = { .fs = l.fs };
	/* Two passes: the ODF (5031) decides which EF is the DODF, and a DODF
	 * may be listed before the ODF in tree order. */
	FILE *real = stdout;
	stdout = fopen("/dev/null", "w");
	if (stdout) {
		card_fs_walk(l.fs, ls_visit, &c);
		fclose(stdout);
	}
	stdout = real;
	struct ls_ctx c2 = { .fs = l.fs, .odf = c.odf, .has_odf = c.has_odf };
	card_fs_walk(l.fs, ls_visit, &c2);
	loaded_free(&l);
	return 0;
}

/* ---------------------------------------------------------------- new */

/* The files `new` may write, in this order; a failure removes them all. */
static const char *const new_files[] = {
	"card.conf",   "bootstrap.xml",       "scws-server.crt",     "scws-server.key",
	"scws-ca.crt", "scws-server-rsa.crt", "scws-server-rsa.key",
};

static int write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[PATH_MAX + NAME_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wx");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "scwsemu-card: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	uint8_t tmp[4096];
	size_t n;
	if (!f) {
		fprintf(stderr, "scwsemu-card: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (buf_append(b, tmp, n) != 0) {
			fprintf(stderr, "scwsemu-card: %s: larger than %u bytes\n", path,
				PROFILE_FILE_MAX);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int copy_file(const char *from_dir, const char *name, const char *to_dir)
{
	char path[PATH_MAX + NAME_MAX + 32];
	struct buf b;
	buf_init(&b, PROFILE_FILE_MAX);
	snprintf(path, sizeof(path), "%s/%s", from_dir, name);
	int rc = read_file(path, &b) || write_file(to_dir, name, b.p, b.len) ? -1 : 0;
	buf_cleanup(&b);
	return rc;
}

static void remove_tree(const char *dir)
{
	char path[PATH_MAX + NAME_MAX + 32];
	for (size_t i = 0; i < sizeof(new_files) / sizeof(new_files[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, new_files[i]) < (int)sizeof(path))
			(void)unlink(path);
	}
	(void)rmdir(dir);
}

/* The path from directory `from` to `to` (both absolute, no "." or ".."
 * components), "../../pki" style, into out. */
static void relative_path(const char *from, const char *to, char *out, size_t cap)
{
	size_t common = 0;
	for (size_t i = 0;; i++) {
		bool end_f = !from[i] || from[i] == '/', end_t = !to[i] || to[i] == '/';
		if (end_f && end_t)
			common = i;
		if (!from[i] || !to[i] || from[i] != to[i])
			break;
	}
	struct wr w;
	wr_init(&w, out, cap - 1);
	for (const char *p = from + common; *p; p++)
		if (*p == '/')
			wr_mem(&w, w.len ? "/.." : "..", w.len ? 3 : 2);
	const char *rest = to + common + (to[common] == '/');
	if (*rest) {
		if (w.len)
			wr_mem(&w, "/", 1);
		wr_mem(&w, rest, strlen(rest));
	}
	if (!w.len)
		wr_mem(&w, ".", 1);
	out[w.failed ? 0 : w.len] = '\0';
}

/* The first element of well-formed XML is <SyncML ...>: a DM message. */
static bool root_is_syncml(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '<')
			continue;
		if (p[i + 1] == '?' || p[i + 1] == '!')
			continue; /* declaration, comment, DOCTYPE */
		static const char tag[] = "SyncML";
		size_t n = sizeof(tag) - 1;
		return len - i - 1 > n && memcmp(p + i + 1, tag, n) == 0 &&
		       (p[i + 1 + n] == '>' || p[i + 1 + n] == ' ' || p[i + 1 + n] == '\t' ||
			p[i + 1 + n] == '\r' || p[i + 1 + n] == '\n' || p[i + 1 + n] == '/');
	}
	return false;
}

static bool quoted_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20)
			return false;
	return true;
}

/* What `new` was asked for, checked; shared by every card of a set. */
struct new_args {
	const char *bootstrap; /* the XML file, NULL with --no-bootstrap */
	const struct buf *xml; /* its bytes */
	const char *store;
	const char *auth, *colon_a; /* USER:PASSPHRASE, or NULL */
	const char *psk;            /* IDENTITY[:HEXKEY], or NULL */
	size_t psk_id_len;
	uint8_t psk_key[TLS_PSK_KEY_MAX]; /* --psk's key (a set's master key) */
	size_t psk_key_len;
	const char *const *devids;
	size_t n_devids;
	const char *pki_arg; /* --pki as given, or NULL */
	const char *pki;     /* its realpath, or the data dir's pki */
	bool rsa;            /* the pki has the RSA pair too */
	unsigned count;      /* --count: a set of cards; 0: one card */
	unsigned width;      /* digits of a card's number in a set */
};

/* s (n bytes) for card `num` of a set (num 0: one card, as given). */
static int put_text(struct buf *t, const char *s, size_t n, const struct new_args *a, unsigned num)
{
	if (!num)
		return buf_append(t, s, n);
	return stamp_subst(s, n, num, a->width, t);
}

/* Writes one card into dir (which exists): card.conf, bootstrap.xml and the
 * copied pki; `name` is the card's name, `final` the absolute path of the
 * directory it will have (--pki is named relative to it). num: the card's number in a set, 0 for
 * one card. 0, or EXIT_FAIL (said on stderr). */
static int write_card(const struct new_args *a, const char *dir, const char *name,
		      const char *final, unsigned num)
{
	/* Paths in the profile are relative to the card directory: the pki
	 * copied beside card.conf, or --pki DIR seen from DIR. */
	char pki_rel[PATH_MAX] = ".";
	if (a->pki_arg)
		relative_path(final, a->pki, pki_rel, sizeof(pki_rel));
	struct buf t, x;
	buf_init(&t, 65536);
	buf_init(&x, PROFILE_FILE_MAX);
	int rc = buf_printf(
		&t,
		"# %s/card.conf - made by scwsemu-card new; see scwsemu-profile(5).\n"
		"# Paths are relative to this directory.\n"
		"name = \"%s\";\n"
		"description = \"made by scwsemu-card new\";\n"
		"iccid = \"8988200000000000006\";\n"
		"atr = \"3B 9F 96 80 1F C7 80 31 E0 73 FE 21 1B 63 3A 20 4E 83 00 90 00 93\";\n"
		"\n"
		"tls = {\n"
		"  # TEST keys published with scwsemu (not secrets; never for anything real)\n"
		"  certificate = \"%s/scws-server.crt\";\n"
		"  key = \"%s/scws-server.key\";\n",
		name, name, pki_rel, pki_rel);
	/* The RSA pair too when the pki has one (both server certificates). */
	if (a->rsa && !rc)
		rc = buf_printf(&t,
				"  rsa_certificate = \"%s/scws-server-rsa.crt\";\n"
				"  rsa_key = \"%s/scws-server-rsa.key\";\n",
				pki_rel, pki_rel);
	if (a->psk && !rc) {
		/* One card: the key given. A set: each card's own, derived from
		 * the key given and the card's identity, or random without one. */
		size_t id_start = 0;
		uint8_t key[TLS_PSK_KEY_MAX];
		size_t klen = a->psk_key_len ? a->psk_key_len : CARD_NEW_PSK_KEY_LEN;
		char hex[2 * TLS_PSK_KEY_MAX + 1];
		rc = buf_append_str(&t, "  psk_identity = \"");
		id_start = t.len;
		if (!rc)
			rc = put_text(&t, a->psk, a->psk_id_len, a, num);
		char id[TLS_PSK_IDENTITY_MAX + 1] = "";
		if (!rc && t.len - id_start > TLS_PSK_IDENTITY_MAX) {
			fprintf(stderr,
				"scwsemu-card: --psk: card %u's identity is over %u "
				"characters\n",
				num, TLS_PSK_IDENTITY_MAX);
			rc = -EINVAL;
		}
		if (!rc) {
			memcpy(id, t.p + id_start, t.len - id_start);
			id[t.len - id_start] = '\0';
			if (!num)
				memcpy(key, a->psk_key, klen);
			else if (a->psk_key_len)
				rc = stamp_psk_key(a->psk_key, a->psk_key_len, id, key, klen);
			else
				rc = RAND_bytes(key, (int)klen) == 1 ? 0 : -EIO;
		}
		if (!rc) {
			hex_encode(key, klen, 0, hex, sizeof(hex));
			rc = buf_printf(&t, "\";\n  psk_key = \"%s\";\n", hex);
		}
		OPENSSL_cleanse(key, sizeof(key));
		OPENSSL_cleanse(hex, sizeof(hex));
	}
	if (!rc)
		rc = buf_printf(&t, "};\n\ncredentials = {\n  required = %s;\n",
				a->auth ? "true" : "false");
	if (a->auth && !rc) {
		rc = buf_append_str(&t, "  username = \"");
		rc = rc ? rc : put_text(&t, a->auth, (size_t)(a->colon_a - a->auth), a, num);
		rc = rc ? rc : buf_append_str(&t, "\";\n  passphrase = \"");
		rc = rc ? rc : put_text(&t, a->colon_a + 1, strlen(a->colon_a + 1), a, num);
		rc = rc ? rc : buf_append_str(&t, "\";\n");
	}
	if (!rc)
		rc = buf_append_str(&t, "};\n");
	if (a->n_devids && !rc) {
		rc = buf_append_str(&t, "\ndevid_allow = [ ");
		for (size_t i = 0; i < a->n_devids && !rc; i++) {
			rc = buf_append_str(&t, i ? ", \"" : "\"");
			rc = rc ? rc : put_text(&t, a->devids[i], strlen(a->devids[i]), a, num);
			rc = rc ? rc : buf_append_str(&t, "\"");
		}
		rc = rc ? rc : buf_append_str(&t, " ];\n");
	}
	if (!rc)
		rc = !a->bootstrap
			     ? buf_append_str(&t, "\nbootstrap = {\n  store = \"none\";\n};\n")
			     : buf_printf(&t,
					  "\nbootstrap = {\n  source = \"bootstrap.xml\";\n"
					  "  store = \"%s\";\n};\n",
					  a->store);
	if (a->bootstrap && !rc)
		rc = put_text(&x, (const char *)a->xml->p, a->xml->len, a, num);
	if (rc || write_file(dir, "card.conf", t.p, t.len) != 0 ||
	    (a->bootstrap && write_file(dir, "bootstrap.xml", x.p, x.len) != 0) ||
	    (!a->pki_arg && (copy_file(a->pki, "scws-server.crt", dir) != 0 ||
			     copy_file(a->pki, "scws-server.key", dir) != 0 ||
			     copy_file(a->pki, "scws-ca.crt", dir) != 0 ||
			     (a->rsa && (copy_file(a->pki, "scws-server-rsa.crt", dir) != 0 ||
					 copy_file(a->pki, "scws-server-rsa.key", dir) != 0))))) {
		if (rc && rc != -EINVAL)
			fprintf(stderr, "scwsemu-card: %s: %s\n", dir, strerror(-rc));
		rc = EXIT_FAIL;
	}
	/* card.conf may hold a PSK key: wipe the copy in memory. */
	OPENSSL_cleanse(t.p, t.len);
	buf_cleanup(&t);
	buf_cleanup(&x);
	return rc;
}

/* The cards of a set in tmp (card-001 ... up to `made`), then tmp. */
static void remove_set(const char *tmp, unsigned made, unsigned width)
{
	char d[PATH_MAX + NAME_MAX + 32];
	for (unsigned i = 1; i <= made; i++) {
		if (snprintf(d, sizeof(d), "%s/card-%0*u", tmp, (int)width, i) < (int)sizeof(d))
			remove_tree(d);
	}
	(void)rmdir(tmp);
}

static int cmd_new(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bootstrap", required_argument, NULL, 'b' },
		{ "auth", required_argument, NULL, 'a' },
		{ "psk", required_argument, NULL, 'p' },
		{ "store", required_argument, NULL, 's' },
		{ "no-bootstrap", no_argument, NULL, 'n' },
		{ "pki", required_argument, NULL, 'k' },
		{ "count", required_argument, NULL, 'c' },
		{ "devid", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bootstrap = NULL, *auth = NULL, *psk = NULL, *store = "wbxml", *pki_arg = NULL;
	const char *devids[PROFILE_DEVIDS_MAX];
	size_t n_devids = 0;
	unsigned count = 0;
	bool none = false;
	int c;
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bootstrap = optarg;
			break;
		case 'a':
			auth = optarg;
			break;
		case 'p':
			psk = optarg;
			break;
		case 's':
			store = optarg;
			break;
		case 'n':
			none = true;
			break;
		case 'k':
			pki_arg = optarg;
			break;
		case 'c': {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v < 1 ||
			    v > STAMP_COUNT_MAX)
				return usage_error("new: --count '%s': a number of cards, 1..%u",
						   optarg, STAMP_COUNT_MAX);
			count = (unsigned)v;
			break;
		}
		case 'd':
			if (n_devids == PROFILE_DEVIDS_MAX)
				return usage_error("new: more than %u --devid", PROFILE_DEVIDS_MAX);
			devids[n_devids++] = optarg;
			break;
		default:
			return usage_error("new: bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_error("new: expected one DIR");
	const char *dir = argv[optind];
	if (none == (bootstrap != NULL))
		return usage_error("new: give --bootstrap FILE.xml or --no-bootstrap");
	if (strcmp(store, "wbxml") && strcmp(store, "xml"))
		return usage_error("new: --store '%s': expected wbxml or xml", store);

	/* Everything is validated before anything is written. */
	struct new_args a = {
		.bootstrap = bootstrap,
		.store = store,
		.auth = auth,
		.psk = psk,
		.devids = devids,
		.n_devids = n_devids,
		.pki_arg = pki_arg,
		.count = count,
		.width = stamp_width(count),
	};
	a.colon_a = auth ? strchr(auth, ':') : NULL;
	if (auth && (!a.colon_a || a.colon_a == auth || !a.colon_a[1]))
		return usage_error("new: --auth: expected USER:PASSPHRASE");
	if (auth && !quoted_ok(auth, strlen(auth)))
		return usage_error("new: --auth: no quotes, backslashes or controls");
	for (size_t i = 0; i < n_devids; i++) {
		const char *d = devids[i];
		bool ok = d[0] && strchr(d, ':') && strlen(d) < PROFILE_DEVID_MAX &&
			  quoted_ok(d, strlen(d));
		for (const char *q = d; ok && *q; q++)
			ok = *q != ' ' && *q != '\t';
		if (!ok)
			return usage_error(
				"new: --devid '%s': SCHEME:VALUE (IMEI:493005100592800), "
				"no spaces, quotes or controls, under %u bytes",
				d, PROFILE_DEVID_MAX);
	}
	const char *colon_p = psk ? strchr(psk, ':') : NULL;
	/* A set may leave the key out: each card gets a random one. */
	if (psk && (colon_p == psk || (colon_p && !colon_p[1]) || (!colon_p && !count)))
		return usage_error("new: --psk '%s': expected IDENTITY:HEXKEY%s", psk,
				   count ? " or, with --count, IDENTITY" : "");
	a.psk_id_len = psk ? (colon_p ? (size_t)(colon_p - psk) : strlen(psk)) : 0;
	if (psk && (!quoted_ok(psk, a.psk_id_len) || a.psk_id_len > TLS_PSK_IDENTITY_MAX))
		return usage_error("new: --psk: the identity must be 1..%u characters without "
				   "quotes, backslashes or controls",
				   TLS_PSK_IDENTITY_MAX);
	if (psk && colon_p) {
		if (hex_decode(colon_p + 1, a.psk_key, sizeof(a.psk_key), &a.psk_key_len) != 0 ||
		    a.psk_key_len == 0)
			return usage_error("new: --psk: the key '%s' must be 1..%u bytes of hex "
					   "(an even number of 0-9A-F digits)",
					   colon_p + 1, TLS_PSK_KEY_MAX);
	}
	if (count && psk && colon_p && !stamp_has_var(psk) && count > 1)
		fprintf(stderr, "scwsemu-card: note: --psk's identity has no ${N} or ${NNN}: "
				"every card of the set has the same identity (with its own key)\n");
	char parent[PATH_MAX], base[NAME_MAX + 1];
	{
		char x[PATH_MAX], y[PATH_MAX];
		snprintf(x, sizeof(x), "%s", dir);
		snprintf(y, sizeof(y), "%s", dir);
		snprintf(parent, sizeof(parent), "%s", dirname(x));
		snprintf(base, sizeof(base), "%s", basename(y));
	}
	if (!base[0] || base[0] == '.' || base[0] == '-' || !strcmp(base, "/"))
		return usage_error("new: '%s': the card's name (the last part of DIR) must not "
				   "start with '.' or '-'",
				   dir);
	for (const char *s = base; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return usage_error("new: '%s': the card's name may hold only letters, "
					   "digits, '.', '_' and '-'",
					   base);
	struct stat st;
	if (stat(dir, &st) == 0) {
		fprintf(stderr, "scwsemu-card: %s already exists: choose a new directory\n", dir);
		return EXIT_FAIL;
	}
	char pki[PATH_MAX], real[PATH_MAX];
	if (pki_arg) {
		if (!realpath(pki_arg, pki)) {
			fprintf(stderr, "scwsemu-card: --pki %s: %s\n", pki_arg, strerror(errno));
			return EXIT_USAGE;
		}
	} else {
		config_data_path("pki", pki, sizeof(pki));
		if (realpath(pki, real))
			snprintf(pki, sizeof(pki), "%s", real);
	}
	a.pki = pki;
	for (size_t i = 2; i < 4; i++) {
		char f[PATH_MAX + 32];
		snprintf(f, sizeof(f), "%s/%s", pki, new_files[i]);
		if (access(f, R_OK) != 0) {
			fprintf(stderr, "scwsemu-card: %s: %s (the test certificate and key%s)\n",
				f, strerror(errno), pki_arg ? "" : "; see scwsemu --print-paths");
			return EXIT_USAGE;
		}
	}
	char rsa_probe[PATH_MAX + 32];
	snprintf(rsa_probe, sizeof(rsa_probe), "%s/scws-server-rsa.crt", pki);
	a.rsa = access(rsa_probe, R_OK) == 0;
	struct buf xml;
	buf_init(&xml, PROFILE_FILE_MAX);
	a.xml = &xml;
	if (bootstrap) {
		if (read_file(bootstrap, &xml) != 0) {
			buf_cleanup(&xml);
			return EXIT_USAGE;
		}
		int line;
		char err[256];
		if (codec_xml_check(xml.p, xml.len, &line, err, sizeof(err)) != 0) {
			fprintf(stderr, "scwsemu-card: %s:%d: %s\n", bootstrap, line, err);
			buf_cleanup(&xml);
			return EXIT_USAGE;
		}
		if (!root_is_syncml(xml.p, xml.len)) {
			fprintf(stderr,
				"scwsemu-card: %s: not a DM bootstrap: the root element must "
				"be <SyncML> (an OMA DM 1.2 message, as "
				"cards/default/bootstrap.xml)\n",
				bootstrap);
			buf_cleanup(&xml);
			return EXIT_USAGE;
		}
		/* What the EF will hold must fit its 2-byte FCP file size:
		 * refused before anything is written (a set's cards are each
		 * loaded before the set is in place). */
		size_t stored = xml.len;
		if (!strcmp(store, "wbxml")) {
			struct buf w;
			buf_init(&w, SCWS_CONVERT_MAX);
			int erc = codec_wbxml_encode(xml.p, xml.len, &w, err, sizeof(err));
			stored = erc == -EMSGSIZE ? SCWS_CONVERT_MAX + 1u : w.len;
			buf_cleanup(&w);
			if (erc && erc != -EMSGSIZE) {
				fprintf(stderr,
					"scwsemu-card: %s: WBXML encoding: %s (--store xml "
					"keeps it as text)\n",
					bootstrap, err);
				buf_cleanup(&xml);
				return EXIT_USAGE;
			}
		}
		if (stored > CARD_EF_SIZE_MAX) {
			fprintf(stderr,
				"scwsemu-card: %s: the bootstrap as stored (%s) is %s%zu "
				"bytes; an EF holds at most %u (its FCP file size has 2 bytes)\n",
				bootstrap, store, stored > SCWS_CONVERT_MAX ? "over " : "",
				stored > SCWS_CONVERT_MAX ? (size_t)SCWS_CONVERT_MAX : stored,
				CARD_EF_SIZE_MAX);
			buf_cleanup(&xml);
			return EXIT_USAGE;
		}
	}

	/* Written into a temporary directory beside DIR, loaded from there as
	 * scwsemu would, then renamed into place: a failure leaves nothing. A
	 * set: every card in the one temporary directory, renamed at once. */
	char tmp[PATH_MAX + NAME_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s/.%s.new.XXXXXX", parent, base);
	if (!mkdtemp(tmp)) {
		fprintf(stderr, "scwsemu-card: %s: %s\n", parent, strerror(errno));
		buf_cleanup(&xml);
		return EXIT_FAIL;
	}
	/* DIR as an absolute path without "." or "..": its parent exists. */
	char real_parent[PATH_MAX], final_abs[PATH_MAX + NAME_MAX + 2];
	if (!realpath(parent, real_parent))
		snprintf(real_parent, sizeof(real_parent), "%s", parent);
	if (snprintf(final_abs, sizeof(final_abs), "%s/%s", real_parent, base) >=
	    (int)sizeof(final_abs)) {
		fprintf(stderr, "scwsemu-card: %s: path too long\n", dir);
		remove_tree(tmp);
		buf_cleanup(&xml);
		return EXIT_FAIL;
	}
	struct loaded l;
	int rc = 0;
	unsigned made = 0;
	if (!count) {
		rc = write_card(&a, tmp, base, final_abs, 0);
		/* What was written must load (a DM bootstrap that encodes, TLS
		 * that sets up): the same check as `check` starts with. --pki's
		 * relative path is seen from DIR, so that profile loads once in
		 * place. */
		if (!rc && !pki_arg && (rc = load(tmp, &l)) == 0)
			loaded_free(&l);
	} else {
		for (unsigned i = 1; i <= count && !rc; i++) {
			char name[32], cdir[sizeof(tmp) + 32], final[sizeof(final_abs) + 32];
			if (snprintf(name, sizeof(name), "card-%0*u", (int)a.width, i) >=
				    (int)sizeof(name) ||
			    snprintf(cdir, sizeof(cdir), "%s/%s", tmp, name) >= (int)sizeof(cdir) ||
			    snprintf(final, sizeof(final), "%s/%s", final_abs, name) >=
				    (int)sizeof(final)) {
				fprintf(stderr, "scwsemu-card: %s: path too long\n", tmp);
				rc = EXIT_FAIL;
				break;
			}
			if (mkdir(cdir, 0700) != 0) {
				fprintf(stderr, "scwsemu-card: %s: %s\n", cdir, strerror(errno));
				rc = EXIT_FAIL;
				break;
			}
			made = i;
			rc = write_card(&a, cdir, name, final, i);
			if (!rc && !pki_arg && (rc = load(cdir, &l)) == 0)
				loaded_free(&l);
			if (rc)
				fprintf(stderr,
					"scwsemu-card: card %u of %u (%s) failed: nothing "
					"written\n",
					i, count, name);
		}
	}
	buf_cleanup(&xml);
	OPENSSL_cleanse(a.psk_key, sizeof(a.psk_key));
	if (rc) {
		if (count)
			remove_set(tmp, made, a.width);
		else
			remove_tree(tmp);
		return rc;
	}
	if (rename(tmp, dir) != 0) {
		fprintf(stderr, "scwsemu-card: %s: %s\n", dir, strerror(errno));
		if (count)
			remove_set(tmp, made, a.width);
		else
			remove_tree(tmp);
		return EXIT_FAIL;
	}
	if (pki_arg) {
		for (unsigned i = count ? 1 : 0; i <= count && !rc; i++) {
			char cdir[PATH_MAX + 32];
			int w = count ? snprintf(cdir, sizeof(cdir), "%s/card-%0*u", dir,
						 (int)a.width, i)
				      : snprintf(cdir, sizeof(cdir), "%s", dir);
			if (w < 0 || w >= (int)sizeof(cdir))
				rc = EXIT_FAIL;
			else if ((rc = load(cdir, &l)) == 0)
				loaded_free(&l);
		}
		if (rc) {
			if (count)
				remove_set(dir, made, a.width);
			else
				remove_tree(dir);
			return rc;
		}
	}
	if (count)
		printf("created %u cards in %s: card-%0*u ... card-%0*u (run: scwsemu --cards "
		       "%s)\n",
		       count, dir, (int)a.width, 1u, (int)a.width, count, dir);
	else
		printf("created %s/card.conf (run: scwsemu-card check %s)\n", dir, dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("missing command");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		puts("scwsemu-card " PACKAGE_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "new"))
		return cmd_new(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc, argv);
	if (!strcmp(cmd, "ls")) {
		if (argc != 3)
			return usage_error("%s: expected one DIR", cmd);
		return cmd_ls(argv[2]);
	}
	if (!strcmp(cmd, "cat")) {
		if (argc != 4)
			return usage_error("cat: expected DIR PATH");
		return cmd_cat(argv[2], argv[3]);
	}
	if (!strcmp(cmd, "bootstrap")) {
		bool xml = argc == 4 && !strcmp(argv[3], "--xml");
		if (argc != 3 && !xml)
			return usage_error("bootstrap: expected DIR [--xml]");
		return cmd_bootstrap(argv[2], xml);
	}
	return usage_error("unknown command '%s'", cmd);
}
