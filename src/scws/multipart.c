/* multipart.c - streaming multipart/form-data parser (RFC 7578, RFC 2046
 * §5.1.1), in the style of multipart-parser-c.
 *
 * The delimiter is CRLF "--" boundary. The body is scanned as if it began
 * with CRLF, so a dash-boundary at offset 0 matches like any other
 * delimiter. Bytes held back while a delimiter partly matches are always a
 * prefix of the delimiter, and CR occurs in it only at index 0 (bchars have
 * no CR): on a mismatch the held bytes are part data and the scan restarts
 * at the mismatching byte. So the look-behind needs no buffer of its own,
 * and no KMP table. */
#include "scws/multipart.h"

#include "core/strparse.h"
#include "scws/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
	[SCWS_MULTIPART_ST_PREAMBLE] = "PREAMBLE",
	[SCWS_MULTIPART_ST_AFTER_DELIM] = "AFTER_DELIM",
	[SCWS_MULTIPART_ST_PADDING] = "PADDING",
	[SCWS_MULTIPART_ST_DELIM_LF] = "DELIM_LF",
	[SCWS_MULTIPART_ST_CLOSE_DASH] = "CLOSE_DASH",
	[SCWS_MULTIPART_ST_PART_HEAD] = "PART_HEAD",
	[SCWS_MULTIPART_ST_PART_DATA] = "PART_DATA",
	[SCWS_MULTIPART_ST_EPILOGUE] = "EPILOGUE",
	[SCWS_MULTIPART_ST_ERROR] = "ERROR",
};

const char *scws_multipart_state_name(enum scws_multipart_state st)
{
	if ((size_t)st < sizeof(state_names) / sizeof(state_names[0]) && state_names[st])
		return state_names[st];
	return "?";
}

/* ---------------------------------------------------------------- characters */

static bool is_lwsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* bcharsnospace (RFC 2046 §5.1.1). */
static bool is_bchar_nospace(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("'()+_,-./:=?", c) != NULL;
}

static void skip_lwsp(struct bytes v, size_t *pos)
{
	while (*pos < v.len && is_lwsp(v.ptr[*pos]))
		(*pos)++;
}

static struct bytes token_at(struct bytes v, size_t *pos)
{
	size_t s = *pos;
	while (*pos < v.len && scws_http_is_tchar(v.ptr[*pos]))
		(*pos)++;
	return bytes_make(v.ptr + s, *pos - s);
}

/* type "/" subtype, after optional LWSP. */
static int media_type_at(struct bytes v, size_t *pos, struct bytes *type)
{
	skip_lwsp(v, pos);
	size_t s = *pos;
	if (token_at(v, pos).len == 0 || *pos >= v.len || v.ptr[*pos] != '/')
		return -EPROTO;
	(*pos)++;
	if (token_at(v, pos).len == 0)
		return -EPROTO;
	*type = bytes_make(v.ptr + s, *pos - s);
	return 0;
}

struct param {
	struct bytes name;
	struct bytes raw; /* between the quotes, escapes still in, when quoted */
	bool quoted;
};

/* Next `LWSP ";" LWSP name LWSP "=" LWSP value` from *pos, with LWSP
 * allowed around ";" and "=" (doc/protocol.md §6). 1 with *out, 0 at the end
 * (a trailing ";" is tolerated), -EPROTO on a syntax error. */
static int next_param(struct bytes v, size_t *pos, struct param *out)
{
	skip_lwsp(v, pos);
	if (*pos == v.len)
		return 0;
	if (v.ptr[*pos] != ';')
		return -EPROTO;
	(*pos)++;
	skip_lwsp(v, pos);
	if (*pos == v.len)
		return 0;
	out->name = token_at(v, pos);
	if (out->name.len == 0)
		return -EPROTO;
	skip_lwsp(v, pos);
	if (*pos == v.len || v.ptr[*pos] != '=')
		return -EPROTO;
	(*pos)++;
	skip_lwsp(v, pos);
	if (*pos < v.len && v.ptr[*pos] == '"') {
		size_t s = ++(*pos);
		for (;;) {
			if (*pos == v.len)
				return -EPROTO; /* no closing quote */
			uint8_t c = v.ptr[*pos];
			if (c == '"')
				break;
			if (c == '\\' && ++(*pos) == v.len)
				return -EPROTO;
			(*pos)++;
		}
		out->raw = bytes_make(v.ptr + s, *pos - s);
		out->quoted = true;
		(*pos)++;
		return 1;
	}
	/* A token, read leniently up to ";" or LWSP: the bchars that are no
	 * tchars (e.g. "=" ":" "?") appear unquoted in the wild. */
	size_t s = *pos;
	while (*pos < v.len && v.ptr[*pos] > 0x20 && v.ptr[*pos] < 0x7F && v.ptr[*pos] != ';' &&
	       v.ptr[*pos] != '"')
		(*pos)++;
	out->raw = bytes_make(v.ptr + s, *pos - s);
	out->quoted = false;
	return out->raw.len ? 1 : -EPROTO;
}

