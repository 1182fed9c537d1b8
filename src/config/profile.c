/* profile.c - card profiles: card.conf (libconfig syntax) and its payload files, validated
 * into a struct profile and a struct card_spec (doc/scwsemu-profile.5). */
#include "config/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "card/atr.h"
#include "codec/wbxml.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/hex.h"
#include "core/limits.h"
#include "core/perr.h"

/* The ports an SCWS opens when the profile names none (OMA SCWS:
 * 4116 smartcard-tls, 3516 smartcard-port; IANA). */
static const struct profile_port default_ports[] = {
	{ 4116, true, 5 },
	{ 3516, false, 2 },
};

struct ctx {
	struct profile *p;
	struct profile_error *err;
	const char *conf;  /* conf_path, for messages */
	const char *dir;   /* the directory as given, for messages */
	char *base;        /* its realpath: payload paths are resolved against it */
	bool has_cert;     /* tls.certificate and tls.key loaded */
	bool first_is_rsa; /* ... with an RSA key */
};

static const char *const root_keys[] = {
	"name",        "description", "iccid",     "atr",    "scws",  "tls",
	"credentials", "devid_allow", "bootstrap", "pkcs15", "files", "logical_channels",
	"gsm_class",   "pins",        "access",    NULL,
};
static const char *const pin_keys[] = {
	"key", "value", "puk", "tries", "puk_tries", "enabled", NULL,
};
static const char *const access_keys[] = { "path", "read", NULL };
static const char *const scws_keys[] = { "ports", "index", "open_retry", NULL };
static const char *const retry_keys[] = { "count", "delay", NULL };
static const char *const port_keys[] = { "port", "scheme", "channels", NULL };
static const char *const tls_keys[] = {
	"certificate", "key",         "psk_identity", "psk_key",        "min_version",
	"max_version", "cipher_list", "ciphersuites", "security_level", "rsa_certificate",
	"rsa_key",     "resumption",  NULL,
};
static const char *const cred_keys[] = { "required", "username", "passphrase", NULL };
static const char *const boot_keys[] = { "source", "store", NULL };
static const char *const pkcs15_keys[] = {
	"adf_fid",  "aid",           "odf_fid",       "tokeninfo_fid",
	"dodf_fid", "bootstrap_fid", "token_label",   "manufacturer",
	"serial",   "dodf_label",    "oid_placement", "misencoded_oid",
	NULL,
};
static const char *const file_keys[] = {
	"path", "type", "record_length", "file", "hex", "update", "label", NULL,
};

/* Where a setting sits, as a person would write it: "scws.ports[1].channels".
 * Returns the length written. */
static size_t setting_path(const config_setting_t *s, char *out, size_t cap)
{
	out[0] = '\0';
	if (!s || !config_setting_parent(s))
		return 0;
	size_t n = setting_path(config_setting_parent(s), out, cap);
	const char *name = config_setting_name(s);
	int w = name ? snprintf(out + n, cap - n, "%s%s", n ? "." : "", name)
		     : snprintf(out + n, cap - n, "[%d]", config_setting_index(s));
	if (w < 0)
		return n;
	n += (size_t)w;
	return n < cap ? n : cap - 1;
}

/* Copies with truncation (messages only). */
static void copy_trunc(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Fills the error; returns -EINVAL. */
__attribute__((format(printf, 4, 5))) static int report(struct profile_error *err, const char *file,
							int line, const char *fmt, ...)
{
	va_list ap;
	copy_trunc(err->file, sizeof(err->file), file);
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An error about a setting: its line, and its path as the message prefix.
 * s == NULL (or the root) means the whole file. Returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, const config_setting_t *s,
						      const char *fmt, ...)
{
	char path[160], msg[sizeof(c->err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	setting_path(s, path, sizeof(path));
	int line = s ? (int)config_setting_source_line(s) : 0;
	if (path[0])
		return report(c->err, c->conf, line, "%s: %s", path, msg);
	return report(c->err, c->conf, line, "%s", msg);
}

/* A required setting that is absent: reported at its group's line. */
static int fail_missing(struct ctx *c, const config_setting_t *g, const char *name, const char *why)
{
	char path[160];
	setting_path(g, path, sizeof(path));
	return report(c->err, c->conf, g ? (int)config_setting_source_line(g) : 0,
		      "%s%s%s: missing%s%s", path, path[0] ? "." : "", name, why ? ", " : "",
		      why ? why : "");
}

/* Returns rc (a negative errno). */
static int fail_errno(struct ctx *c, int rc, const char *what)
{
	report(c->err, c->conf, 0, "%s: %s", what, strerror(-rc));
	return rc;
}

#define NOT_HEX "not hex (pairs of 0-9 A-F, optionally separated by spaces or ':')"

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "nothing";
	}
}

static int want_type(struct ctx *c, const config_setting_t *s, int type)
{
	int t = config_setting_type(s);
	if (t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64))
		return 0;
	return fail(c, s, "expected %s, not %s", type_name(type), type_name(t));
}

/* Typos are errors: every key of a group must be one the format knows. */
static int check_keys(struct ctx *c, const config_setting_t *g, const char *const *keys)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = s ? config_setting_name(s) : NULL;
		size_t k = 0;
		while (name && keys[k] && strcmp(keys[k], name) != 0)
			k++;
		if (name && keys[k])
			continue;
		char list[256];
		size_t n = 0;
		list[0] = '\0';
		for (k = 0; keys[k] && n < sizeof(list); k++) {
			int w = snprintf(list + n, sizeof(list) - n, "%s%s", k ? ", " : "",
					 keys[k]);
			n += w > 0 ? (size_t)w : 0;
		}
		return fail(c, s, "unknown setting (known here: %s)", list);
	}
	return 0;
}

static config_setting_t *member(const config_setting_t *g, const char *name)
{
	return g ? config_setting_get_member(g, name) : NULL;
}

/* A group (or NULL when absent). */
/* Two settings of g that go together (tls.certificate and tls.key): one
 * without the other is refused, naming the one missing. */
static int want_both(struct ctx *c, const config_setting_t *g, const char *a, bool has_a,
		     const char *b, bool has_b)
{
	char why[64];
	if (has_a == has_b)
		return 0;
	snprintf(why, sizeof(why), "needed with tls.%s", has_a ? a : b);
	return fail_missing(c, g, has_a ? b : a, why);
}

/* The list `name` of root, at most max entries ("<n> <what>, at most
 * <max>"): *l NULL and *n 0 when there is none. */
static int get_list(struct ctx *c, const config_setting_t *root, const char *name, unsigned max,
		    const char *what, config_setting_t **l, int *n)
{
	*n = 0;
	*l = member(root, name);
	if (!*l)
		return 0;
	int rc = want_type(c, *l, CONFIG_TYPE_LIST);
	if (rc)
		return rc;
	*n = config_setting_length(*l);
	if (*n > (int)max)
		return fail(c, *l, "%d %s, at most %u", *n, what, max);
	return 0;
}

/* "conf:LINE" of setting s, for messages about it after loading (the
 * profile's own name when the path does not fit). */
static void set_origin(const struct ctx *c, const config_setting_t *s, char *out, size_t cap)
{
	int line = (int)config_setting_source_line(s);
	int w = snprintf(out, cap, "%s:%d", c->conf, line);
	if (w < 0 || (size_t)w >= cap)
		snprintf(out, cap, "%s:%d", PROFILE_CONF_NAME, line);
}

static int get_group(struct ctx *c, const config_setting_t *parent, const char *name,
		     const char *const *keys, config_setting_t **out)
{
	config_setting_t *s = member(parent, name);
	*out = NULL;
	if (!s)
		return 0;
	int rc = want_type(c, s, CONFIG_TYPE_GROUP);
	if (!rc)
		rc = check_keys(c, s, keys);
	if (!rc)
		*out = s;
	return rc;
}

