/* cat_msg.c - CAT / BIP message codec (ETSI TS 102 223 §6-§8 and Annex C,
 * TS 101 220 §7; byte layouts of doc/protocol.md §1.3-§1.13). */
#include "card/cat_msg.h"

#include <errno.h>
#include <string.h>

#include "codec/tlv.h"

/* The C-TLVs this codec knows, with the value lengths each may have
 * (TS 102 223 §8: command details 3, device identities 2, channel status
 * 2, buffer size 2, channel data length 1, transport level = protocol
 * type + port). */
enum known {
	K_DETAILS,
	K_DEVICES,
	K_RESULT,
	K_ALPHA,
	K_EVENTS,
	K_BEARER,
	K_DATA,
	K_DATA_LEN,
	K_STATUS,
	K_BUFFER_SIZE,
	K_TRANSPORT,
	K_DURATION,
	K_COUNT
};

static const struct {
	uint8_t tag;
	uint8_t min, max;
} known_tags[K_COUNT] = {
	[K_DETAILS] = { CAT_TAG_COMMAND_DETAILS, 3, 3 },
	[K_DEVICES] = { CAT_TAG_DEVICE_IDENTITIES, 2, 2 },
	[K_RESULT] = { CAT_TAG_RESULT, 1, 255 },
	[K_ALPHA] = { CAT_TAG_ALPHA_ID, 0, 255 },
	[K_EVENTS] = { CAT_TAG_EVENT_LIST, 0, 255 },
	[K_BEARER] = { CAT_TAG_BEARER_DESCRIPTION, 1, 255 },
	[K_DATA] = { CAT_TAG_CHANNEL_DATA, 0, 255 },
	[K_DATA_LEN] = { CAT_TAG_CHANNEL_DATA_LENGTH, 1, 1 },
	[K_STATUS] = { CAT_TAG_CHANNEL_STATUS, 2, 2 },
	[K_BUFFER_SIZE] = { CAT_TAG_BUFFER_SIZE, 2, 2 },
	[K_TRANSPORT] = { CAT_TAG_TRANSPORT_LEVEL, 3, 3 },
	[K_DURATION] = { CAT_TAG_DURATION, 2, 2 },
};

uint32_t card_cat_duration_ms(struct card_cat_duration d)
{
	static const uint32_t unit_ms[] = {
		[CAT_DURATION_MINUTES] = 60000,
		[CAT_DURATION_SECONDS] = 1000,
		[CAT_DURATION_TENTHS] = 100,
	};
	if (d.unit >= sizeof(unit_ms) / sizeof(unit_ms[0]))
		return 0;
	return unit_ms[d.unit] * d.interval;
}

struct card_cat_duration card_cat_duration_from_ms(uint32_t ms)
{
	static const struct {
		uint8_t unit;
		uint32_t ms;
	} units[] = {
		{ CAT_DURATION_TENTHS, 100 },
		{ CAT_DURATION_SECONDS, 1000 },
		{ CAT_DURATION_MINUTES, 60000 },
	};
	struct card_cat_duration d = { CAT_DURATION_MINUTES, 0xFF };
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint32_t n = ms / units[i].ms + (ms % units[i].ms != 0);
		if (n <= 0xFF) {
			d.unit = units[i].unit;
			d.interval = (uint8_t)(n ? n : 1);
			break;
		}
	}
	return d;
}

/* A C-TLV list split by tag: the first value of each known tag, every
 * Channel status. */
struct ctlv_set {
	bool has[K_COUNT];
	struct bytes v[K_COUNT];
	size_t n_status;
	uint16_t status[CAT_BIP_CHANNELS_MAX];
	unsigned unknown;
};

/* The K_ index of a C-TLV tag (without the CR bit), -1 for another. */
static int known_index(uint16_t tag)
{
	for (int i = 0; i < K_COUNT; i++)
		if (known_tags[i].tag == tag)
			return i;
	return -1;
}

