/* bootstrap.h - the SCWS request handlers: router, the DM bootstrap
 * endpoint /OMA/DM/Bootstrap.xml (OMA DM Bootstrap over an SCWS, GET and
 * the multipart/form-data POST of RFC 7578;
 * doc/design.md §5) and the card's index page "/".
 *
 * Sans-I/O. A connection (scws/conn.c) drives one request at a time:
 *
 *	scws_bootstrap_head(r, ...)    from the HTTP parser's on_head
 *	scws_bootstrap_body(r, ...)    each body piece, when head said READ_BODY
 *	scws_bootstrap_answer(r, ...)  the request is complete (or is answered
 *	                               from its head): the response into out
 *	scws_bootstrap_req_cleanup(r)  wipes the form values
 *
 * The answer is taken at scws_bootstrap_answer() time against the server's
 * card at that moment (a reload between head and answer applies at once).
 *
 * Decisions (doc/design.md §5 leaves them open):
 * - Routing: the path is the request-target up to '?' (absolute-form
 *   targets are reduced to their path), percent-decoded for unreserved
 *   characters (/OMA/DM/Bootstrap%2Exml is the bootstrap; other %XX stay
 *   encoded). A malformed '%', %2F, %00, a NUL or a ".." segment is 400
 *   naming which. On a plain-HTTP port the bootstrap
 *   is 403 whatever the method; then 405 (Allow), then 415/400 from the
 *   Content-Type of a POST: all decided from the head.
 * - A form field sent twice is 400 ("field 'devid' sent more than once"):
 *   two values of an authentication field are ambiguous, and picking one
 *   is how request smuggling starts.
 * - Form checks, in this order, first failure answers: the multipart body
 *   itself, field sizes, devid missing/empty/malformed, username without
 *   passphrase, passphrase not base64 (RFC 4648 §4 with padding, strict:
 *   no whitespace, no bits after the last byte), push-address not a URI.
 *   Then credentials (403), the allow-list (404), the bootstrap (404), the
 *   Accept negotiation (406), 200.
 * - A devid matches the allow-list with its scheme in any case and its
 *   value byte for byte ("imei:1" is "IMEI:1").
 * - The push-address is stored once the form and the credentials are
 *   accepted and the devid is allowed (so a refused client cannot plant
 *   one), whether or not a bootstrap is then found.
 * - Accept: absent (or without one valid element) gives the stored form;
 *   otherwise each form gets the q of its most specific matching range
 *   (type/subtype, then application/STAR, then STAR/STAR, STAR being '*');
 *   the other form is sent, converted, only when its q is higher than the
 *   stored one's; both at 0 or unlisted is 406. */
#ifndef SCWS_SCWS_BOOTSTRAP_H
#define SCWS_SCWS_BOOTSTRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/perr.h"
#include "scws/http.h"
#include "scws/multipart.h"

struct scws_server;

#define SCWS_BOOTSTRAP_PATH "/OMA/DM/Bootstrap.xml"
#define SCWS_BOOTSTRAP_TYPE_WBXML "application/vnd.syncml.dm+wbxml"
#define SCWS_BOOTSTRAP_TYPE_XML "application/vnd.syncml.dm+xml"

/* The form fields the endpoint knows (names compared byte-exactly). */
enum scws_bootstrap_field_id {
	SCWS_BOOTSTRAP_F_DEVID,
	SCWS_BOOTSTRAP_F_USERNAME,
	SCWS_BOOTSTRAP_F_PASSPHRASE,
	SCWS_BOOTSTRAP_F_PUSH_ADDRESS,
	SCWS_BOOTSTRAP_F_COUNT,
};

struct scws_bootstrap_field {
	uint8_t v[SCWS_FIELD_MAX + 1]; /* value, NUL-terminated (may hold NULs) */
	size_t len;                    /* len <= SCWS_FIELD_MAX */
	bool seen;
};

enum scws_bootstrap_route {
	SCWS_BOOTSTRAP_ROUTE_NONE,
	SCWS_BOOTSTRAP_ROUTE_BOOTSTRAP,
	SCWS_BOOTSTRAP_ROUTE_INDEX,
};

/* One request's state. Embedded in the connection; no heap. */
struct scws_bootstrap_req {
	enum scws_bootstrap_route route;
	struct perr decided; /* set: answer decided from the head (status, one-line body) */
	const char *allow;   /* Allow of that answer (405), or NULL */

	bool is_form; /* a form POST: the body goes to mp */
	struct scws_multipart mp;
	struct scws_bootstrap_field f[SCWS_BOOTSTRAP_F_COUNT];
	int cur;          /* field of the current part, -1: ignored part */
	struct perr form; /* set: the form is refused (reason; the first one) */

