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
#include "core/hex.h"
#include "core/limits.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char usage_text[] =
	"Usage:\n"
	"  scwsemu-card new DIR --bootstrap FILE.xml [--auth USER:PASSPHRASE]\n"
	"                   [--psk IDENTITY:HEXKEY] [--store wbxml|xml] [--no-bootstrap]\n"
	"  scwsemu-card check DIR [--pin DIGITS]\n"
	"                                  walk EF.DIR -> PKCS#15 -> ODF -> DODF -> EF over APDUs\n"
	"                                  (VERIFY PIN1 first when it is enabled), check the ATR\n"
	"  scwsemu-card ls DIR             the file tree with decoded PKCS#15 objects\n"
	"  scwsemu-card cat DIR PATH       raw bytes of one EF (PATH as FIDs, e.g. 3F00/7F50/6432)\n"
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
			       "card opens %u (set logical_channels = %d, or fix byte 3 of the card "
			       "capabilities: %02X)\n", a.channels, a.channels == 1 ? "" : "s", ch,
			       a.channels, (uint8_t)((a.caps[2] & 0xF8) | card_atr_channel_bits(ch)));
			bad++;
		}
	}
	if (a.has_caps && a.caps_len >= 3 && a.chaining) {
		printf("  DISAGREE: the ATR announces command chaining, which the card does not do\n");
		bad++;
	}
	if (a.has_status && a.sw != 0x9000 && a.sw != 0x0000) {
		printf("  DISAGREE: the status indicator says %04X, the card answers 90 00\n", a.sw);
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
			printf("hint: PIN1 is enabled on this card; run scwsemu-card check --pin DIGITS "
			       "%s\n", dir);
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
		       app.path_len ? card_pkcs15_path_str(app.path, app.path_len, path, sizeof(path))
				    : "-");
	}
}