static int split_ctlvs(const uint8_t *p, size_t len, struct ctlv_set *s)
{
	struct rd r;
	memset(s, 0, sizeof(*s));
	rd_init(&r, p, len);
	while (rd_left(&r)) {
		struct codec_ctlv t;
		if (codec_ctlv_read(&r, 0, &t))
			return -EPROTO;
		int k = t.long_tag ? -1 : known_index(t.tag);
		if (k < 0) {
			s->unknown++;
			continue;
		}
		if (t.value.len < known_tags[k].min || t.value.len > known_tags[k].max)
			return -EPROTO;
		if (k == K_STATUS) {
			if (s->n_status == CAT_BIP_CHANNELS_MAX)
				return -EMSGSIZE;
			s->status[s->n_status++] =
				(uint16_t)((t.value.ptr[0] << 8) | t.value.ptr[1]);
		}
		if (!s->has[k]) {
			s->has[k] = true;
			s->v[k] = t.value;
		}
	}
	return 0;
}

static const struct card_cat_cmd_spec cmd_specs[] = {
	{ CAT_CMD_SET_UP_EVENT_LIST, CAT_DST_TERMINAL, { CAT_TAG_EVENT_LIST }, CAT_TAG_EVENT_LIST },
	/* Client-mode objects are understood so that such a command gets 30
	 * (beyond capabilities), not 32: bearer, other address, network access
	 * name, text strings (login, password), duration. */
	{ CAT_CMD_OPEN_CHANNEL,
	  CAT_DST_TERMINAL,
	  { CAT_TAG_BUFFER_SIZE, CAT_TAG_TRANSPORT_LEVEL, CAT_TAG_BEARER_DESCRIPTION,
	    CAT_TAG_OTHER_ADDRESS, CAT_TAG_NETWORK_ACCESS_NAME, CAT_TAG_TEXT_STRING,
	    CAT_TAG_DURATION },
	  CAT_TAG_BUFFER_SIZE },
	{ CAT_CMD_CLOSE_CHANNEL, CAT_DST_CHANNEL, { 0 }, 0 },
	{ CAT_CMD_RECEIVE_DATA,
	  CAT_DST_CHANNEL,
	  { CAT_TAG_CHANNEL_DATA_LENGTH },
	  CAT_TAG_CHANNEL_DATA_LENGTH },
	{ CAT_CMD_SEND_DATA, CAT_DST_CHANNEL, { CAT_TAG_CHANNEL_DATA }, CAT_TAG_CHANNEL_DATA },
	{ CAT_CMD_GET_CHANNEL_STATUS, CAT_DST_TERMINAL, { 0 }, 0 },
	/* A card retrying a refused OPEN CHANNEL asks to be polled (§6.4.6-7). */
	{ CAT_CMD_POLL_INTERVAL, CAT_DST_TERMINAL, { CAT_TAG_DURATION }, CAT_TAG_DURATION },
	{ CAT_CMD_POLLING_OFF, CAT_DST_TERMINAL, { 0 }, 0 },
};

const struct card_cat_cmd_spec *card_cat_cmd_spec(uint8_t type)
{
	for (size_t i = 0; i < sizeof(cmd_specs) / sizeof(cmd_specs[0]); i++)
		if (cmd_specs[i].type == type)
			return &cmd_specs[i];
	return NULL;
}

bool card_cat_cmd_allows(const struct card_cat_cmd_spec *s, uint16_t tag)
{
	if (tag == CAT_TAG_ALPHA_ID || tag == CAT_TAG_ICON_ID || tag == CAT_TAG_TEXT_ATTRIBUTE ||
	    tag == CAT_TAG_FRAME_ID)
		return true;
	for (size_t i = 0; i < sizeof(s->allowed) && s->allowed[i]; i++)
		if (s->allowed[i] == tag)
			return true;
	return false;
}

static uint16_t be16(struct bytes v)
{
	return (uint16_t)((v.ptr[0] << 8) | v.ptr[1]);
}

/* One CAT BER-TLV filling p[0..len) exactly: a 1-byte tag, length 00-7F
 * or 81 xx (TS 102 223 Annex C; CAT objects stay under 256 bytes, so the
 * longer forms Wireshark tolerates are refused). */