	/* Every part of the form as it came, for the journal (no values). */
	struct {
		char name[40];
		char content_type[64]; /* "" when the part had none */
		size_t size;
	} parts[MULTIPART_PARTS_MAX];
	size_t n_parts; /* n_parts <= MULTIPART_PARTS_MAX */
	int part;       /* index in parts of the current part, -1: none */

	/* For the request log line: printable, cut to size. */
	char path[128];
	bool has_query;
	char devid[96];    /* "" when no devid came */
	char fields[48];   /* optional fields that came, "username,passphrase" */
	char ignored[128]; /* names of unknown fields, comma-separated */
	char detail[192];  /* why a bootstrap was not served, "" otherwise */
	int fault_body;    /* enum scws_fault_body for the 200 (set by the conn) */

	/* Set by the connection before scws_bootstrap_answer(): who asks, and
	 * when, for throttling failed credential attempts. */
	const char *peer; /* "127.0.0.1:50000", "[::1]:1", "channel 3"; NULL: none */
	uint64_t now_ms;
};

/* What the answer was, for the log line. */
struct scws_bootstrap_result {
	int status;
	size_t body_len;        /* body bytes written (0 for HEAD) */
	bool close;             /* the response says Connection: close */
	unsigned retry_after_s; /* the Retry-After it carries, seconds; 0: none */
	char reason[256];       /* the error body without its newline; "" for 2xx */
};

enum scws_bootstrap_next {
	SCWS_BOOTSTRAP_READ_BODY, /* a form POST: stream the body (send 100 Continue if asked) */
	SCWS_BOOTSTRAP_DECIDED,   /* the head decides: skip the body, then answer */
};

void scws_bootstrap_req_init(struct scws_bootstrap_req *r);
/* Wipes the field values (a passphrase may be among them). */
void scws_bootstrap_req_cleanup(struct scws_bootstrap_req *r);

/* Routes the request (r is re-initialised first). https: the connection
 * is HTTPS (the bootstrap is not served over plain HTTP). req is borrowed
 * for the call only. */
enum scws_bootstrap_next scws_bootstrap_head(struct scws_bootstrap_req *r,
					     const struct scws_http_req *req, bool https);
/* The same with the endpoint at bootstrap_path instead of
 * SCWS_BOOTSTRAP_PATH (a Bootstrap Server's "/bootstrap"). */
enum scws_bootstrap_next scws_bootstrap_head_at(struct scws_bootstrap_req *r,
						const struct scws_http_req *req, bool https,
						const char *bootstrap_path);

/* A piece of the request body (decoded, in order). Errors are kept for
 * the answer; the rest of the body is then ignored. */
void scws_bootstrap_body(struct scws_bootstrap_req *r, const uint8_t *data, size_t len);

/* Writes the whole response to req into out (appended). close: answer
 * with Connection: close whatever the request asked. Walks the card for
 * the bootstrap when the answer needs it. 0, or a negative errno when the
 * response does not fit out (-EMSGSIZE) or memory ran out; out is then
 * left as it was. res is always filled. */
__attribute__((warn_unused_result)) int scws_bootstrap_answer(struct scws_bootstrap_req *r,
							      struct scws_server *srv,
							      const struct scws_http_req *req,
							      bool close, struct buf *out,
							      struct scws_bootstrap_result *res);

/* Strict base64 (RFC 4648 §4, padded, no whitespace, unused bits zero).
 * 0 and *out_len; -EINVAL for anything else; -EMSGSIZE when cap is short. */
__attribute__((warn_unused_result)) int scws_bootstrap_base64_decode(const uint8_t *in, size_t len,
								     uint8_t *out, size_t cap,
								     size_t *out_len);

/* NULL when in[0..len) is canonical base64 (what
 * scws_bootstrap_base64_decode() accepts), else what is wrong with it, e.g.
 * "not padded: 22 characters, not a multiple of 4" (never quotes the
 * input: it is a passphrase). */
const char *scws_bootstrap_base64_problem(const uint8_t *in, size_t len, char *why, size_t cap);

/* "scheme:value": scheme ALPHA *(ALPHA / DIGIT / "+" / "-" / "."), value
 * non-empty printable ASCII without spaces. */
bool scws_bootstrap_devid_ok(const uint8_t *s, size_t len);

/* A URI as far as the endpoint checks it: scheme ":" and a non-empty rest
 * of printable ASCII without spaces. */
bool scws_bootstrap_uri_ok(const uint8_t *s, size_t len);

#endif