/* A string of at most max - 1 bytes; *out NULL when absent and optional. */
static int get_str(struct ctx *c, const config_setting_t *g, const char *name, bool required,
		   size_t max, const char **out, config_setting_t **where)
{
	config_setting_t *s = member(g, name);
	*out = NULL;
	if (where)
		*where = s;
	if (!s)
		return required ? fail_missing(c, g, name, NULL) : 0;
	int rc = want_type(c, s, CONFIG_TYPE_STRING);
	if (rc)
		return rc;
	const char *v = config_setting_get_string(s);
	if (!v)
		v = "";
	if (strlen(v) >= max)
		return fail(c, s, "longer than %zu bytes", max - 1);
	*out = v;
	return 0;
}

static int get_int(struct ctx *c, const config_setting_t *g, const char *name, long long min,
		   long long max, bool *present, long long *out)
{
	config_setting_t *s = member(g, name);
	*present = s != NULL;
	if (!s)
		return 0;
	int rc = want_type(c, s, CONFIG_TYPE_INT);
	if (rc)
		return rc;
	long long v = config_setting_get_int64(s);
	if (v < min || v > max)
		return fail(c, s, "%lld is out of range %lld..%lld", v, min, max);
	*out = v;
	return 0;
}

static int get_bool(struct ctx *c, const config_setting_t *g, const char *name, bool *out)
{
	config_setting_t *s = member(g, name);
	if (!s)
		return 0;
	int rc = want_type(c, s, CONFIG_TYPE_BOOL);
	if (!rc)
		*out = config_setting_get_bool(s) != 0;
	return rc;
}

/* One of a fixed set of words; *idx stays as is when absent. */
static int get_word(struct ctx *c, const config_setting_t *g, const char *name,
		    const char *const *words, int *idx, config_setting_t **where)
{
	const char *v;
	int rc = get_str(c, g, name, false, 64, &v, where);
	if (rc || !v)
		return rc;
	for (int i = 0; words[i]; i++) {
		if (strcmp(words[i], v) == 0) {
			*idx = i;
			return 0;
		}
	}
	char list[160];
	size_t n = 0;
	list[0] = '\0';
	for (int i = 0; words[i] && n < sizeof(list); i++) {
		int w = snprintf(list + n, sizeof(list) - n, "%s\"%s\"", i ? ", " : "", words[i]);
		n += w > 0 ? (size_t)w : 0;
	}
	return fail(c, *where, "\"%s\" is not one of %s", v, list);
}

/* Hex bytes (spaces, tabs and ':' between pairs allowed) into out[cap]. */
static int get_hex(struct ctx *c, const config_setting_t *g, const char *name, bool required,
		   uint8_t *out, size_t min, size_t cap, size_t *len, bool *present)
{
	const char *v;
	config_setting_t *s;
	int rc = get_str(c, g, name, required, PROFILE_FILE_MAX, &v, &s);
	if (present)
		*present = v != NULL;
	if (rc || !v)
		return rc;
	size_t n = 0;
	rc = hex_decode(v, out, cap, &n);
	if (rc == -EMSGSIZE)
		return fail(c, s, "more than %zu bytes", cap);
	if (rc)
		return fail(c, s, NOT_HEX);
	if (n < min)
		return fail(c, s, "%zu bytes, at least %zu needed", n, min);
	*len = n;
	return 0;
}

/* Exactly four hex digits. */
static bool parse_fid(const char *s, size_t n, uint16_t *fid)
{
	if (n != 4)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < 4; i++) {
		int d = hex_digit((unsigned char)s[i]);
		if (d < 0)
			return false;
		v = v << 4 | (unsigned)d;
	}
	*fid = (uint16_t)v;
	return true;
}

static bool fid_reserved(uint16_t fid)
{
	/* ISO 7816-4 §7.1.1 and TS 102 221 §8.4.1: MF, current ADF, RFU. */
	return fid == CARD_FID_MF || fid == CARD_FID_CURRENT_ADF || fid == 0xFFFF;
}

static int get_fid(struct ctx *c, const config_setting_t *g, const char *name, uint16_t *out)
{
	const char *v;
	config_setting_t *s;
	int rc = get_str(c, g, name, false, 16, &v, &s);
	if (rc || !v)
		return rc;
	uint16_t fid;
	if (!parse_fid(v, strlen(v), &fid))
		return fail(c, s,
			    "\"%s\" is not a file identifier (4 hex digits, e.g. "
			    "\"7F50\")",
			    v);
	if (fid_reserved(fid))
		return fail(c, s, "%04X is reserved (3F00, 7FFF and FFFF cannot be used)", fid);
	*out = fid;
	return 0;
}

/* Printable text: no control characters (UTF-8 above 0x7F is fine). */
static bool is_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7F)
			return false;
	return true;
}

static int get_label(struct ctx *c, const config_setting_t *g, const char *name, char *out,
		     size_t cap)
{
	const char *v;
	config_setting_t *s;
	int rc = get_str(c, g, name, false, cap, &v, &s);
	if (rc || !v)
		return rc;
	if (!is_text(v))
		return fail(c, s, "control characters are not allowed");
	snprintf(out, cap, "%s", v);
	return 0;
}

static int dup_str(struct ctx *c, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : fail_errno(c, -ENOMEM, "profile");
}

/* An optional string setting of g, copied into *out (left alone when the
 * setting is absent); *s as get_str() sets it. */
static int get_str_dup(struct ctx *c, const config_setting_t *g, const char *name, size_t max,
		       char **out, config_setting_t **s)
{
	const char *v;
	int rc = get_str(c, g, name, false, max, &v, s);
	if (rc || !v)
		return rc;
	return dup_str(c, v, out);
}

/* Reads a whole regular file of at most max bytes; NUL-terminates it.
 * O_NONBLOCK: a FIFO named by a profile must not hang the loader. */
static int read_all(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	uint8_t *p = NULL;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		rc = -EMSGSIZE;
		goto out;
	}
	size_t cap = (size_t)st.st_size, n = 0;
	p = malloc(cap + 1);
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	while (n < cap) {
		ssize_t r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	p[n] = 0;
	*out = p;
	*out_len = n;
	p = NULL;
out:
	free(p);
	close(fd);
	return rc;
}

static const char *read_error(int rc)
{
	switch (rc) {
	case -EINVAL:
		return "not a regular file";
	case -EMSGSIZE:
		return "too large";
	default:
		return strerror(-rc);
	}
}

/* A payload file named by setting s, relative to the profile directory.
 * On success *data (NUL-terminated) and, when abs is given, its realpath;
 * shown receives the name used in messages ("cards/x/bootstrap.xml"). */
static int read_payload(struct ctx *c, const config_setting_t *s, const char *rel, size_t max,
			uint8_t **data, size_t *len, char **abs, char *shown, size_t shown_cap)
{
	char full[PATH_MAX];
	int w;
	*data = NULL;
	if (abs)
		*abs = NULL;
	if (rel[0] == '\0')
		return fail(c, s, "empty file name");
	if (rel[0] == '/') {
		w = snprintf(full, sizeof(full), "%s", rel);
		snprintf(shown, shown_cap, "%s", rel);
	} else {
		w = snprintf(full, sizeof(full), "%s/%s", c->base, rel);
		snprintf(shown, shown_cap, "%s/%s", c->dir, rel);
	}
	if (w < 0 || (size_t)w >= sizeof(full))
		return fail(c, s, "file name too long");
	int rc = read_all(full, max, data, len);
	if (rc == -ENOMEM)
		return fail_errno(c, rc, shown);
	if (rc == -EMSGSIZE)
		return fail(c, s, "%s: larger than %zu bytes", shown, max);
	if (rc)
		return fail(c, s, "%s: %s", shown, read_error(rc));
	if (abs) {
		*abs = realpath(full, NULL);
		if (!*abs) {
			rc = -errno;
			free(*data);
			*data = NULL;
			return fail(c, s, "%s: %s", shown, strerror(-rc));
		}
	}
	return 0;
}