static int split_ber(const uint8_t *p, size_t len, uint8_t *tag, struct bytes *value)
{
	size_t hdr = 2, vlen;
	if (len < 2)
		return -EPROTO;
	*tag = p[0];
	/* 1-byte tags only: low 5 bits 11111 would announce a longer tag. */
	if ((p[0] & 0x1F) == 0x1F || p[0] == 0x00 || p[0] == 0xFF)
		return -EPROTO;
	vlen = p[1];
	if (vlen == 0x81) {
		if (len < 3)
			return -EPROTO;
		vlen = p[2];
		hdr = 3;
	} else if (vlen >= 0x80) {
		return -EPROTO;
	}
	if (len - hdr != vlen)
		return -EPROTO;
	*value = bytes_make(p + hdr, vlen);
	return 0;
}

/* Writes tag, length and body into out; -EMSGSIZE over max or cap. */
static int wrap_ber(uint8_t tag, const struct wr *body, size_t max, uint8_t *out, size_t cap,
		    size_t *out_len)
{
	struct wr w;
	if (body->failed || body->len > 0xFF)
		return -EMSGSIZE;
	size_t total = body->len + (body->len >= 0x80 ? 3 : 2);
	if (total > max || total > cap)
		return -EMSGSIZE;
	wr_init(&w, out, cap);
	wr_u8(&w, tag);
	if (body->len >= 0x80)
		wr_u8(&w, 0x81);
	wr_u8(&w, (uint8_t)body->len);
	wr_mem(&w, body->p, body->len);
	*out_len = w.len;
	return 0;
}

static void put_details(struct wr *w, const struct card_cat_details *d)
{
	uint8_t v[3] = { d->number, d->type, d->qualifier };
	codec_ctlv_put(w, CAT_TAG_COMMAND_DETAILS, true, v, sizeof(v));
}

static void put_devices(struct wr *w, const struct card_cat_devices *d)
{
	uint8_t v[2] = { d->src, d->dst };
	codec_ctlv_put(w, CAT_TAG_DEVICE_IDENTITIES, true, v, sizeof(v));
}

static void put_duration(struct wr *w, struct card_cat_duration d)
{
	uint8_t v[2] = { d.unit, d.interval };
	codec_ctlv_put(w, CAT_TAG_DURATION, true, v, sizeof(v));
}

static void get_duration(const struct ctlv_set *s, bool *has, struct card_cat_duration *d)
{
	if ((*has = s->has[K_DURATION])) {
		d->unit = s->v[K_DURATION].ptr[0];
		d->interval = s->v[K_DURATION].ptr[1];
	}
}

static void put_u16(struct wr *w, uint16_t tag, uint16_t val)
{
	uint8_t v[2] = { (uint8_t)(val >> 8), (uint8_t)val };
	codec_ctlv_put(w, tag, true, v, sizeof(v));
}

static void put_u8(struct wr *w, uint16_t tag, uint8_t val)
{
	codec_ctlv_put(w, tag, true, &val, 1);
}

static bool view_ok(bool has, struct bytes b)
{
	return !has || ((b.ptr || b.len == 0) && b.len <= CAT_CTLV_VALUE_MAX);
}

/* Which of c's objects carries a tag the command table names. */
static bool command_has(const struct card_cat_command *c, uint8_t tag)
{
	switch (tag) {
	case CAT_TAG_EVENT_LIST:
		return c->has_events;
	case CAT_TAG_BUFFER_SIZE:
		return c->has_buffer_size;
	case CAT_TAG_DURATION:
		return c->has_duration;
	case CAT_TAG_CHANNEL_DATA_LENGTH:
		return c->has_data_len;
	case CAT_TAG_CHANNEL_DATA:
		return c->has_data;
	default:
		return false;
	}
}

/* A command of the table goes to its device with its mandatory object. */
static bool command_fits_spec(const struct card_cat_command *c)
{
	const struct card_cat_cmd_spec *s = card_cat_cmd_spec(c->details.type);
	if (!s)
		return true;
	if (s->mandatory && !command_has(c, s->mandatory))
		return false;
	if (s->dst == CAT_DST_TERMINAL)
		return c->devices.dst == CAT_DEV_TERMINAL;
	return (c->devices.dst & 0xF8) == CAT_DEV_CHANNEL(0) && (c->devices.dst & 0x07) != 0;
}