/* Removes quoted-pair backslashes from p into dst (which may be the same
 * memory: dst never overtakes the source). -EMSGSIZE when over cap. */
static int unquote(const struct param *p, uint8_t *dst, size_t cap, size_t *out_len)
{
	size_t n = 0;
	for (size_t i = 0; i < p->raw.len; i++) {
		uint8_t c = p->raw.ptr[i];
		if (p->quoted && c == '\\')
			c = p->raw.ptr[++i]; /* next_param saw the escaped byte */
		if (n == cap)
			return -EMSGSIZE;
		dst[n++] = c;
	}
	*out_len = n;
	return 0;
}

static const char *printable(struct bytes v, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < v.len && n + 1 < cap; i++)
		out[n++] = (v.ptr[i] >= 0x20 && v.ptr[i] < 0x7F) ? (char)v.ptr[i] : '?';
	out[n] = 0;
	return out;
}

/* ---------------------------------------------------------------- errors */

__attribute__((format(printf, 4, 5))) static int fail(struct scws_multipart *m, int err, int status,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err = perr_vset(&m->e, err, status, fmt, ap);
	va_end(ap);
	m->st = SCWS_MULTIPART_ST_ERROR;
	return err;
}

static int fail_cb(struct scws_multipart *m, int rc)
{
	return fail(m, rc, 400, "form handler stopped at part %u (error %d)", m->parts, rc);
}

/* ---------------------------------------------------------------- Content-Type */

int scws_multipart_init(struct scws_multipart *m, struct bytes content_type,
			const struct scws_multipart_callbacks *cb, void *arg)
{
	memset(m, 0, sizeof(*m));
	if (cb)
		m->cb = *cb;
	m->arg = arg;
	m->st = SCWS_MULTIPART_ST_PREAMBLE;
	/* Pretend the body starts with CRLF: the first dash-boundary may sit
	 * at offset 0 (RFC 2046 §5.1.1 multipart-body). */
	m->match = 2;
	m->in_preamble = true;

	struct bytes v = content_type;
	size_t pos = 0;
	struct bytes type;
	char shown[48];
	if (v.len == 0)
		return fail(m, -EMEDIUMTYPE, 415, "no Content-Type, multipart/form-data expected");
	if (media_type_at(v, &pos, &type) || !ascii_eq_ci(type, "multipart/form-data"))
		return fail(m, -EMEDIUMTYPE, 415, "Content-Type \"%s\" is not multipart/form-data",
			    printable(v, shown, sizeof(shown)));

	uint8_t *b = m->delim + 4;
	size_t blen = 0;
	bool has_boundary = false;
	struct param prm;
	int rc;
	while ((rc = next_param(v, &pos, &prm)) == 1) {
		if (!ascii_eq_ci(prm.name, "boundary"))
			continue;
		if (has_boundary)
			return fail(m, -EPROTO, 400, "Content-Type has two boundary parameters");
		has_boundary = true;
		if (unquote(&prm, b, MULTIPART_BOUNDARY_MAX, &blen))
			return fail(m, -EPROTO, 400, "boundary over %u characters",
				    MULTIPART_BOUNDARY_MAX);
	}
	if (rc < 0)
		return fail(m, -EPROTO, 400, "malformed Content-Type parameters");
	if (!has_boundary)
		return fail(m, -EPROTO, 400, "Content-Type has no boundary parameter");
	if (blen == 0)
		return fail(m, -EPROTO, 400, "empty boundary");
	for (size_t i = 0; i < blen; i++)
		if (!is_bchar_nospace(b[i]) && b[i] != ' ')
			return fail(m, -EPROTO, 400,
				    "boundary has a character outside RFC 2046 bchars");
	if (b[blen - 1] == ' ')
		return fail(m, -EPROTO, 400, "boundary ends in a space");
	memcpy(m->delim, "\r\n--", 4);
	m->delim_len = 4 + blen;
	return 0;
}