/* ---- identity ---------------------------------------------------------- */

/* ISO/IEC 7816-3 §8.2: TS, T0, the interface bytes that each Y announces,
 * K historical bytes, and TCK unless only T=0 is indicated; at most 33
 * bytes. A reader driver (pcsc-lite, vpcd) refuses anything else. */
static int check_atr(struct ctx *c, const config_setting_t *s, const uint8_t *atr, size_t len)
{
	struct card_atr a;
	char why[160];
	if (card_atr_parse(atr, len, &a, why, sizeof(why)))
		return fail(c, s, "%s", why);
	if (a.has_tck && a.tck != a.tck_want)
		return fail(c, s, "TCK is %02X but should be %02X (XOR of T0 .. TCK is 00)", a.tck,
			    a.tck_want);
	return 0;
}

static int parse_identity(struct ctx *c, const config_setting_t *root)
{
	struct profile *p = c->p;
	const char *v;
	config_setting_t *s;
	int rc = get_str(c, root, "name", true, PROFILE_NAME_MAX, &v, &s);
	if (rc)
		return rc;
	static const char name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "abcdefghijklmnopqrstuvwxyz0123456789._-";
	if (!v[0] || strspn(v, name_chars) != strlen(v))
		return fail(c, s, "\"%s\": use letters, digits, '.', '_' and '-'", v);
	if ((rc = dup_str(c, v, &p->name)))
		return rc;

	if ((rc = get_str(c, root, "description", false, PROFILE_TEXT_MAX, &v, &s)))
		return rc;
	if (v && !is_text(v))
		return fail(c, s, "control characters are not allowed");
	if ((rc = dup_str(c, v ? v : "", &p->description)))
		return rc;

	/* ICCID: ITU-T E.118, 18 to 20 digits; EF.ICCID (TS 102 221 §13.2)
	 * holds them BCD with the nibbles of each byte swapped, F-padded to
	 * 10 bytes. */
	if ((rc = get_str(c, root, "iccid", true, 32, &v, &s)))
		return rc;
	size_t n = strlen(v);
	if (strspn(v, "0123456789") != n)
		return fail(c, s, "\"%s\": only decimal digits are allowed", v);
	if (n < 18 || n > 20)
		return fail(c, s, "%zu digits; an ICCID has 18 to 20", n);
	memset(p->card.iccid, 0xFF, sizeof(p->card.iccid));
	for (size_t i = 0; i < n; i++) {
		uint8_t d = (uint8_t)(v[i] - '0');
		uint8_t *b = &p->card.iccid[i / 2];
		*b = (i % 2) ? (uint8_t)((*b & 0x0F) | d << 4) : (uint8_t)(0xF0 | d);
	}
	p->card.iccid_len = sizeof(p->card.iccid);

	/* Absent: the UICC ATR of card_spec_init(). */
	bool has;
	uint8_t atr[sizeof(p->card.atr)];
	size_t atr_len = 0;
	if ((rc = get_hex(c, root, "atr", false, atr, 2, sizeof(atr), &atr_len, &has)) || !has)
		return rc;
	if ((rc = check_atr(c, member(root, "atr"), atr, atr_len)))
		return rc;
	memcpy(p->card.atr, atr, atr_len);
	p->card.atr_len = atr_len;
	return 0;
}

/* ---- scws ---------------------------------------------------------------- */

static int parse_port(struct ctx *c, const config_setting_t *g, struct profile_port *pp)
{
	int rc = want_type(c, g, CONFIG_TYPE_GROUP);
	if (!rc)
		rc = check_keys(c, g, port_keys);
	if (rc)
		return rc;
	bool has;
	long long v = 0;
	if ((rc = get_int(c, g, "port", 1, 65535, &has, &v)))
		return rc;
	if (!has)
		return fail_missing(c, g, "port", NULL);
	pp->port = (uint16_t)v;
	static const char *const schemes[] = { "https", "http", NULL };
	int idx = -1;
	config_setting_t *s;
	if ((rc = get_word(c, g, "scheme", schemes, &idx, &s)))
		return rc;
	if (idx < 0)
		return fail_missing(c, g, "scheme", "\"https\" or \"http\"");
	pp->tls = idx == 0;
	if ((rc = get_int(c, g, "channels", 1, CAT_BIP_CHANNELS_MAX, &has, &v)))
		return rc;
	pp->channels = has ? (unsigned)v : 1;
	return 0;
}

static int parse_scws(struct ctx *c, const config_setting_t *root)
{
	struct profile *p = c->p;
	config_setting_t *g;
	int rc = get_group(c, root, "scws", scws_keys, &g);
	if (rc)
		return rc;
	config_setting_t *ports = member(g, "ports");
	if (!ports) {
		memcpy(p->ports, default_ports, sizeof(default_ports));
		p->n_ports = sizeof(default_ports) / sizeof(default_ports[0]);
	} else {
		if ((rc = want_type(c, ports, CONFIG_TYPE_LIST)))
			return rc;
		int n = config_setting_length(ports);
		if (n == 0)
			return fail(c, ports, "empty: the card needs at least one port");
		if (n > (int)PROFILE_PORTS_MAX)
			return fail(c, ports, "%d ports, at most %u", n,
				    (unsigned)PROFILE_PORTS_MAX);
		unsigned total = 0;
		for (int i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(ports, (unsigned)i);
			struct profile_port *pp = &p->ports[i];
			if ((rc = parse_port(c, e, pp)))
				return rc;
			for (int j = 0; j < i; j++)
				if (p->ports[j].port == pp->port)
					return fail(c, e, "port %u is listed twice", pp->port);
			total += pp->channels;
			/* TS 102 223 §8.7: channel identifiers 1..7 in all. */
			if (total > CAT_BIP_CHANNELS_MAX)
				return fail(c, e, "%u channels in all; a card has at most %u",
					    total, CAT_BIP_CHANNELS_MAX);
		}
		p->n_ports = (size_t)n;
	}

	/* What the card does after a refused OPEN CHANNEL (card/bip.h). */
	config_setting_t *rg;
	bool has;
	long long n = 0;
	p->open_retry.count = 0;
	p->open_retry.delay_ms = PROFILE_OPEN_RETRY_DELAY_DEFAULT;
	if ((rc = get_group(c, g, "open_retry", retry_keys, &rg)))
		return rc;
	if ((rc = get_int(c, rg, "count", 0, CARD_BIP_RETRY_MAX, &has, &n)))
		return rc;
	if (has)
		p->open_retry.count = (unsigned)n;
	if ((rc = get_int(c, rg, "delay", CARD_BIP_RETRY_DELAY_MIN, CARD_BIP_RETRY_DELAY_MAX, &has,
			  &n)))
		return rc;
	if (has)
		p->open_retry.delay_ms = (unsigned)n;

	const char *v;
	config_setting_t *s;
	if ((rc = get_str(c, g, "index", false, PATH_MAX, &v, &s)) || !v)
		return rc;
	char shown[PATH_MAX];
	return read_payload(c, s, v, CARD_EF_SIZE_MAX, &p->index_html, &p->index_html_len, NULL,
			    shown, sizeof(shown));
}

/* ---- tls ----------------------------------------------------------------- */

static int no_password(char *buf, int size, int rwflag, void *u)
{
	/* An encrypted key is refused instead of prompting on a terminal. */
	return 0;
}