int card_cat_msg_command_encode(const struct card_cat_command *c, uint8_t *out, size_t cap,
				size_t *out_len)
{
	uint8_t body[CAT_PROACTIVE_MAX];
	struct wr w;
	if (!c || !out || !out_len)
		return -EINVAL;
	if (!view_ok(c->has_alpha, c->alpha) || !view_ok(c->has_events, c->events) ||
	    !view_ok(c->has_bearer, c->bearer) || !view_ok(c->has_data, c->data))
		return -EINVAL;
	if (!command_fits_spec(c))
		return -EINVAL;
	wr_init(&w, body, sizeof(body));
	put_details(&w, &c->details);
	put_devices(&w, &c->devices);
	if (c->has_duration)
		put_duration(&w, c->duration);
	if (c->has_alpha)
		codec_ctlv_put(&w, CAT_TAG_ALPHA_ID, true, c->alpha.ptr, c->alpha.len);
	if (c->has_events)
		codec_ctlv_put(&w, CAT_TAG_EVENT_LIST, true, c->events.ptr, c->events.len);
	if (c->has_bearer)
		codec_ctlv_put(&w, CAT_TAG_BEARER_DESCRIPTION, true, c->bearer.ptr, c->bearer.len);
	if (c->has_buffer_size)
		put_u16(&w, CAT_TAG_BUFFER_SIZE, c->buffer_size);
	if (c->has_transport) {
		uint8_t v[3] = { c->transport, (uint8_t)(c->port >> 8), (uint8_t)c->port };
		codec_ctlv_put(&w, CAT_TAG_TRANSPORT_LEVEL, true, v, sizeof(v));
	}
	if (c->has_data_len)
		put_u8(&w, CAT_TAG_CHANNEL_DATA_LENGTH, c->data_len);
	if (c->has_data)
		codec_ctlv_put(&w, CAT_TAG_CHANNEL_DATA, true, c->data.ptr, c->data.len);
	return wrap_ber(CAT_BER_PROACTIVE, &w, CAT_PROACTIVE_MAX, out, cap, out_len);
}

static void get_details(const struct ctlv_set *s, struct card_cat_details *d)
{
	d->number = s->v[K_DETAILS].ptr[0];
	d->type = s->v[K_DETAILS].ptr[1];
	d->qualifier = s->v[K_DETAILS].ptr[2];
}

static void get_devices(const struct ctlv_set *s, struct card_cat_devices *d)
{
	d->src = s->v[K_DEVICES].ptr[0];
	d->dst = s->v[K_DEVICES].ptr[1];
}

/* The common start of a BER-wrapped decode: bounds, the BER tag (else
 * wrong_tag), and the COMPREHENSION-TLVs inside. */
static int decode_wrapped(const uint8_t *p, size_t len, size_t max, uint8_t want_tag, int wrong_tag,
			  struct ctlv_set *s)
{
	struct bytes v;
	uint8_t tag = 0;
	if (len > max)
		return -EMSGSIZE;
	int rc = split_ber(p, len, &tag, &v);
	if (rc)
		return rc;
	if (tag != want_tag)
		return wrong_tag;
	return split_ctlvs(v.ptr, v.len, s);
}

int card_cat_msg_command_decode(const uint8_t *p, size_t len, struct card_cat_command *out)
{
	struct ctlv_set s;
	int rc;
	if (!out || (len && !p))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = decode_wrapped(p, len, CAT_PROACTIVE_MAX, CAT_BER_PROACTIVE, -EPROTO, &s);
	if (rc)
		return rc;
	if (!s.has[K_DETAILS] || !s.has[K_DEVICES])
		return -EPROTO;
	get_details(&s, &out->details);
	get_devices(&s, &out->devices);
	get_duration(&s, &out->has_duration, &out->duration);
	out->has_alpha = s.has[K_ALPHA];
	out->alpha = s.v[K_ALPHA];
	out->has_events = s.has[K_EVENTS];
	out->events = s.v[K_EVENTS];
	out->has_bearer = s.has[K_BEARER];
	out->bearer = s.v[K_BEARER];
	if ((out->has_buffer_size = s.has[K_BUFFER_SIZE]))
		out->buffer_size = be16(s.v[K_BUFFER_SIZE]);
	if ((out->has_transport = s.has[K_TRANSPORT])) {
		out->transport = s.v[K_TRANSPORT].ptr[0];
		out->port = (uint16_t)((s.v[K_TRANSPORT].ptr[1] << 8) | s.v[K_TRANSPORT].ptr[2]);
	}
	if ((out->has_data_len = s.has[K_DATA_LEN]))
		out->data_len = s.v[K_DATA_LEN].ptr[0];
	out->has_data = s.has[K_DATA];
	out->data = s.v[K_DATA];
	out->unknown = s.unknown;

	/* The mandatory object of the command's row. */
	const struct card_cat_cmd_spec *spec = card_cat_cmd_spec(out->details.type);
	int k = spec && spec->mandatory ? known_index(spec->mandatory) : -2;
	if (k != -2 && (k < 0 || !s.has[k]))
		return -EPROTO;
	return 0;
}