void scws_multipart_cleanup(struct scws_multipart *m)
{
	(void)m;
}

struct bytes scws_multipart_boundary(const struct scws_multipart *m)
{
	if (m->delim_len < 4)
		return bytes_make(m->delim, 0);
	return bytes_make(m->delim + 4, m->delim_len - 4);
}

int scws_multipart_status(const struct scws_multipart *m)
{
	return m->e.status;
}

const char *scws_multipart_reason(const struct scws_multipart *m)
{
	return m->e.reason;
}

/* ---------------------------------------------------------------- part headers */

static int no_name(struct scws_multipart *m)
{
	return fail(m, -EPROTO, 400, "part %u has no Content-Disposition: form-data; name=...",
		    m->parts);
}

/* Unquotes a parameter in place: the head buffer is ours. */
static struct bytes unquote_in_place(struct scws_multipart *m, const struct param *prm)
{
	uint8_t *w = m->head + (prm->raw.ptr - m->head);
	size_t n = 0;
	(void)unquote(prm, w, prm->raw.len, &n); /* shrinks: cannot overflow */
	return bytes_make(w, n);
}

/* disposition = "form-data" *( ";" parameter ) (RFC 7578 §4.2). */
static int parse_disposition(struct scws_multipart *m, struct bytes v, bool *has_name)
{
	size_t pos = 0;
	skip_lwsp(v, &pos);
	if (!ascii_eq_ci(token_at(v, &pos), "form-data"))
		return no_name(m);
	struct param prm;
	int rc;
	bool has_filename = false;
	while ((rc = next_param(v, &pos, &prm)) == 1) {
		if (ascii_eq_ci(prm.name, "name")) {
			if (*has_name)
				return fail(m, -EPROTO, 400, "part %u has two name parameters",
					    m->parts);
			*has_name = true;
			m->part.name = unquote_in_place(m, &prm);
		} else if (ascii_eq_ci(prm.name, "filename")) {
			if (has_filename)
				return fail(m, -EPROTO, 400, "part %u has two filename parameters",
					    m->parts);
			has_filename = true;
			m->part.has_filename = true;
			m->part.filename = unquote_in_place(m, &prm);
		}
	}
	if (rc < 0)
		return fail(m, -EPROTO, 400, "part %u has a malformed Content-Disposition",
			    m->parts);
	return 0;
}

static int parse_part_type(struct scws_multipart *m, struct bytes v)
{
	size_t pos = 0;
	struct param prm;
	int rc;
	if (media_type_at(v, &pos, &m->part.content_type))
		return fail(m, -EPROTO, 400, "part %u has a malformed Content-Type", m->parts);
	while ((rc = next_param(v, &pos, &prm)) == 1)
		if (ascii_eq_ci(prm.name, "charset"))
			m->part.charset = unquote_in_place(m, &prm);
	if (rc < 0)
		return fail(m, -EPROTO, 400, "part %u has a malformed Content-Type", m->parts);
	return 0;
}

/* The part's header lines are in head[], each ending in CRLF, the last one
 * empty. RFC 7578 §4.8: only Content-Disposition, Content-Type and
 * Content-Transfer-Encoding may appear; others MUST be ignored. */