static int load_cert_key(struct ctx *c, config_setting_t *cs, const char *cert_rel,
			 config_setting_t *ks, const char *key_rel, char **cert_out, char **key_out,
			 struct profile_pem *cert_pem, struct profile_pem *key_pem, bool want_rsa)
{
	uint8_t *cert = NULL, *key = NULL;
	size_t cert_len, key_len;
	char shown[PATH_MAX];
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	BIO *bio = NULL;
	int rc = read_payload(c, cs, cert_rel, PROFILE_FILE_MAX, &cert, &cert_len, cert_out, shown,
			      sizeof(shown));
	if (rc)
		goto out;
	bio = BIO_new_mem_buf(cert, (int)cert_len);
	x = bio ? PEM_read_bio_X509(bio, NULL, no_password, NULL) : NULL;
	BIO_free(bio);
	if (!x) {
		rc = fail(c, cs, "%s: no PEM certificate in it", shown);
		goto out;
	}
	if (want_rsa && EVP_PKEY_get_base_id(X509_get0_pubkey(x)) != EVP_PKEY_RSA) {
		rc = fail(c, cs, "%s: not an RSA certificate", shown);
		goto out;
	}
	if ((rc = read_payload(c, ks, key_rel, PROFILE_FILE_MAX, &key, &key_len, key_out, shown,
			       sizeof(shown))))
		goto out;
	bio = BIO_new_mem_buf(key, (int)key_len);
	k = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL) : NULL;
	BIO_free(bio);
	if (!k) {
		rc = fail(c, ks, "%s: no unencrypted PEM private key in it", shown);
		goto out;
	}
	if (X509_check_private_key(x, k) != 1) {
		rc = fail(c, ks, "%s does not belong to the certificate %s", key_rel, cert_rel);
		goto out;
	}
	c->has_cert = true;
	if (!want_rsa)
		c->first_is_rsa = EVP_PKEY_get_base_id(X509_get0_pubkey(x)) == EVP_PKEY_RSA;
	cert_pem->p = cert;
	cert_pem->len = cert_len;
	key_pem->p = key;
	key_pem->len = key_len;
	cert = key = NULL;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	if (key)
		OPENSSL_cleanse(key, key_len);
	free(key);
	free(cert);
	ERR_clear_error();
	return rc;
}

static int parse_version(struct ctx *c, const config_setting_t *g, const char *name, int *out)
{
	static const char *const names[] = { "1.0", "1.1", "1.2", "1.3", NULL };
	static const int versions[] = { TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION,
					TLS1_3_VERSION };
	int idx = -1;
	config_setting_t *s;
	int rc = get_word(c, g, name, names, &idx, &s);
	if (!rc && idx >= 0)
		*out = versions[idx];
	return rc;
}

/* OpenSSL is the judge of cipher strings; a profile that names no usable
 * cipher is refused here instead of at the first handshake. */
static int check_ciphers(struct ctx *c, const config_setting_t *list_s,
			 const config_setting_t *suites_s)
{
	struct profile_tls *t = &c->p->tls;
	if (!t->cipher_list && !t->ciphersuites)
		return 0;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		ERR_clear_error();
		return fail_errno(c, -ENOMEM, "OpenSSL");
	}
	int rc = 0;
	if (t->cipher_list && SSL_CTX_set_cipher_list(ctx, t->cipher_list) != 1)
		rc = fail(c, list_s, "\"%s\" matches no cipher OpenSSL knows", t->cipher_list);
	else if (t->ciphersuites && SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1)
		rc = fail(c, suites_s, "\"%s\" is not a TLS 1.3 ciphersuite list OpenSSL accepts",
			  t->ciphersuites);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

static int parse_tls(struct ctx *c, const config_setting_t *root)
{
	struct profile_tls *t = &c->p->tls;
	config_setting_t *g;
	int rc = get_group(c, root, "tls", tls_keys, &g);
	if (rc)
		return rc;

	const char *cert, *key;
	config_setting_t *cs, *ks;
	if ((rc = get_str(c, g, "certificate", false, PATH_MAX, &cert, &cs)) ||
	    (rc = get_str(c, g, "key", false, PATH_MAX, &key, &ks)))
		return rc;
	if ((rc = want_both(c, g, "certificate", cert, "key", key)))
		return rc;
	if (cert && (rc = load_cert_key(c, cs, cert, ks, key, &t->cert_file, &t->key_file,
					&t->cert_pem, &t->key_pem, false)))
		return rc;
	if ((rc = get_str(c, g, "rsa_certificate", false, PATH_MAX, &cert, &cs)) ||
	    (rc = get_str(c, g, "rsa_key", false, PATH_MAX, &key, &ks)))
		return rc;
	if ((rc = want_both(c, g, "rsa_certificate", cert, "rsa_key", key)))
		return rc;
	if (cert && !t->cert_file)
		return fail(c, cs, "needs tls.certificate (the ECDSA one) beside it");
	if (cert && c->first_is_rsa)
		return fail(c, cs,
			    "tls.certificate is RSA already; the second must be ECDSA "
			    "there and RSA here");
	if (cert && (rc = load_cert_key(c, cs, cert, ks, key, &t->rsa_cert_file, &t->rsa_key_file,
					&t->rsa_cert_pem, &t->rsa_key_pem, true)))
		return rc;
	t->resumption = true;
	if ((rc = get_bool(c, g, "resumption", &t->resumption)))
		return rc;

	const char *id;
	config_setting_t *ids;
	if ((rc = get_str(c, g, "psk_identity", false, PROFILE_PSK_IDENTITY_MAX, &id, &ids)))
		return rc;
	bool has_key = false;
	if ((rc = get_hex(c, g, "psk_key", false, t->psk_key, 1, sizeof(t->psk_key),
			  &t->psk_key_len, &has_key)))
		return rc;
	if ((rc = want_both(c, g, "psk_identity", id, "psk_key", has_key)))
		return rc;
	if (id && (!id[0] || !is_text(id)))
		return fail(c, ids, "must be printable text, not empty");
	if (id && (rc = dup_str(c, id, &t->psk_identity)))
		return rc;

	if ((rc = parse_version(c, g, "min_version", &t->min_version)) ||
	    (rc = parse_version(c, g, "max_version", &t->max_version)))
		return rc;
	if (t->min_version > t->max_version) {
		if (member(g, "min_version"))
			return fail(c, member(g, "min_version"), "above tls.max_version");
		return fail(c, member(g, "max_version"), "below tls.min_version (1.2 by default)");
	}

	bool has;
	long long lvl = -1;
	if ((rc = get_int(c, g, "security_level", 0, 5, &has, &lvl)))
		return rc;
	t->security_level = has ? (int)lvl : -1;

	config_setting_t *ls, *ss;
	if ((rc = get_str_dup(c, g, "cipher_list", PROFILE_CIPHERS_MAX, &t->cipher_list, &ls)) ||
	    (rc = get_str_dup(c, g, "ciphersuites", PROFILE_CIPHERS_MAX, &t->ciphersuites, &ss)))
		return rc;
	if ((rc = check_ciphers(c, ls, ss)))
		return rc;

	for (size_t i = 0; i < c->p->n_ports; i++) {
		if (c->p->ports[i].tls && !c->has_cert && !t->psk_identity) {
			const config_setting_t *at = g ? g : member(member(root, "scws"), "ports");
			return fail(c, at,
				    "port %u is https: set tls.certificate and tls.key, "
				    "or tls.psk_identity and tls.psk_key",
				    c->p->ports[i].port);
		}
	}
	return 0;
}

/* ---- credentials and devids ---------------------------------------------- */

static int parse_credentials(struct ctx *c, const config_setting_t *root)
{
	struct profile *p = c->p;
	config_setting_t *g;
	int rc = get_group(c, root, "credentials", cred_keys, &g);
	if (rc || !g)
		return rc;
	if ((rc = get_bool(c, g, "required", &p->credentials_required)))
		return rc;
	const char *user, *pass;
	config_setting_t *us, *ps;
	if ((rc = get_str(c, g, "username", false, PROFILE_USERNAME_MAX, &user, &us)) ||
	    (rc = get_str(c, g, "passphrase", false, PROFILE_PASSPHRASE_MAX, &pass, &ps)))
		return rc;
	if (!p->credentials_required) {
		if (user || pass)
			return fail(c, user ? us : ps, "set, but credentials.required is false");
		return 0;
	}
	if (!user)
		return fail_missing(c, g, "username", "needed when credentials.required is true");
	if (!pass)
		return fail_missing(c, g, "passphrase", "needed when credentials.required is true");
	if (!user[0] || !is_text(user))
		return fail(c, us, "must be printable text, not empty");
	if (!pass[0])
		return fail(c, ps, "must not be empty");
	if ((rc = dup_str(c, user, &p->username)))
		return rc;
	return dup_str(c, pass, &p->passphrase);
}