int card_cat_msg_command_scan(const uint8_t *p, size_t len, struct card_cat_command_scan *out)
{
	memset(out, 0, sizeof(*out));
	if (!p || len < 2 || p[0] != CAT_BER_PROACTIVE || (p[1] >= 0x80 && p[1] != 0x81) ||
	    (p[1] == 0x81 && len < 3))
		return -EPROTO;
	size_t hdr = p[1] == 0x81 ? 3 : 2;
	size_t vlen = p[1] == 0x81 ? p[2] : p[1];
	if (vlen > len - hdr) {
		out->malformed = true; /* the 91 xx or the D0 length lied: cut short */
		vlen = len - hdr;
	}
	out->len = hdr + vlen;
	out->trailing = len - out->len;
	struct rd r;
	rd_init(&r, p + hdr, vlen);
	while (rd_left(&r)) {
		struct codec_ctlv o;
		if (codec_ctlv_read(&r, 0, &o) != 0) {
			out->malformed = true;
			break;
		}
		if (!o.long_tag && o.tag == CAT_TAG_COMMAND_DETAILS) {
			if (!out->has_details && o.value.len >= 3) {
				out->details.number = o.value.ptr[0];
				out->details.type = o.value.ptr[1];
				out->details.qualifier = o.value.ptr[2];
				out->has_details = true;
				out->malformed |= o.value.len != 3;
			}
		} else if (!o.long_tag && o.tag == CAT_TAG_DEVICE_IDENTITIES) {
			out->has_devices = true;
			out->malformed |= o.value.len != 2;
		} else if (out->n_objs < CAT_CMD_OBJECTS_MAX) {
			out->objs[out->n_objs].tag = o.long_tag ? 0xFFFF : o.tag;
			out->objs[out->n_objs].cr = o.cr;
			out->n_objs++;
		} else {
			out->malformed = true;
		}
	}
	return 0;
}

int card_cat_msg_response_encode(const struct card_cat_response *r, uint8_t *out, size_t cap,
				 size_t *out_len)
{
	uint8_t body[CAT_TR_MAX + 1];
	struct wr w;
	if (!r || !out || !out_len)
		return -EINVAL;
	if (!view_ok(true, r->result_info) || r->result_info.len > CAT_CTLV_VALUE_MAX - 1 ||
	    !view_ok(r->has_data, r->data) || r->n_status > CAT_BIP_CHANNELS_MAX)
		return -EINVAL;
	wr_init(&w, body, sizeof(body));
	put_details(&w, &r->details);
	put_devices(&w, &r->devices);
	size_t n = 1 + r->result_info.len;
	wr_u8(&w, CAT_CR | CAT_TAG_RESULT);
	if (n >= 0x80)
		wr_u8(&w, 0x81);
	wr_u8(&w, (uint8_t)n);
	wr_u8(&w, r->result);
	wr_mem(&w, r->result_info.ptr, r->result_info.len);
	if (r->has_duration)
		put_duration(&w, r->duration);
	for (size_t i = 0; i < r->n_status; i++)
		put_u16(&w, CAT_TAG_CHANNEL_STATUS, r->status[i]);
	if (r->has_buffer_size)
		put_u16(&w, CAT_TAG_BUFFER_SIZE, r->buffer_size);
	if (r->has_data)
		codec_ctlv_put(&w, CAT_TAG_CHANNEL_DATA, true, r->data.ptr, r->data.len);
	if (r->has_data_len)
		put_u8(&w, CAT_TAG_CHANNEL_DATA_LENGTH, r->data_len);
	if (w.failed || w.len > CAT_TR_MAX || w.len > cap)
		return -EMSGSIZE;
	memcpy(out, body, w.len);
	*out_len = w.len;
	return 0;
}