static const char *odf_name(uint32_t tag)
{
	static const char *const names[] = { "PrKDF", "PuKDF", "TrustedPuKDF", "SKDF", "CDF",
					     "TrustedCDF", "UsefulCDF", "DODF", "AODF" };
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
		       e->has_path ? card_pkcs15_path_str(e->path.path, e->path.len, path, sizeof(path))
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
		printf("%-22s EF   linear fixed %3zu x %-3u    %s%s\n", path, card_fs_record_count(n),
		       n->rec_len, n->label, n->update_always ? "  (update: always)" : "");
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

static int write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wx");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "scwsemu-card: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int cmd_new(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bootstrap", required_argument, NULL, 'b' },
		{ "auth", required_argument, NULL, 'a' },
		{ "psk", required_argument, NULL, 'p' },
		{ "store", required_argument, NULL, 's' },
		{ "no-bootstrap", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bootstrap = NULL, *auth = NULL, *psk = NULL, *store = "wbxml";
	bool none = false;
	int c;
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': bootstrap = optarg; break;
		case 'a': auth = optarg; break;
		case 'p': psk = optarg; break;
		case 's': store = optarg; break;
		case 'n': none = true; break;
		default: return usage_error("new: bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_error("new: expected one DIR");
	const char *dir = argv[optind];
	if (none == (bootstrap != NULL))
		return usage_error("new: give --bootstrap FILE.xml or --no-bootstrap");
	if (strcmp(store, "wbxml") && strcmp(store, "xml"))
		return usage_error("new: --store '%s': expected wbxml or xml", store);
	const char *colon_a = auth ? strchr(auth, ':') : NULL;
	if (auth && (!colon_a || colon_a == auth || !colon_a[1]))
		return usage_error("new: --auth: expected USER:PASSPHRASE");
	const char *colon_p = psk ? strchr(psk, ':') : NULL;
	if (psk && (!colon_p || colon_p == psk || !colon_p[1]))
		return usage_error("new: --psk '%s': expected IDENTITY:HEXKEY", psk);
	for (const char *s = auth; s && *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return usage_error("new: --auth: no quotes, backslashes or controls");
	for (const char *s = psk; s && *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return usage_error("new: --psk '%s': no quotes, backslashes or controls",
					   psk);

	struct buf xml;
	buf_init(&xml, PROFILE_FILE_MAX);
	if (bootstrap) {
		FILE *f = fopen(bootstrap, "rb");
		uint8_t tmp[4096];
		size_t n;
		if (!f) {
			fprintf(stderr, "scwsemu-card: %s: %s\n", bootstrap, strerror(errno));
			return EXIT_USAGE;
		}
		while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
			if (buf_append(&xml, tmp, n) != 0) {
				fprintf(stderr, "scwsemu-card: %s: larger than %u bytes\n", bootstrap,
					PROFILE_FILE_MAX);
				fclose(f);
				buf_cleanup(&xml);
				return EXIT_USAGE;
			}
		}
		fclose(f);
		int line;
		char err[256];
		if (codec_xml_check(xml.p, xml.len, &line, err, sizeof(err)) != 0) {
			fprintf(stderr, "scwsemu-card: %s:%d: %s\n", bootstrap, line, err);
			buf_cleanup(&xml);
			return EXIT_USAGE;
		}
		/* What the EF will hold must fit its 2-byte FCP file size:
		 * refused before anything is written. */
		size_t stored = xml.len;
		if (!strcmp(store, "wbxml")) {
			struct buf w;
			buf_init(&w, SCWS_CONVERT_MAX);
			int erc = codec_wbxml_encode(xml.p, xml.len, &w, err, sizeof(err));
			stored = erc == -EMSGSIZE ? SCWS_CONVERT_MAX + 1u : w.len;
			buf_cleanup(&w);
			if (erc && erc != -EMSGSIZE) {
				fprintf(stderr, "scwsemu-card: %s: WBXML encoding: %s (--store xml "
					"keeps it as text)\n", bootstrap, err);
				buf_cleanup(&xml);
				return EXIT_USAGE;
			}
		}
		if (stored > CARD_EF_SIZE_MAX) {
			fprintf(stderr, "scwsemu-card: %s: the bootstrap as stored (%s) is %s%zu "
				"bytes; an EF holds at most %u (its FCP file size has 2 bytes)\n",
				bootstrap, store, stored > SCWS_CONVERT_MAX ? "over " : "",
				stored > SCWS_CONVERT_MAX ? (size_t)SCWS_CONVERT_MAX : stored,
				CARD_EF_SIZE_MAX);
			buf_cleanup(&xml);
			return EXIT_USAGE;
		}
	}
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "scwsemu-card: %s: %s\n", dir, strerror(errno));
		buf_cleanup(&xml);
		return EXIT_FAIL;
	}
	char pki[PATH_MAX], real[PATH_MAX], conf[PATH_MAX], bpath[PATH_MAX];
	config_data_path("pki", pki, sizeof(pki));
	if (realpath(pki, real))
		snprintf(pki, sizeof(pki), "%s", real);
	char *dircopy = strdup(dir);
	const char *name = dircopy ? basename(dircopy) : "card";
	struct buf t;
	buf_init(&t, 65536);
	int rc = buf_printf(&t,
			    "# %s/card.conf - made by scwsemu-card new; see scwsemu-profile(5).\n"
			    "name = \"%s\";\n"
			    "description = \"made by scwsemu-card new\";\n"
			    "iccid = \"8988200000000000006\";\n"
			    "atr = \"3B 9F 96 80 1F C7 80 31 E0 73 FE 21 1B 63 3A 20 4E 83 00 90 00 93\";\n"
			    "\n"
			    "tls = {\n"
			    "  certificate = \"%s/scws-server.crt\";  # test keys, see pki/README.md\n"
			    "  key = \"%s/scws-server.key\";\n"
			    "  rsa_certificate = \"%s/scws-server-rsa.crt\";\n"
			    "  rsa_key = \"%s/scws-server-rsa.key\";\n",
			    name, name, pki, pki, pki, pki);
	if (psk && !rc)
		rc = buf_printf(&t, "  psk_identity = \"%.*s\";\n  psk_key = \"%s\";\n",
				(int)(colon_p - psk), psk, colon_p + 1);
	if (!rc)
		rc = buf_printf(&t, "};\n\ncredentials = {\n  required = %s;\n",
				auth ? "true" : "false");
	if (auth && !rc)
		rc = buf_printf(&t, "  username = \"%.*s\";\n  passphrase = \"%s\";\n",
				(int)(colon_a - auth), auth, colon_a + 1);
	if (!rc)
		rc = none ? buf_append_str(&t, "};\n\nbootstrap = {\n  store = \"none\";\n};\n")
			  : buf_printf(&t, "};\n\nbootstrap = {\n  source = \"bootstrap.xml\";\n"
					   "  store = \"%s\";\n};\n", store);
	free(dircopy);
	snprintf(conf, sizeof(conf), "%s/card.conf", dir);
	snprintf(bpath, sizeof(bpath), "%s/bootstrap.xml", dir);
	if (rc || write_file(conf, t.p, t.len) != 0 ||
	    (bootstrap && write_file(bpath, xml.p, xml.len) != 0)) {
		buf_cleanup(&t);
		buf_cleanup(&xml);
		return EXIT_FAIL;
	}
	buf_cleanup(&t);
	buf_cleanup(&xml);
	/* What was written must load: the same check as `check` starts with. */
	struct loaded l;
	rc = load(dir, &l);
	if (rc)
		return rc;
	loaded_free(&l);
	printf("created %s (run: scwsemu-card check %s)\n", conf, dir);
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