/* "scheme:value" (DM 1.2 DevId is a URN, RFC 2141), e.g. IMEI:493005100592800. */
static bool devid_ok(const char *s)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s || !colon[1])
		return false;
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7F)
			return false;
	return true;
}

static int parse_devids(struct ctx *c, const config_setting_t *root)
{
	struct profile *p = c->p;
	config_setting_t *a = member(root, "devid_allow");
	if (!a)
		return 0;
	int rc = want_type(c, a, CONFIG_TYPE_ARRAY);
	if (rc)
		return rc;
	int n = config_setting_length(a);
	if (n == 0)
		return fail(c, a, "empty; leave devid_allow out to accept every devid");
	if (n > (int)PROFILE_DEVIDS_MAX)
		return fail(c, a, "%d entries, at most %u", n, PROFILE_DEVIDS_MAX);
	p->devid_allow = calloc((size_t)n, sizeof(*p->devid_allow));
	if (!p->devid_allow)
		return fail_errno(c, -ENOMEM, "profile");
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(a, (unsigned)i);
		if ((rc = want_type(c, e, CONFIG_TYPE_STRING)))
			return rc;
		const char *v = config_setting_get_string(e);
		if (!v || strlen(v) >= PROFILE_DEVID_MAX || !devid_ok(v))
			return fail(c, e,
				    "\"%s\" is not a devid of the form scheme:value "
				    "(e.g. \"IMEI:493005100592800\"), at most %u bytes",
				    v ? v : "", PROFILE_DEVID_MAX - 1);
		if ((rc = dup_str(c, v, &p->devid_allow[i])))
			return rc;
		p->n_devid_allow++;
	}
	return 0;
}

/* ---- bootstrap ------------------------------------------------------------ */

static int parse_bootstrap(struct ctx *c, const config_setting_t *root)
{
	struct profile *p = c->p;
	config_setting_t *g;
	int rc = get_group(c, root, "bootstrap", boot_keys, &g);
	if (rc || !g)
		return rc;
	static const char *const stores[] = { "wbxml", "xml", "none", NULL };
	int store = 0;
	config_setting_t *store_s;
	if ((rc = get_word(c, g, "store", stores, &store, &store_s)))
		return rc;
	const char *src;
	config_setting_t *src_s;
	if ((rc = get_str(c, g, "source", false, PATH_MAX, &src, &src_s)))
		return rc;
	if (store == 2) {
		if (src)
			return fail(c, src_s, "set, but bootstrap.store is \"none\"");
		return 0;
	}
	if (!src)
		return fail_missing(c, g, "source", "the bootstrap XML file (or store = \"none\")");
	p->store = store == 0 ? PROFILE_STORE_WBXML : PROFILE_STORE_XML;

	uint8_t *xml = NULL;
	size_t len = 0;
	char shown[PATH_MAX];
	if ((rc = read_payload(c, src_s, src, PROFILE_FILE_MAX, &xml, &len, &p->bootstrap_source,
			       shown, sizeof(shown))))
		return rc;

	/* The message names the XML file and its line: that is where the
	 * mistake is. */
	int line = 0;
	char why[sizeof(c->err->msg)];
	rc = codec_xml_check(xml, len, &line, why, sizeof(why));
	if (rc) {
		free(xml);
		return report(c->err, shown, line, "%s", why);
	}

	/* Encoded into a larger buffer than an EF so that the message can
	 * say how large the result is. */
	struct buf out;
	buf_init(&out, SCWS_CONVERT_MAX);
	if (p->store == PROFILE_STORE_WBXML) {
		rc = codec_wbxml_encode(xml, len, &out, why, sizeof(why));
		if (rc == -EMSGSIZE)
			rc = fail(c, src_s,
				  "%s: the WBXML form is over %u bytes; an EF holds at "
				  "most %u",
				  shown, SCWS_CONVERT_MAX, CARD_EF_SIZE_MAX);
		else if (rc == -ENOMEM)
			rc = fail_errno(c, rc, shown);
		else if (rc)
			rc = fail(c, src_s, "%s: %s (store = \"xml\" keeps it as text)", shown,
				  why);
		else if (out.len > CARD_EF_SIZE_MAX)
			rc = fail(c, src_s,
				  "%s: the WBXML form is %zu bytes; an EF holds at most "
				  "%u (its FCP file size has 2 bytes)",
				  shown, out.len, CARD_EF_SIZE_MAX);
	} else if (len > CARD_EF_SIZE_MAX) {
		rc = fail(c, src_s,
			  "%s: %zu bytes; an EF holds at most %u (its FCP file size "
			  "has 2 bytes)",
			  shown, len, CARD_EF_SIZE_MAX);
	} else {
		rc = buf_append(&out, xml, len);
		if (rc)
			rc = fail_errno(c, rc, shown);
	}
	free(xml);
	if (rc) {
		buf_cleanup(&out);
		return rc;
	}
	p->card.has_bootstrap = true;
	p->card.bootstrap = buf_take(&out, &p->card.bootstrap_len);
	if (!p->card.bootstrap) {
		/* buf_take of an empty buffer: an EF of zero bytes. */
		p->card.bootstrap = malloc(1);
		if (!p->card.bootstrap)
			return fail_errno(c, -ENOMEM, shown);
	}
	return 0;
}

/* ---- pkcs15 --------------------------------------------------------------- */

static int parse_pkcs15(struct ctx *c, const config_setting_t *root)
{
	struct card_spec *cs = &c->p->card;
	config_setting_t *g;
	int rc = get_group(c, root, "pkcs15", pkcs15_keys, &g);
	if (rc || !g)
		return rc;
	bool has;
	if ((rc = get_fid(c, g, "adf_fid", &cs->pkcs15_fid)) ||
	    (rc = get_fid(c, g, "odf_fid", &cs->odf_fid)) ||
	    (rc = get_fid(c, g, "tokeninfo_fid", &cs->tokeninfo_fid)) ||
	    (rc = get_fid(c, g, "dodf_fid", &cs->dodf_fid)) ||
	    (rc = get_fid(c, g, "bootstrap_fid", &cs->bootstrap_fid)))
		return rc;
	/* ISO 7816-4 §7.1.1: the files of one DF have distinct FIDs, which
	 * also differ from the DF's own. */
	const struct {
		const char *name;
		uint16_t fid;
	} fids[] = {
		{ "adf_fid", cs->pkcs15_fid },          { "odf_fid", cs->odf_fid },
		{ "tokeninfo_fid", cs->tokeninfo_fid }, { "dodf_fid", cs->dodf_fid },
		{ "bootstrap_fid", cs->bootstrap_fid },
	};
	for (size_t i = 0; i < sizeof(fids) / sizeof(fids[0]); i++)
		for (size_t j = 0; j < i; j++)
			if (fids[i].fid == fids[j].fid) {
				config_setting_t *at = member(g, fids[i].name);
				return fail(c, at ? at : member(g, fids[j].name), "%04X is also %s",
					    fids[i].fid, fids[j].name);
			}
	/* EF.DIR and EF.ICCID live beside the ADF under the MF. */
	if (cs->pkcs15_fid == 0x2F00 || cs->pkcs15_fid == 0x2FE2)
		return fail(c, member(g, "adf_fid"), "%04X is EF.%s", cs->pkcs15_fid,
			    cs->pkcs15_fid == 0x2F00 ? "DIR" : "ICCID");

	/* ISO 7816-4 §8.2.1.2: an AID has 5 to 16 bytes. */
	if ((rc = get_hex(c, g, "aid", false, cs->pkcs15_aid, 5, sizeof(cs->pkcs15_aid),
			  &cs->pkcs15_aid_len, &has)))
		return rc;
	if ((rc = get_label(c, g, "token_label", cs->token_label, sizeof(cs->token_label))) ||
	    (rc = get_label(c, g, "manufacturer", cs->manufacturer, sizeof(cs->manufacturer))) ||
	    (rc = get_label(c, g, "dodf_label", cs->dodf_label, sizeof(cs->dodf_label))))
		return rc;
	if ((rc = get_hex(c, g, "serial", false, cs->serial, 1, sizeof(cs->serial), &cs->serial_len,
			  &has)))
		return rc;

	static const char *const places[] = { "typeAttributes", "applicationOID", "both", NULL };
	static const enum card_oid_place place_vals[] = {
		CARD_OID_TYPE_ATTRIBUTES,
		CARD_OID_APPLICATION_OID,
		CARD_OID_BOTH,
	};
	int idx = -1;
	config_setting_t *s;
	if ((rc = get_word(c, g, "oid_placement", places, &idx, &s)))
		return rc;
	if (idx >= 0)
		cs->oid_place = place_vals[idx];
	return get_bool(c, g, "misencoded_oid", &cs->oid_misencoded);
}