int card_cat_msg_response_decode(const uint8_t *p, size_t len, struct card_cat_response *out)
{
	struct ctlv_set s;
	int rc;
	if (!out || (len && !p))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (len > CAT_TR_MAX)
		return -EMSGSIZE;
	rc = split_ctlvs(p, len, &s);
	if (rc)
		return rc;
	if (!s.has[K_DETAILS] || !s.has[K_DEVICES] || !s.has[K_RESULT])
		return -EPROTO;
	get_details(&s, &out->details);
	get_devices(&s, &out->devices);
	out->result = s.v[K_RESULT].ptr[0];
	out->result_info = bytes_make(s.v[K_RESULT].ptr + 1, s.v[K_RESULT].len - 1);
	get_duration(&s, &out->has_duration, &out->duration);
	out->n_status = s.n_status;
	memcpy(out->status, s.status, sizeof(out->status));
	if ((out->has_buffer_size = s.has[K_BUFFER_SIZE]))
		out->buffer_size = be16(s.v[K_BUFFER_SIZE]);
	out->has_data = s.has[K_DATA];
	out->data = s.v[K_DATA];
	if ((out->has_data_len = s.has[K_DATA_LEN]))
		out->data_len = s.v[K_DATA_LEN].ptr[0];
	out->unknown = s.unknown;
	return 0;
}

int card_cat_msg_event_encode(const struct card_cat_event *e, uint8_t *out, size_t cap,
			      size_t *out_len)
{
	uint8_t body[CAT_ENVELOPE_MAX];
	struct wr w;
	if (!e || !out || !out_len)
		return -EINVAL;
	wr_init(&w, body, sizeof(body));
	put_u8(&w, CAT_TAG_EVENT_LIST, e->event);
	put_devices(&w, &e->devices);
	if (e->has_status)
		put_u16(&w, CAT_TAG_CHANNEL_STATUS, e->status);
	if (e->has_data_len)
		put_u8(&w, CAT_TAG_CHANNEL_DATA_LENGTH, e->data_len);
	return wrap_ber(CAT_BER_EVENT_DOWNLOAD, &w, CAT_ENVELOPE_MAX, out, cap, out_len);
}

int card_cat_msg_event_decode(const uint8_t *p, size_t len, struct card_cat_event *out)
{
	struct ctlv_set s;
	int rc;
	if (!out || (len && !p))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = decode_wrapped(p, len, CAT_ENVELOPE_MAX, CAT_BER_EVENT_DOWNLOAD, -ENOTSUP, &s);
	if (rc)
		return rc;
	/* TS 102 223 §7.5: an event download carries exactly one event. */
	if (!s.has[K_EVENTS] || s.v[K_EVENTS].len != 1 || !s.has[K_DEVICES])
		return -EPROTO;
	out->event = s.v[K_EVENTS].ptr[0];
	get_devices(&s, &out->devices);
	if ((out->has_status = s.has[K_STATUS]))
		out->status = s.status[0];
	if ((out->has_data_len = s.has[K_DATA_LEN]))
		out->data_len = s.v[K_DATA_LEN].ptr[0];
	out->unknown = s.unknown;
	return 0;
}

static bool tp_bit(const uint8_t *p, size_t len, size_t byte, uint8_t mask)
{
	return byte <= len && (p[byte - 1] & mask);
}

int card_cat_msg_profile_decode(const uint8_t *p, size_t len, struct card_cat_profile *out)
{
	if (!out || !p || len == 0)
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	out->poll_interval = tp_bit(p, len, 3, 0x20);
	out->polling_off = tp_bit(p, len, 3, 0x40);
	out->set_up_event_list = tp_bit(p, len, 5, 0x01);
	out->ev_data_available = tp_bit(p, len, 6, 0x04);
	out->ev_channel_status = tp_bit(p, len, 6, 0x08);
	out->open_channel = tp_bit(p, len, 12, 0x01);
	out->close_channel = tp_bit(p, len, 12, 0x02);
	out->receive_data = tp_bit(p, len, 12, 0x04);
	out->send_data = tp_bit(p, len, 12, 0x08);
	out->get_channel_status = tp_bit(p, len, 12, 0x10);
	out->channels = len >= 13 ? (uint8_t)(p[12] >> 5) : 0;
	out->tcp_server = tp_bit(p, len, 17, 0x04);
	return 0;
}

