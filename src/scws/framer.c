/* framer.c - see framer.h. */
#include "config.h"

#include "scws/framer.h"

#include <errno.h>
#include <string.h>

static void start(struct scws_framer *f, enum scws_framer_mode mode)
{
	f->mode = mode;
	f->length = 0;
	f->remaining = 0;
	f->total = 0;
	perr_clear(&f->e);
}

void scws_framer_length(struct scws_framer *f, uint64_t length)
{
	start(f, SCWS_FRAMER_LENGTH);
	f->length = length;
	f->remaining = length;
}

void scws_framer_chunked(struct scws_framer *f, uint64_t max, const char *body_name)
{
	start(f, SCWS_FRAMER_CHUNKED);
	scws_chunked_init(&f->chunked, max, body_name);
}

void scws_framer_until_close(struct scws_framer *f)
{
	start(f, SCWS_FRAMER_UNTIL_CLOSE);
}

const struct perr *scws_framer_err(const struct scws_framer *f)
{
	return f->mode == SCWS_FRAMER_CHUNKED ? &f->chunked.e : &f->e;
}

/* n bytes of body data at in: counted, then to on_data. */
static int data(struct scws_framer *f, const uint8_t *in, size_t n, scws_chunked_data_fn *on_data,
		void *arg)
{
	f->total += n;
	if (!n || !on_data)
		return 0;
	int rc = on_data(arg, in, n);
	/* The caller's own error: it has the reason. */
	return rc < 0 ? perr_set(&f->e, rc, 0, "%s", "") : 0;
}

int scws_framer_feed(struct scws_framer *f, const uint8_t *in, size_t len, size_t *used,
		     scws_chunked_data_fn *on_data, void *arg)
{
	*used = 0;
	if (f->mode != SCWS_FRAMER_CHUNKED && f->e.set)
		return f->e.err;
	switch (f->mode) {
	case SCWS_FRAMER_CHUNKED:
		return scws_chunked_feed(&f->chunked, in, len, used, on_data, arg);
	case SCWS_FRAMER_UNTIL_CLOSE:
		if (len > UINT64_MAX - f->total)
			return perr_set(&f->e, -EPROTO, 400, "body length overflow");
		*used = len;
		if (data(f, in, len, on_data, arg))
			return f->e.err;
		return -EAGAIN;
	case SCWS_FRAMER_LENGTH: {
		size_t n = len;
		if (n > f->remaining)
			n = (size_t)f->remaining;
		f->remaining -= n;
		*used = n;
		if (data(f, in, n, on_data, arg))
			return f->e.err;
		return f->remaining == 0 ? 0 : -EAGAIN;
	}
	default:
		return perr_set(&f->e, -EBADFD, 500, "body framer not started");
	}
}

int scws_framer_drive(struct scws_framer *f, const struct scws_msg_ops *ops, void *parser,
		      const uint8_t *in, size_t len, size_t *used)
{
	static const uint8_t none;
	size_t pos = 0;
	int rc = -EAGAIN;
	if (!in || !len) {
		in = &none; /* no pointer arithmetic on NULL */
		len = 0;
	}
	for (;;) {
		enum scws_msg_phase ph = ops->phase(parser);
		size_t n = 0;
		if (ph == SCWS_MSG_DONE) {
			rc = 0;
			break;
		}
		if (ph == SCWS_MSG_HEAD) {
			rc = ops->head(parser, in + pos, len - pos, &n);
			pos += n;
			if (rc)
				break;
			continue;
		}
		if (pos == len) {
			rc = -EAGAIN;
			break;
		}
		rc = scws_framer_feed(f, in + pos, len - pos, &n, ops->on_data, parser);
		pos += n;
		if (rc != -EAGAIN) {
			rc = ops->body_end(parser, rc);
			if (rc)
				break;
		} else {
			break;
		}
	}
	*used = pos;
	return rc;
}