static int parse_part_head(struct scws_multipart *m)
{
	size_t pos = 0;
	bool has_disposition = false, has_type = false, has_name = false;
	int rc;
	for (;;) {
		const uint8_t *s = m->head + pos;
		const uint8_t *lf = memchr(s, '\n', m->head_len - pos);
		size_t n = (size_t)(lf - s) - 1; /* CR checked when copied */
		pos += n + 2;
		if (n == 0)
			break;
		struct bytes line = bytes_make(s, n);
		if (memchr(s, '\r', n))
			return fail(m, -EPROTO, 400, "bare CR in part %u headers", m->parts);
		if (memchr(s, 0, n))
			return fail(m, -EPROTO, 400, "NUL in part %u headers", m->parts);
		if (is_lwsp(s[0]))
			return fail(m, -EPROTO, 400, "folded header line in part %u", m->parts);
		size_t i = 0;
		struct bytes name = token_at(line, &i);
		if (name.len == 0 || i == n || line.ptr[i] != ':')
			return fail(m, -EPROTO, 400, "malformed header line in part %u", m->parts);
		struct bytes v = bytes_make(s + i + 1, n - i - 1);
		while (v.len && is_lwsp(v.ptr[0])) {
			v.ptr++;
			v.len--;
		}
		while (v.len && is_lwsp(v.ptr[v.len - 1]))
			v.len--;
		if (ascii_eq_ci(name, "Content-Disposition")) {
			if (has_disposition)
				return fail(m, -EPROTO, 400,
					    "part %u has two Content-Disposition "
					    "headers",
					    m->parts);
			has_disposition = true;
			rc = parse_disposition(m, v, &has_name);
		} else if (ascii_eq_ci(name, "Content-Type")) {
			if (has_type)
				return fail(m, -EPROTO, 400, "part %u has two Content-Type headers",
					    m->parts);
			has_type = true;
			rc = parse_part_type(m, v);
		} else {
			rc = 0;
		}
		if (rc)
			return rc;
	}
	if (!has_name)
		return no_name(m);
	return 0;
}

/* ---------------------------------------------------------------- body */

static int emit(struct scws_multipart *m, const uint8_t *data, size_t len)
{
	if (len == 0 || !m->cb.on_part_data)
		return 0;
	int rc = m->cb.on_part_data(m->arg, &m->part, data, len);
	return rc < 0 ? fail_cb(m, rc) : 0;
}

static int delimiter_found(struct scws_multipart *m)
{
	m->in_preamble = m->st == SCWS_MULTIPART_ST_PREAMBLE;
	if (m->st == SCWS_MULTIPART_ST_PART_DATA && m->cb.on_part_end) {
		int rc = m->cb.on_part_end(m->arg, &m->part);
		if (rc < 0)
			return fail_cb(m, rc);
	}
	m->st = SCWS_MULTIPART_ST_AFTER_DELIM;
	return 0;
}

/* Looks for the delimiter in PREAMBLE (bytes dropped) and PART_DATA (bytes
 * delivered). Stops right after a delimiter. */
static int scan(struct scws_multipart *m, const uint8_t *in, size_t len, size_t *pi)
{
	bool is_data = m->st == SCWS_MULTIPART_ST_PART_DATA;
	size_t i = *pi;
	int rc = 0;
	while (i < len) {
		if (m->match == 0) {
			const uint8_t *cr = memchr(in + i, '\r', len - i);
			size_t n = cr ? (size_t)(cr - (in + i)) : len - i;
			if (is_data)
				rc = emit(m, in + i, n);
			i += n;
			if (rc || !cr)
				break;
			m->match = 1;
			i++;
			continue;
		}
		if (in[i] == m->delim[m->match]) {
			i++;
			if (++m->match == m->delim_len) {
				m->match = 0;
				rc = delimiter_found(m);
				break;
			}
			continue;
		}
		/* Not a delimiter after all: what was held is data, and in[i]
		 * is looked at again from a clean state. */
		if (is_data)
			rc = emit(m, m->delim, m->match);
		m->match = 0;
		if (rc)
			break;
	}
	*pi = i;
	return rc;
}

static int begin_part(struct scws_multipart *m)
{
	if (m->parts == MULTIPART_PARTS_MAX)
		return fail(m, -EMSGSIZE, 400, "more than %u parts", MULTIPART_PARTS_MAX);
	m->parts++;
	memset(&m->part, 0, sizeof(m->part));
	m->part.index = m->parts;
	m->head_len = 0;
	m->line_start = 0;
	m->st = SCWS_MULTIPART_ST_PART_HEAD;
	return 0;
}

/* A byte that cannot follow "--" boundary. In the preamble that line was
 * no delimiter after all; inside the body RFC 2046 forbids such a line. */
static int after_delim_junk(struct scws_multipart *m, uint8_t c)
{
	if (c == '\n')
		return fail(m, -EPROTO, 400, "bare LF after a boundary delimiter (CRLF required)");
	if (m->in_preamble) {
		m->st = SCWS_MULTIPART_ST_PREAMBLE;
		m->match = c == '\r' ? 1 : 0;
		return 0;
	}
	return fail(m, -EPROTO, 400, "unexpected bytes after a boundary delimiter");
}