int card_cat_msg_profile_encode(const struct card_cat_profile *tp, uint8_t *out, size_t cap,
				size_t *out_len)
{
	if (!tp || !out || !out_len || tp->channels > CAT_BIP_CHANNELS_MAX)
		return -EINVAL;
	if (cap < CAT_PROFILE_LEN)
		return -EMSGSIZE;
	memset(out, 0, CAT_PROFILE_LEN);
	out[0] = 0x01; /* byte 1 b1: profile download */
	out[2] = (uint8_t)((tp->poll_interval ? 0x20 : 0) | (tp->polling_off ? 0x40 : 0));
	out[4] = tp->set_up_event_list ? 0x01 : 0;
	out[5] = (uint8_t)((tp->ev_data_available ? 0x04 : 0) | (tp->ev_channel_status ? 0x08 : 0));
	out[11] = (uint8_t)((tp->open_channel ? 0x01 : 0) | (tp->close_channel ? 0x02 : 0) |
			    (tp->receive_data ? 0x04 : 0) | (tp->send_data ? 0x08 : 0) |
			    (tp->get_channel_status ? 0x10 : 0));
	out[12] = (uint8_t)(tp->channels << 5);
	out[16] = tp->tcp_server ? 0x04 : 0;
	*out_len = CAT_PROFILE_LEN;
	return 0;
}

int card_cat_msg_capdu(uint8_t ins, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
		       size_t *out_len)
{
	if (!out || !out_len)
		return -EINVAL;
	if (ins == CAT_INS_FETCH) {
		if (data || len == 0 || len > APDU_SHORT_RESP_MAX)
			return -EINVAL;
		if (cap < 5)
			return -EMSGSIZE;
		out[4] = (uint8_t)len; /* 256 -> 00 */
		*out_len = 5;
	} else {
		if (!data || len == 0 || len > APDU_SHORT_DATA_MAX)
			return -EINVAL;
		if (cap < 5 || len > cap - 5)
			return -EMSGSIZE;
		out[4] = (uint8_t)len;
		memcpy(out + 5, data, len);
		*out_len = 5 + len;
	}
	out[0] = CAT_CLA;
	out[1] = ins;
	out[2] = 0x00;
	out[3] = 0x00;
	return 0;
}

struct name {
	uint8_t v;
	const char *name;
};

static const char *lookup(const struct name *t, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].name;
	return "unknown";
}

#define LOOKUP(t, v) lookup(t, sizeof(t) / sizeof(t[0]), v)

static const struct name cmd_names[] = {
	{ CAT_CMD_REFRESH, "REFRESH" },
	{ CAT_CMD_MORE_TIME, "MORE TIME" },
	{ CAT_CMD_POLL_INTERVAL, "POLL INTERVAL" },
	{ CAT_CMD_POLLING_OFF, "POLLING OFF" },
	{ CAT_CMD_SET_UP_EVENT_LIST, "SET UP EVENT LIST" },
	{ CAT_CMD_OPEN_CHANNEL, "OPEN CHANNEL" },
	{ CAT_CMD_CLOSE_CHANNEL, "CLOSE CHANNEL" },
	{ CAT_CMD_RECEIVE_DATA, "RECEIVE DATA" },
	{ CAT_CMD_SEND_DATA, "SEND DATA" },
	{ CAT_CMD_GET_CHANNEL_STATUS, "GET CHANNEL STATUS" },
};