/* ---- files ------------------------------------------------------------------ */

static int parse_path(struct ctx *c, const config_setting_t *s, const char *v,
		      struct card_file_spec *f)
{
	const char *q = v;
	f->path_len = 0;
	for (;;) {
		size_t n = strcspn(q, "/");
		uint16_t fid;
		if (!parse_fid(q, n, &fid))
			return fail(c, s,
				    "\"%s\": FIDs of 4 hex digits separated by '/', "
				    "e.g. \"3F00/7F50/6430\"",
				    v);
		if (f->path_len == CARD_FS_DEPTH_MAX)
			return fail(c, s, "\"%s\": deeper than %u levels", v, CARD_FS_DEPTH_MAX);
		if (f->path_len == 0 && fid != CARD_FID_MF)
			return fail(c, s, "\"%s\" does not start with 3F00", v);
		if (f->path_len > 0 && fid_reserved(fid))
			return fail(c, s, "\"%s\": %04X is reserved", v, fid);
		f->path[f->path_len++] = fid;
		if (!q[n])
			break;
		q += n + 1;
	}
	if (f->path_len < 2)
		return fail(c, s, "\"%s\": the MF itself cannot be declared", v);
	return 0;
}

static int parse_file(struct ctx *c, const config_setting_t *g, struct card_file_spec *f)
{
	int rc = want_type(c, g, CONFIG_TYPE_GROUP);
	if (!rc)
		rc = check_keys(c, g, file_keys);
	if (rc)
		return rc;
	set_origin(c, g, f->origin, sizeof(f->origin));

	const char *v;
	config_setting_t *s;
	if ((rc = get_str(c, g, "path", true, 64, &v, &s)) || (rc = parse_path(c, s, v, f)))
		return rc;

	static const char *const types[] = { "transparent", "linear-fixed", "df", NULL };
	static const enum card_fs_type type_vals[] = {
		CARD_FS_EF_TRANSPARENT,
		CARD_FS_EF_LINEAR_FIXED,
		CARD_FS_DF,
	};
	int idx = 0;
	if ((rc = get_word(c, g, "type", types, &idx, &s)))
		return rc;
	f->type = type_vals[idx];

	bool has_rl;
	long long rl = 0;
	config_setting_t *rl_s = member(g, "record_length");
	if ((rc = get_int(c, g, "record_length", 1, CARD_RECORD_LEN_MAX, &has_rl, &rl)))
		return rc;
	if (f->type == CARD_FS_EF_LINEAR_FIXED && !has_rl)
		return fail_missing(c, g, "record_length", "needed for a linear-fixed EF");
	if (f->type != CARD_FS_EF_LINEAR_FIXED && has_rl)
		return fail(c, rl_s, "only a linear-fixed EF has records");
	f->rec_len = (uint8_t)rl;

	static const char *const updates[] = { "never", "always", NULL };
	int upd = 0;
	config_setting_t *upd_s;
	if ((rc = get_word(c, g, "update", updates, &upd, &upd_s)))
		return rc;
	f->update_always = upd == 1;
	if ((rc = get_label(c, g, "label", f->label, sizeof(f->label))))
		return rc;

	const char *file, *hex;
	config_setting_t *file_s, *hex_s;
	if ((rc = get_str(c, g, "file", false, PATH_MAX, &file, &file_s)) ||
	    (rc = get_str(c, g, "hex", false, PROFILE_FILE_MAX, &hex, &hex_s)))
		return rc;
	if (f->type == CARD_FS_DF) {
		const config_setting_t *bad = file ? file_s : hex ? hex_s : upd_s;
		if (bad)
			return fail(c, bad, "a DF has no contents and no update condition");
		return 0;
	}
	if (file && hex)
		return fail(c, hex_s, "give either file or hex, not both");
	if (file) {
		char shown[PATH_MAX];
		if ((rc = read_payload(c, file_s, file, CARD_EF_SIZE_MAX, &f->data, &f->len, NULL,
				       shown, sizeof(shown))))
			return rc;
	} else if (hex) {
		size_t cap = strlen(hex) / 2 + 1;
		f->data = malloc(cap);
		if (!f->data)
			return fail_errno(c, -ENOMEM, "profile");
		rc = hex_decode(hex, f->data, cap, &f->len);
		if (rc)
			return fail(c, hex_s, NOT_HEX);
		if (f->len > CARD_EF_SIZE_MAX)
			return fail(c, hex_s, "%zu bytes, an EF holds at most %u", f->len,
				    CARD_EF_SIZE_MAX);
	}
	if (f->type == CARD_FS_EF_LINEAR_FIXED) {
		const config_setting_t *at = file ? file_s : hex ? hex_s : rl_s;
		if (f->len == 0 || f->len % f->rec_len)
			return fail(c, at, "%zu bytes is not a whole number of %u-byte records",
				    f->len, f->rec_len);
		if (f->len / f->rec_len > CARD_RECORDS_MAX)
			return fail(c, at, "%zu records, at most %u", f->len / f->rec_len,
				    CARD_RECORDS_MAX);
	}
	return 0;
}

static int parse_files(struct ctx *c, const config_setting_t *root)
{
	struct card_spec *cs = &c->p->card;
	config_setting_t *l;
	int n;
	int rc = get_list(c, root, "files", PROFILE_FILES_MAX, "entries", &l, &n);
	if (rc || n == 0)
		return rc;
	cs->files = calloc((size_t)n, sizeof(*cs->files));
	if (!cs->files)
		return fail_errno(c, -ENOMEM, "profile");
	for (int i = 0; i < n; i++) {
		/* Counted first: card_spec_cleanup() frees what a failed entry holds. */
		cs->n_files++;
		if ((rc = parse_file(c, config_setting_get_elem(l, (unsigned)i), &cs->files[i])))
			return rc;
	}
	return 0;
}

/* ---- logical channels, GSM class, PINs, access --------------------------- */

/* Key names of TS 102 221 §9.5.1 Table 9.3 as profiles write them. */
static const struct {
	const char *name;
	uint8_t ref;
} key_names[] = {
	{ "PIN1", CARD_KEY_PIN1 }, { "PIN2", CARD_KEY_PIN2 }, { "UPIN", CARD_KEY_UPIN },
	{ "ADM1", 0x0A },          { "ADM2", 0x0B },          { "ADM3", 0x0C },
	{ "ADM4", 0x0D },          { "ADM5", 0x0E },
};
#define KEY_NAMES "\"PIN1\" (01), \"PIN2\" (81), \"UPIN\" (11), \"ADM1\" .. \"ADM5\" (0A-0E)"