/* transport-padding CRLF, or "--" (RFC 2046 §5.1.1). */
static int delim_tail_byte(struct scws_multipart *m, uint8_t c)
{
	switch (m->st) {
	case SCWS_MULTIPART_ST_AFTER_DELIM:
		if (c == '-') {
			m->st = SCWS_MULTIPART_ST_CLOSE_DASH;
			return 0;
		}
		__attribute__((fallthrough));
	case SCWS_MULTIPART_ST_PADDING:
		if (is_lwsp(c)) {
			m->st = SCWS_MULTIPART_ST_PADDING;
			return 0;
		}
		if (c == '\r') {
			m->st = SCWS_MULTIPART_ST_DELIM_LF;
			return 0;
		}
		return after_delim_junk(m, c);
	case SCWS_MULTIPART_ST_DELIM_LF:
		if (c == '\n')
			return begin_part(m);
		return after_delim_junk(m, c);
	case SCWS_MULTIPART_ST_CLOSE_DASH:
		if (c == '-') {
			m->st = SCWS_MULTIPART_ST_EPILOGUE;
			return 0;
		}
		return after_delim_junk(m, c);
	default:
		return fail(m, -EBADFD, 400, "multipart parser in state %s",
			    scws_multipart_state_name(m->st));
	}
}

/* Copies part header lines up to the empty line, within
 * MULTIPART_PART_HEAD_MAX, then parses them. */
static int head_bytes(struct scws_multipart *m, const uint8_t *in, size_t len, size_t *pi)
{
	size_t i = *pi;
	while (i < len) {
		const uint8_t *lf = memchr(in + i, '\n', len - i);
		size_t take = lf ? (size_t)(lf - (in + i)) + 1 : len - i;
		if (take > MULTIPART_PART_HEAD_MAX - m->head_len) {
			*pi = i;
			return fail(m, -EMSGSIZE, 400, "part %u headers over %u bytes", m->parts,
				    MULTIPART_PART_HEAD_MAX);
		}
		memcpy(m->head + m->head_len, in + i, take);
		m->head_len += take;
		i += take;
		if (!lf)
			break;
		size_t line_len = m->head_len - m->line_start;
		m->line_start = m->head_len;
		if (line_len < 2 || m->head[m->head_len - 2] != '\r') {
			*pi = i;
			return fail(m, -EPROTO, 400, "bare LF in part %u headers (CRLF required)",
				    m->parts);
		}
		if (line_len == 2) {
			*pi = i;
			int rc = parse_part_head(m);
			if (rc)
				return rc;
			m->st = SCWS_MULTIPART_ST_PART_DATA;
			m->match = 0;
			if (m->cb.on_part_begin) {
				rc = m->cb.on_part_begin(m->arg, &m->part);
				if (rc < 0)
					return fail_cb(m, rc);
			}
			return 0;
		}
	}
	*pi = i;
	return 0;
}

int scws_multipart_feed(struct scws_multipart *m, const uint8_t *in, size_t len, size_t *used)
{
	size_t i = 0;
	int rc = 0;
	*used = 0;
	if (m->st == SCWS_MULTIPART_ST_ERROR)
		return m->e.err;
	while (i < len && rc == 0) {
		switch (m->st) {
		case SCWS_MULTIPART_ST_PREAMBLE:
		case SCWS_MULTIPART_ST_PART_DATA:
			rc = scan(m, in, len, &i);
			break;
		case SCWS_MULTIPART_ST_PART_HEAD:
			rc = head_bytes(m, in, len, &i);
			break;
		case SCWS_MULTIPART_ST_EPILOGUE:
			i = len;
			break;
		default:
			rc = delim_tail_byte(m, in[i++]);
			break;
		}
	}
	*used = i;
	if (rc)
		return rc;
	return m->st == SCWS_MULTIPART_ST_EPILOGUE ? 0 : -EAGAIN;
}

int scws_multipart_end(struct scws_multipart *m)
{
	switch (m->st) {
	case SCWS_MULTIPART_ST_EPILOGUE:
		return 0;
	case SCWS_MULTIPART_ST_ERROR:
		return m->e.err;
	case SCWS_MULTIPART_ST_PREAMBLE:
		if (m->parts == 0)
			return fail(m, -EPROTO, 400, "no boundary delimiter in the body");
		__attribute__((fallthrough));
	default:
		return fail(m, -EPROTO, 400, "body ends before the close delimiter");
	}
}