static const struct name result_names[] = {
	{ CAT_RES_OK, "performed successfully" },
	{ CAT_RES_PARTIAL_COMPREHENSION, "performed with partial comprehension" },
	{ CAT_RES_MISSING_INFO, "performed with missing information" },
	{ CAT_RES_ICON_NOT_DISPLAYED, "performed, icon not displayed" },
	{ CAT_RES_MODIFIED, "performed with modification" },
	{ CAT_RES_USER_TERMINATED, "proactive session terminated by the user" },
	{ CAT_RES_TERMINAL_UNABLE, "terminal currently unable to process command" },
	{ CAT_RES_NETWORK_UNABLE, "network currently unable to process command" },
	{ CAT_RES_USER_REJECTED, "user did not accept the proactive command" },
	{ CAT_RES_BEYOND_CAPABILITIES, "command beyond terminal's capabilities" },
	{ CAT_RES_TYPE_NOT_UNDERSTOOD, "command type not understood by terminal" },
	{ CAT_RES_DATA_NOT_UNDERSTOOD, "command data not understood by terminal" },
	{ CAT_RES_NUMBER_NOT_KNOWN, "command number not known by terminal" },
	{ CAT_RES_VALUES_MISSING, "error, required values are missing" },
	{ CAT_RES_BIP_ERROR, "Bearer Independent Protocol error" },
};

static const struct name bip_names[] = {
	{ CAT_BIP_NO_CAUSE, "no specific cause" },
	{ CAT_BIP_NO_CHANNEL, "no channel available" },
	{ CAT_BIP_CHANNEL_CLOSED, "channel closed" },
	{ CAT_BIP_CHANNEL_ID_INVALID, "channel identifier not valid" },
	{ CAT_BIP_BUFFER_SIZE_UNAVAILABLE, "requested buffer size not available" },
	{ CAT_BIP_SECURITY_ERROR, "security error" },
	{ CAT_BIP_TRANSPORT_UNAVAILABLE, "requested interface transport level not available" },
	{ CAT_BIP_REMOTE_UNREACHABLE, "remote device is not reachable" },
	{ CAT_BIP_SERVICE_ERROR, "service error" },
	{ CAT_BIP_SERVICE_ID_UNKNOWN, "service identifier unknown" },
	{ CAT_BIP_PORT_UNAVAILABLE, "port not available" },
	{ CAT_BIP_LAUNCH_PARAMS, "launch parameters missing or incorrect" },
	{ CAT_BIP_LAUNCH_FAILED, "application launch failed" },
};

static const struct name event_names[] = {
	{ CAT_EVENT_DATA_AVAILABLE, "data available" },
	{ CAT_EVENT_CHANNEL_STATUS, "channel status" },
};

const char *card_cat_cmd_name(uint8_t type)
{
	return LOOKUP(cmd_names, type);
}

const char *card_cat_result_name(uint8_t result)
{
	return LOOKUP(result_names, result);
}

const char *card_cat_bip_error_name(uint8_t info)
{
	return LOOKUP(bip_names, info);
}

const char *card_cat_event_name(uint8_t event)
{
	return LOOKUP(event_names, event);
}

/* The one table of channel states: name and Channel status bits. */
static const struct {
	const char *name;
	uint8_t chst;
} ch_states[] = {
	[CAT_CH_CLOSED] = { "CLOSED", CAT_CHST_CLOSED },
	[CAT_CH_LISTEN] = { "LISTEN", CAT_CHST_LISTEN },
	[CAT_CH_ESTABLISHED] = { "ESTABLISHED", CAT_CHST_ESTABLISHED },
};

#define CH_STATES (sizeof(ch_states) / sizeof(ch_states[0]))

const char *card_cat_ch_state_name(enum card_cat_ch_state st)
{
	return (unsigned)st < CH_STATES ? ch_states[st].name : "unknown";
}

uint8_t card_cat_ch_state_chst(enum card_cat_ch_state st)
{
	return (unsigned)st < CH_STATES ? ch_states[st].chst : CAT_CHST_CLOSED;
}

bool card_cat_chst_ch_state(uint16_t status, enum card_cat_ch_state *st)
{
	for (unsigned i = 0; i < CH_STATES; i++) {
		if (ch_states[i].chst == CAT_CHST_STATE(status)) {
			*st = (enum card_cat_ch_state)i;
			return true;
		}
	}
	return false;
}

const char *card_cat_chst_state_name(uint16_t status)
{
	enum card_cat_ch_state st;
	return card_cat_chst_ch_state(status, &st) ? card_cat_ch_state_name(st) : "reserved";
}