static const char *key_name(uint8_t ref)
{
	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (key_names[i].ref == ref)
			return key_names[i].name;
	return "?";
}

static int parse_key(struct ctx *c, const config_setting_t *s, const char *v, uint8_t *ref)
{
	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (strcmp(key_names[i].name, v) == 0) {
			*ref = key_names[i].ref;
			return 0;
		}
	return fail(c, s, "\"%s\" is not a key: " KEY_NAMES, v);
}

static int parse_pin(struct ctx *c, const config_setting_t *g, struct card_pin_config *pc)
{
	int rc = want_type(c, g, CONFIG_TYPE_GROUP);
	if (!rc)
		rc = check_keys(c, g, pin_keys);
	if (rc)
		return rc;
	const char *v;
	config_setting_t *s;
	if ((rc = get_str(c, g, "key", true, 16, &v, &s)) || (rc = parse_key(c, s, v, &pc->ref)))
		return rc;
	if ((rc = get_str(c, g, "value", true, 16, &v, &s)))
		return rc;
	if (card_pin_block(v, pc->pin))
		return fail(c, s, "4 to 8 decimal digits (TS 102 221 §9.5.2)");
	if ((rc = get_str(c, g, "puk", false, 16, &v, &s)))
		return rc;
	if (v) {
		if (strlen(v) != 8 || strspn(v, "0123456789") != 8)
			return fail(c, s, "a PUK is 8 decimal digits");
		memcpy(pc->puk, v, 8);
		pc->puk_len = 8;
	}
	bool has;
	long long n = 3;
	if ((rc = get_int(c, g, "tries", 1, CARD_PIN_TRIES_MAX, &has, &n)))
		return rc;
	pc->tries = (uint8_t)n;
	n = 10;
	if ((rc = get_int(c, g, "puk_tries", 1, CARD_PIN_TRIES_MAX, &has, &n)))
		return rc;
	if (has && !pc->puk_len)
		return fail(c, member(g, "puk_tries"), "set, but there is no puk");
	pc->puk_tries = (uint8_t)n;
	pc->enabled = true;
	return get_bool(c, g, "enabled", &pc->enabled);
}

static int parse_card_options(struct ctx *c, const config_setting_t *root)
{
	struct card_options *o = &c->p->card.opts;
	int rc;
	bool has;
	long long n = 0;
	if ((rc = get_int(c, root, "logical_channels", 1, CARD_LOGICAL_CHANNELS, &has, &n)))
		return rc;
	if (has) {
		o->channels = (unsigned)n;
	} else {
		/* The ATR's card capabilities say it; without them, TS 102
		 * 221's 20. */
		struct card_atr a;
		char why[8];
		if (card_atr_parse(c->p->card.atr, c->p->card.atr_len, &a, why, sizeof(why)) == 0)
			o->channels = a.channels > 0 ? (unsigned)a.channels : CARD_LOGICAL_CHANNELS;
	}
	c->p->channels_set = has;
	if ((rc = get_bool(c, root, "gsm_class", &o->gsm_class)))
		return rc;

	config_setting_t *l;
	int count;
	if ((rc = get_list(c, root, "pins", CARD_PINS_MAX, "keys", &l, &count)) || !l)
		return rc;
	o->n_pins = 0;
	memset(o->pins, 0, sizeof(o->pins));
	for (int i = 0; i < count; i++) {
		config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		if ((rc = parse_pin(c, g, &o->pins[i])))
			return rc;
		for (int j = 0; j < i; j++)
			if (o->pins[j].ref == o->pins[i].ref)
				return fail(c, member(g, "key"), "%s is declared twice",
					    key_name(o->pins[i].ref));
		o->n_pins++;
	}
	return 0;
}

static int parse_access(struct ctx *c, const config_setting_t *root)
{
	struct card_spec *cs = &c->p->card;
	config_setting_t *l;
	int n;
	int rc = get_list(c, root, "access", PROFILE_FILES_MAX, "entries", &l, &n);
	if (rc || n == 0)
		return rc;
	cs->access = calloc((size_t)n, sizeof(*cs->access));
	if (!cs->access)
		return fail_errno(c, -ENOMEM, "profile");
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		struct card_access_spec *a = &cs->access[i];
		if ((rc = want_type(c, g, CONFIG_TYPE_GROUP)) ||
		    (rc = check_keys(c, g, access_keys)))
			return rc;
		set_origin(c, g, a->origin, sizeof(a->origin));
		const char *v;
		config_setting_t *s;
		struct card_file_spec f;
		memset(&f, 0, sizeof(f));
		if ((rc = get_str(c, g, "path", true, 64, &v, &s)) ||
		    (rc = parse_path(c, s, v, &f)))
			return rc;
		memcpy(a->path, f.path, sizeof(a->path));
		a->path_len = f.path_len;
		if ((rc = get_str(c, g, "read", true, 16, &v, &s)))
			return rc;
		if (strcmp(v, "always") == 0) {
			a->read_key = CARD_AC_ALW;
		} else {
			if ((rc = parse_key(c, s, v, &a->read_key)))
				return rc;
			bool known = false;
			for (size_t k = 0; k < cs->opts.n_pins; k++)
				known = known || cs->opts.pins[k].ref == a->read_key;
			if (!known)
				return fail(c, s, "%s is not among the card's pins", v);
		}
		cs->n_access++;
	}
	return 0;
}

/* ---- card.conf ---------------------------------------------------------------- */

/* libconfig would follow @include to any file on the machine (and report
 * errors against it); a profile is one self-contained text file. NUL bytes
 * would silently end libconfig's input. Line numbers must fit libconfig's
 * 16-bit source lines. */
static int prescan(struct ctx *c, const uint8_t *text, size_t len)
{
	unsigned line = 1;
	bool bol = true;
	const char *why = NULL;
	for (size_t i = 0; i < len && !why; i++) {
		uint8_t ch = text[i];
		if (ch == 0) {
			why = "NUL byte in a text file";
		} else if (ch == '\n') {
			bol = true;
			if (++line > 65535) {
				line = 0;
				why = "more than 65535 lines";
			}
		} else if (bol && ch != ' ' && ch != '\t') {
			bol = false;
			if (len - i >= 8 && memcmp(text + i, "@include", 8) == 0)
				why = "@include is not supported: a profile is one file";
		}
	}
	if (!why)
		return 0;
	return report(c->err, c->conf, (int)line, "%s", why);
}

static int validate_layout(struct ctx *c)
{
	struct card_fs *fs = NULL;
	char why[256] = "";
	int rc = card_layout_build(&c->p->card, &fs, why, sizeof(why));
	card_fs_free(fs);
	if (rc == -ENOMEM)
		return fail_errno(c, rc, "card layout");
	if (!rc)
		return 0;
	/* Layout errors about a files or access entry start with its
	 * origin, "<conf>:<line>: ": report them at that line. */
	size_t n = strlen(c->conf);
	if (strncmp(why, c->conf, n) == 0 && why[n] == ':') {
		char *end;
		long line = strtol(why + n + 1, &end, 10);
		if (end != why + n + 1 && line > 0 && line <= 65535 && end[0] == ':' &&
		    end[1] == ' ') {
			const char *group = "files";
			for (size_t i = 0; i < c->p->card.n_access; i++)
				if (strncmp(c->p->card.access[i].origin, why,
					    (size_t)(end - why)) == 0 &&
				    c->p->card.access[i].origin[end - why] == '\0')
					group = "access";
			return report(c->err, c->conf, (int)line, "%s: %s", group, end + 2);
		}
	}
	return report(c->err, c->conf, 0, "the card cannot be built: %s", why);
}

static int load(struct ctx *c)
{
	struct profile *p = c->p;
	uint8_t *text = NULL;
	size_t len = 0;
	int rc = read_all(p->conf_path, PROFILE_FILE_MAX, &text, &len);
	if (rc) {
		report(c->err, c->conf, 0, "%s", read_error(rc));
		return rc == -ENOENT || rc == -ENOMEM ? rc : -EINVAL;
	}
	if ((rc = prescan(c, text, len))) {
		free(text);
		return rc;
	}

	config_t cfg;
	config_init(&cfg);
	int ok = config_read_string(&cfg, (const char *)text);
	free(text);
	if (!ok) {
		report(c->err, c->conf, config_error_line(&cfg), "%s",
		       config_error_text(&cfg) ? config_error_text(&cfg) : "parse error");
		config_destroy(&cfg);
		return -EINVAL;
	}
	const config_setting_t *root = config_root_setting(&cfg);
	/* Order matters: tls needs the ports, credentials come before the
	 * bootstrap so that messages follow the file's natural order. */
	if (!(rc = check_keys(c, root, root_keys)) && !(rc = parse_identity(c, root)) &&
	    !(rc = parse_scws(c, root)) && !(rc = parse_tls(c, root)) &&
	    !(rc = parse_credentials(c, root)) && !(rc = parse_devids(c, root)) &&
	    !(rc = parse_pkcs15(c, root)) && !(rc = parse_bootstrap(c, root)) &&
	    !(rc = parse_files(c, root)) && !(rc = parse_card_options(c, root)) &&
	    !(rc = parse_access(c, root)))
		rc = validate_layout(c);
	config_destroy(&cfg);
	return rc;
}

int profile_load(const char *dir, struct profile **out, struct profile_error *err)
{
	struct profile_error scratch;
	if (!err)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	*out = NULL;

	struct profile *p = calloc(1, sizeof(*p));
	if (!p) {
		report(err, dir, 0, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	card_spec_init(&p->card);
	p->store = PROFILE_STORE_WBXML;
	p->tls.min_version = TLS1_2_VERSION;
	p->tls.max_version = TLS1_3_VERSION;
	p->tls.security_level = -1;

	struct ctx c = { .p = p, .err = err };
	int rc;
	size_t n = strlen(dir) + sizeof("/" PROFILE_CONF_NAME);
	p->dir = strdup(dir);
	p->conf_path = malloc(n);
	if (!p->dir || !p->conf_path) {
		rc = -ENOMEM;
		report(err, dir, 0, "%s", strerror(ENOMEM));
		goto err;
	}
	/* "cards/default/" must not give "cards/default//card.conf". */
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	snprintf(p->conf_path, n, "%.*s/%s", (int)dl, dir, PROFILE_CONF_NAME);
	p->dir[dl] = '\0';
	c.conf = p->conf_path;
	c.dir = p->dir;

	c.base = realpath(dir, NULL);
	struct stat st;
	if (!c.base || stat(c.base, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = c.base ? -ENOTDIR : -errno;
		report(err, dir, 0, "not a profile directory: %s", strerror(-rc));
		rc = rc == -ENOMEM ? rc : -ENOENT;
		goto err;
	}
	rc = load(&c);
	if (rc)
		goto err;
	free(c.base);
	*out = p;
	return 0;
err:
	free(c.base);
	profile_free(p);
	return rc;
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	free(p->dir);
	free(p->conf_path);
	free(p->name);
	free(p->description);
	card_spec_cleanup(&p->card);
	free(p->bootstrap_source);
	free(p->tls.cert_file);
	free(p->tls.key_file);
	free(p->tls.rsa_cert_file);
	free(p->tls.rsa_key_file);
	struct profile_pem *pems[] = { &p->tls.cert_pem, &p->tls.key_pem, &p->tls.rsa_cert_pem,
				       &p->tls.rsa_key_pem };
	for (size_t i = 0; i < sizeof(pems) / sizeof(pems[0]); i++) {
		if (pems[i]->p)
			OPENSSL_cleanse(pems[i]->p, pems[i]->len);
		free(pems[i]->p);
		pems[i]->p = NULL;
	}
	free(p->tls.psk_identity);
	OPENSSL_cleanse(p->tls.psk_key, sizeof(p->tls.psk_key));
	free(p->tls.cipher_list);
	free(p->tls.ciphersuites);
	free(p->username);
	free_secret(p->passphrase);
	for (size_t i = 0; i < p->n_devid_allow; i++)
		free(p->devid_allow[i]);
	free(p->devid_allow);
	free(p->index_html);
	free(p);
}

const char *profile_error_str(const struct profile_error *err, char *out, size_t cap)
{
	if (!cap)
		return out;
	return perr_where(out, cap, err->file, err->line > 0 ? (unsigned)err->line : 0, "%s",
			  err->msg);
}

/* ---- bootstrap set (control) ---------------------------------------------- */

static int read_small_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct buf b;
	buf_init(&b, max);
	int rc = file_read_all(path, &b);
	if (rc) {
		buf_cleanup(&b);
		return rc;
	}
	*out = buf_take(&b, len);
	if (!*out)
		*out = calloc(1, 1);
	return *out ? 0 : -ENOMEM;
}

int profile_bootstrap_read(const struct profile *p, const char *path, uint8_t **out,
			   size_t *out_len, char *err, size_t errcap)
{
	*out = NULL;
	*out_len = 0;
	if (!p->card.has_bootstrap) {
		snprintf(err, errcap,
			 "card '%s' has no bootstrap EF (bootstrap.store = \"none\"): "
			 "give it a bootstrap in %s",
			 p->name ? p->name : "?", p->conf_path);
		return -ENOENT;
	}
	uint8_t *in = NULL;
	size_t len = 0;
	int rc = read_small_file(path, PROFILE_FILE_MAX, &in, &len);
	if (rc) {
		snprintf(err, errcap, "%s: %s", path,
			 rc == -EMSGSIZE ? "over 1 MiB" : strerror(-rc));
		return rc;
	}
	bool is_xml = codec_is_xml(in, len);
	struct buf xml, res;
	buf_init(&xml, SCWS_CONVERT_MAX);
	buf_init(&res, CARD_EF_SIZE_MAX);
	char why[256];
	int line = 0;
	if (is_xml) {
		rc = buf_append(&xml, in, len);
	} else {
		rc = codec_wbxml_decode(in, len, &xml, why, sizeof(why));
		if (rc) {
			snprintf(err, errcap, "%s: neither XML (no '<' first) nor WBXML: %s", path,
				 why);
			rc = -EINVAL;
			goto out;
		}
	}
	if (rc) {
		snprintf(err, errcap, "%s: %s", path, strerror(-rc));
		goto out;
	}
	rc = codec_xml_check(xml.p, xml.len, &line, why, sizeof(why));
	if (rc) {
		perr_where(err, errcap, path, line > 0 ? (unsigned)line : 0, "%s", why);
		goto out;
	}
	if (p->store == PROFILE_STORE_WBXML && !is_xml)
		rc = buf_append(&res, in, len);
	else if (p->store == PROFILE_STORE_WBXML)
		rc = codec_wbxml_encode(xml.p, xml.len, &res, why, sizeof(why));
	else
		rc = buf_append(&res, xml.p, xml.len);
	if (rc == -EMSGSIZE)
		snprintf(err, errcap, "%s: the %s form is over %u bytes, the largest EF", path,
			 p->store == PROFILE_STORE_WBXML ? "WBXML" : "XML", CARD_EF_SIZE_MAX);
	else if (rc && p->store == PROFILE_STORE_WBXML && is_xml)
		snprintf(err, errcap, "%s: %s (the card stores WBXML)", path, why);
	else if (rc)
		snprintf(err, errcap, "%s: %s", path, strerror(-rc));
	if (!rc) {
		*out = buf_take(&res, out_len);
		if (!*out)
			*out = calloc(1, 1);
		if (!*out) {
			rc = -ENOMEM;
			snprintf(err, errcap, "out of memory");
		}
	}
out:
	free(in);
	buf_cleanup(&xml);
	buf_cleanup(&res);
	return rc;
}
