/* test_card_cat_msg.c - unit tests for src/card/cat_msg.c: every frame of
 * doc/protocol.md §1.13 decoded and re-encoded byte for byte, CR and non-CR
 * tags, 81 lengths, every truncation, malformed and oversized frames
 * (ETSI TS 102 223). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/cat_msg.h"
#include "core/hex.h"
#include "runner.h"

/* doc/protocol.md §1.13, verbatim. */
/* clang-format off */
static const char *const example[] = {
	"TERMINAL PROFILE                       80 10 00 00 11 01 00 00 00 01 0C 00 00 00 00 00 1F 20 00 00 00 04 | 91 0F",
	"FETCH → SET UP EVENT LIST              80 12 00 00 0F | D0 0D 81 03 01 05 00 82 02 81 82 99 02 09 0A | 90 00",
	"TERMINAL RESPONSE                      80 14 00 00 0C 81 03 01 05 00 82 02 82 81 83 01 00 | 91 14",
	"FETCH → OPEN CHANNEL (TCP srv, 4116)   80 12 00 00 14 | D0 12 81 03 02 40 00 82 02 81 82 B9 02 05 78 BC 03 03 10 14 | 90 00",
	"TR OPEN CHANNEL (ch1 LISTEN, 1400)     80 14 00 00 14 81 03 02 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 02 05 78 | 90 00",
	"ENVELOPE Channel status (ESTABLISHED)  80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 81 00 | 90 00",
	"ENVELOPE Data available (200 bytes)    80 C2 00 00 10 D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 C8 | 91 0E",
	"FETCH → RECEIVE DATA (200)             80 12 00 00 0E | D0 0C 81 03 03 42 00 82 02 81 21 B7 01 C8 | 90 00",
	"TR RECEIVE DATA                        80 14 00 00 DA 81 03 03 42 00 82 02 82 81 83 01 00 B6 81 C8 <200 bytes: 16 03 01 00 C3 …> B7 01 00 | 90 00",
	"FETCH → SEND DATA (immediate, 0x90 B)  80 12 00 00 9F | D0 81 9C 81 03 04 43 01 82 02 81 21 B6 81 90 <144 bytes: 16 03 03 00 8B …> | 90 00",
	"TR SEND DATA                           80 14 00 00 0F 81 03 04 43 01 82 02 82 81 83 01 00 B7 01 FF | 90 00",
	"ENVELOPE Channel status (client gone)  80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 41 05 | 90 00   (variant: … B8 02 41 00)",
	"FETCH → CLOSE CHANNEL (→CLOSED)        80 12 00 00 0B | D0 09 81 03 05 41 00 82 02 81 21 | 90 00",
	"TR CLOSE CHANNEL                       80 14 00 00 0C 81 03 05 41 00 82 02 82 81 83 01 00 | 90 00",
	"FETCH → GET CHANNEL STATUS             80 12 00 00 0B | D0 09 81 03 06 44 00 82 02 81 82 | 90 00",
	"TR GET CHANNEL STATUS                  80 14 00 00 10 81 03 06 44 00 82 02 82 81 83 01 00 B8 02 41 00 | 90 00",
};
/* clang-format on */
#define N_FRAMES (sizeof(example) / sizeof(example[0]))

/* One frame: C-APDU header, command data (TP/TR/ENVELOPE) or response
 * data (FETCH), SW. */
struct frame {
	uint8_t hdr[5];
	uint8_t data[300];
	size_t len;
	uint16_t sw;
};

/* Filler of the elided channel data: the bytes shown, then a pattern. */
static uint8_t filler(size_t i)
{
	return (uint8_t)(i * 13 + 5);
}

/* Reads the hex of one §1.13 line (from the first hex pair after the
 * name), expanding "<N bytes: xx xx …>" and dropping "|" and "(…)". */
static size_t line_bytes(const char *line, uint8_t *out, size_t cap)
{
	const char *s = strstr(line, "  ");
	size_t n = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	while (*s) {
		if (*s == ' ' || *s == '|') {
			s++;
		} else if (*s == '(') {
			break;
		} else if (*s == '<') {
			char *end = NULL;
			unsigned long count = strtoul(s + 1, &end, 10);
			CU_ASSERT_FATAL(end && strncmp(end, " bytes: ", 8) == 0);
			s = end + 8;
			size_t start = n;
			/* The shown bytes end at the ellipsis (UTF-8 E2 80 A6). */
			while (*s != '\xe2' && *s != '>') {
				uint8_t b;
				size_t bl = 0;
				char pair[3] = { s[0], s[1], 0 };
				CU_ASSERT_EQUAL_FATAL(hex_decode(pair, &b, 1, &bl), 0);
				CU_ASSERT_FATAL(n < cap);
				out[n++] = b;
				s += 3;
			}
			while (*s != '>')
				s++;
			s++;
			while (n - start < count) {
				CU_ASSERT_FATAL(n < cap);
				out[n] = filler(n - start);
				n++;
			}
		} else {
			uint8_t b;
			size_t bl = 0;
			char pair[3] = { s[0], s[1], 0 };
			CU_ASSERT_EQUAL_FATAL(hex_decode(pair, &b, 1, &bl), 0);
			CU_ASSERT_FATAL(n < cap);
			out[n++] = b;
			s += 2;
		}
	}
	return n;
}

static void get_frame(size_t i, struct frame *f)
{
	uint8_t b[512];
	size_t n = line_bytes(example[i], b, sizeof(b));
	CU_ASSERT_FATAL(n >= 7);
	memcpy(f->hdr, b, 5);
	f->len = n - 7;
	memcpy(f->data, b + 5, f->len);
	f->sw = (uint16_t)((b[n - 2] << 8) | b[n - 1]);
	/* Lc, or for FETCH Le: the whole command. */
	CU_ASSERT_EQUAL(f->len, b[4]);
}

static void hexv(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	CU_ASSERT_EQUAL_FATAL(hex_decode(hex, out, cap, len), 0);
}

/* Decode, re-encode, compare: the codec reproduces every frame. */
static void test_example_round_trip(void)
{
	uint8_t out[300];
	size_t n = 0;
	uint16_t prev_sw = 0;
	unsigned announced = 0;
	for (size_t i = 0; i < N_FRAMES; i++) {
		struct frame f;
		get_frame(i, &f);
		uint8_t ins = f.hdr[1];
		CU_ASSERT_EQUAL(f.hdr[0], CAT_CLA);
		CU_ASSERT_EQUAL(f.hdr[2], 0);
		CU_ASSERT_EQUAL(f.hdr[3], 0);
		n = 0;
		if (ins == CAT_INS_TERMINAL_PROFILE) {
			struct card_cat_profile tp;
			CU_ASSERT_EQUAL(card_cat_msg_profile_decode(f.data, f.len, &tp), 0);
			CU_ASSERT_EQUAL(card_cat_msg_profile_encode(&tp, out, sizeof(out), &n), 0);
		} else if (ins == CAT_INS_FETCH) {
			struct card_cat_command c;
			/* The SW before a FETCH announces its length where the
			 * excerpt shows it (91 0F, 91 14, 91 0E). */
			if ((prev_sw & 0xFF00) == 0x9100) {
				CU_ASSERT_EQUAL(prev_sw, 0x9100 | f.hdr[4]);
				announced++;
			}
			CU_ASSERT_EQUAL(card_cat_msg_command_decode(f.data, f.len, &c), 0);
			CU_ASSERT_EQUAL(c.unknown, 0);
			CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), 0);
		} else if (ins == CAT_INS_TERMINAL_RESPONSE) {
			struct card_cat_response r;
			CU_ASSERT_EQUAL(card_cat_msg_response_decode(f.data, f.len, &r), 0);
			CU_ASSERT_EQUAL(r.unknown, 0);
			CU_ASSERT_EQUAL(card_cat_msg_response_encode(&r, out, sizeof(out), &n), 0);
		} else {
			struct card_cat_event e;
			CU_ASSERT_EQUAL_FATAL(ins, CAT_INS_ENVELOPE);
			CU_ASSERT_EQUAL(card_cat_msg_event_decode(f.data, f.len, &e), 0);
			CU_ASSERT_EQUAL(e.unknown, 0);
			CU_ASSERT_EQUAL(card_cat_msg_event_encode(&e, out, sizeof(out), &n), 0);
		}
		if (n != f.len || memcmp(out, f.data, n) != 0)
			fprintf(stderr, "\nframe %zu differs: %s\n", i, example[i]);
		CU_ASSERT_EQUAL(n, f.len);
		CU_ASSERT_EQUAL(memcmp(out, f.data, f.len), 0);

		/* The C-APDU header as the gateway builds it. */
		uint8_t capdu[300];
		size_t cl = 0;
		int rc = card_cat_msg_capdu(ins, ins == CAT_INS_FETCH ? NULL : f.data, f.len, capdu,
					    sizeof(capdu), &cl);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(memcmp(capdu, f.hdr, 5), 0);
		CU_ASSERT_EQUAL(cl, ins == CAT_INS_FETCH ? 5 : 5 + f.len);
		prev_sw = f.sw;
	}
	CU_ASSERT_EQUAL(announced, 3);
}

/* The decoded values of each frame. */
static void test_example_fields(void)
{
	struct frame f;
	struct card_cat_profile tp;
	struct card_cat_command c;
	struct card_cat_response r;
	struct card_cat_event e;

	get_frame(0, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_profile_decode(f.data, f.len, &tp), 0);
	CU_ASSERT(tp.set_up_event_list && tp.ev_data_available && tp.ev_channel_status);
	CU_ASSERT(tp.open_channel && tp.close_channel && tp.receive_data && tp.send_data);
	CU_ASSERT(tp.get_channel_status && tp.tcp_server);
	CU_ASSERT_EQUAL(tp.channels, 1);

	get_frame(1, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_command_decode(f.data, f.len, &c), 0);
	CU_ASSERT_EQUAL(c.details.number, 1);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_SET_UP_EVENT_LIST);
	CU_ASSERT_EQUAL(c.details.qualifier, 0);
	CU_ASSERT_EQUAL(c.devices.src, CAT_DEV_UICC);
	CU_ASSERT_EQUAL(c.devices.dst, CAT_DEV_TERMINAL);
	CU_ASSERT(c.has_events && bytes_eq(c.events, "\x09\x0A", 2));
	CU_ASSERT(!c.has_alpha && !c.has_buffer_size && !c.has_data && !c.has_data_len);

	get_frame(2, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_response_decode(f.data, f.len, &r), 0);
	CU_ASSERT_EQUAL(r.details.number, 1);
	CU_ASSERT_EQUAL(r.details.type, CAT_CMD_SET_UP_EVENT_LIST);
	CU_ASSERT_EQUAL(r.devices.src, CAT_DEV_TERMINAL);
	CU_ASSERT_EQUAL(r.devices.dst, CAT_DEV_UICC);
	CU_ASSERT_EQUAL(r.result, CAT_RES_OK);
	CU_ASSERT_EQUAL(r.result_info.len, 0);
	CU_ASSERT_EQUAL(r.n_status, 0);

	get_frame(3, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_command_decode(f.data, f.len, &c), 0);
	CU_ASSERT_EQUAL(c.details.number, 2);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_OPEN_CHANNEL);
	CU_ASSERT(c.has_buffer_size && c.buffer_size == 1400);
	CU_ASSERT(c.has_transport && c.transport == CAT_TRANSPORT_TCP_SERVER && c.port == 4116);
	CU_ASSERT(!c.has_bearer);

	get_frame(4, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_response_decode(f.data, f.len, &r), 0);
	CU_ASSERT_EQUAL(r.details.type, CAT_CMD_OPEN_CHANNEL);
	CU_ASSERT_EQUAL(r.n_status, 1);
	CU_ASSERT_EQUAL(r.status[0], CAT_CHST(CAT_CHST_LISTEN, 1, 0));
	CU_ASSERT_EQUAL(CAT_CHST_CHANNEL(r.status[0]), 1);
	CU_ASSERT_STRING_EQUAL(card_cat_chst_state_name(r.status[0]), "LISTEN");
	CU_ASSERT(r.has_buffer_size && r.buffer_size == 1400);

	get_frame(5, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_event_decode(f.data, f.len, &e), 0);
	CU_ASSERT_EQUAL(e.event, CAT_EVENT_CHANNEL_STATUS);
	CU_ASSERT(e.has_status && e.status == 0x8100 && !e.has_data_len);
	CU_ASSERT_EQUAL(CAT_CHST_STATE(e.status), CAT_CHST_ESTABLISHED);

	get_frame(6, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_event_decode(f.data, f.len, &e), 0);
	CU_ASSERT_EQUAL(e.event, CAT_EVENT_DATA_AVAILABLE);
	CU_ASSERT(e.has_status && e.status == 0x8100);
	CU_ASSERT(e.has_data_len && e.data_len == 200);

	get_frame(7, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_command_decode(f.data, f.len, &c), 0);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_RECEIVE_DATA);
	CU_ASSERT_EQUAL(c.devices.dst, CAT_DEV_CHANNEL(1));
	CU_ASSERT(c.has_data_len && c.data_len == 200);

	get_frame(8, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_response_decode(f.data, f.len, &r), 0);
	CU_ASSERT(r.has_data && r.data.len == 200);
	CU_ASSERT_EQUAL(memcmp(r.data.ptr, "\x16\x03\x01\x00\xC3", 5), 0);
	CU_ASSERT_EQUAL(r.data.ptr[199], filler(199));
	CU_ASSERT(r.has_data_len && r.data_len == 0);

	get_frame(9, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_command_decode(f.data, f.len, &c), 0);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_SEND_DATA);
	CU_ASSERT_EQUAL(c.details.qualifier, CAT_QUAL_SEND_IMMEDIATELY);
	CU_ASSERT(c.has_data && c.data.len == 0x90);
	CU_ASSERT_EQUAL(memcmp(c.data.ptr, "\x16\x03\x03\x00\x8B", 5), 0);

	get_frame(10, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_response_decode(f.data, f.len, &r), 0);
	CU_ASSERT(r.has_data_len && r.data_len == CAT_DATA_LEN_MORE && !r.has_data);

	get_frame(11, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_event_decode(f.data, f.len, &e), 0);
	CU_ASSERT_EQUAL(e.status, CAT_CHST(CAT_CHST_LISTEN, 1, CAT_CHST_INFO_LINK_DROPPED));

	get_frame(12, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_command_decode(f.data, f.len, &c), 0);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_CLOSE_CHANNEL);
	CU_ASSERT_EQUAL(c.details.qualifier, 0);
	CU_ASSERT_EQUAL(c.devices.dst, 0x21);

	get_frame(14, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_command_decode(f.data, f.len, &c), 0);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_GET_CHANNEL_STATUS);
	CU_ASSERT_EQUAL(c.devices.dst, CAT_DEV_TERMINAL);

	get_frame(15, &f);
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_response_decode(f.data, f.len, &r), 0);
	CU_ASSERT_EQUAL(r.n_status, 1);
	CU_ASSERT_EQUAL(r.status[0], 0x4100);
}

/* Messages built from structs give the §1.13 bytes. */
static void test_encode_from_scratch(void)
{
	uint8_t out[300], want[300];
	size_t n = 0, wn = 0;
	struct card_cat_command c = {
		.details = { 2, CAT_CMD_OPEN_CHANNEL, 0 },
		.devices = { CAT_DEV_UICC, CAT_DEV_TERMINAL },
		.has_buffer_size = true,
		.buffer_size = 1400,
		.has_transport = true,
		.transport = CAT_TRANSPORT_TCP_SERVER,
		.port = 4116,
	};
	hexv("D0 12 81 03 02 40 00 82 02 81 82 B9 02 05 78 BC 03 03 10 14", want, sizeof(want),
	     &wn);
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), 0);
	CU_ASSERT(n == wn && memcmp(out, want, n) == 0);

	struct card_cat_response r = {
		.details = { 2, CAT_CMD_OPEN_CHANNEL, 0 },
		.devices = { CAT_DEV_TERMINAL, CAT_DEV_UICC },
		.result = CAT_RES_OK,
		.n_status = 1,
		.status = { CAT_CHST(CAT_CHST_LISTEN, 1, 0) },
		.has_buffer_size = true,
		.buffer_size = 1400,
	};
	hexv("81 03 02 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 02 05 78", want, sizeof(want),
	     &wn);
	CU_ASSERT_EQUAL(card_cat_msg_response_encode(&r, out, sizeof(out), &n), 0);
	CU_ASSERT(n == wn && memcmp(out, want, n) == 0);

	/* BIP error with additional information. */
	struct card_cat_response err = {
		.details = { 7, CAT_CMD_SEND_DATA, 1 },
		.devices = { CAT_DEV_TERMINAL, CAT_DEV_UICC },
		.result = CAT_RES_BIP_ERROR,
		.result_info = bytes_make("\x02", 1),
	};
	hexv("81 03 07 43 01 82 02 82 81 83 02 3A 02", want, sizeof(want), &wn);
	CU_ASSERT_EQUAL(card_cat_msg_response_encode(&err, out, sizeof(out), &n), 0);
	CU_ASSERT(n == wn && memcmp(out, want, n) == 0);
	CU_ASSERT_EQUAL(card_cat_msg_response_decode(out, n, &r), 0);
	CU_ASSERT_EQUAL(r.result, CAT_RES_BIP_ERROR);
	CU_ASSERT(bytes_eq(r.result_info, "\x02", 1));

	struct card_cat_event e = {
		.event = CAT_EVENT_DATA_AVAILABLE,
		.devices = { CAT_DEV_TERMINAL, CAT_DEV_UICC },
		.has_status = true,
		.status = CAT_CHST(CAT_CHST_ESTABLISHED, 1, 0),
		.has_data_len = true,
		.data_len = 200,
	};
	hexv("D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 C8", want, sizeof(want), &wn);
	CU_ASSERT_EQUAL(card_cat_msg_event_encode(&e, out, sizeof(out), &n), 0);
	CU_ASSERT(n == wn && memcmp(out, want, n) == 0);

	/* GET CHANNEL STATUS with several channels. */
	struct card_cat_response gs = {
		.details = { 9, CAT_CMD_GET_CHANNEL_STATUS, 0 },
		.devices = { CAT_DEV_TERMINAL, CAT_DEV_UICC },
		.n_status = 3,
		.status = { 0x4100, 0x8200, 0x0300 },
	};
	hexv("81 03 09 44 00 82 02 82 81 83 01 00 B8 02 41 00 B8 02 82 00 B8 02 03 00", want,
	     sizeof(want), &wn);
	CU_ASSERT_EQUAL(card_cat_msg_response_encode(&gs, out, sizeof(out), &n), 0);
	CU_ASSERT(n == wn && memcmp(out, want, n) == 0);
	CU_ASSERT_EQUAL(card_cat_msg_response_decode(out, n, &r), 0);
	CU_ASSERT_EQUAL(r.n_status, 3);
	CU_ASSERT_EQUAL(r.status[1], 0x8200);
	CU_ASSERT_EQUAL(r.status[2], 0x0300);

	/* Optional alpha identifier, CLOSE to LISTEN. */
	struct card_cat_command cc = {
		.details = { 0xFE, CAT_CMD_CLOSE_CHANNEL, CAT_QUAL_CLOSE_TO_LISTEN },
		.devices = { CAT_DEV_UICC, CAT_DEV_CHANNEL(7) },
		.has_alpha = true,
		.alpha = bytes_make("SCWS", 4),
	};
	hexv("D0 0F 81 03 FE 41 01 82 02 81 27 85 04 53 43 57 53", want, sizeof(want), &wn);
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&cc, out, sizeof(out), &n), 0);
	CU_ASSERT(n == wn && memcmp(out, want, n) == 0);
	CU_ASSERT_EQUAL(card_cat_msg_command_decode(out, n, &c), 0);
	CU_ASSERT(c.has_alpha && bytes_eq(c.alpha, "SCWS", 4));
}

/* Tags without the CR bit and non-minimal 81 lengths decode the same. */
static void test_cr_and_long_lengths(void)
{
	/* clang-format off */
	static const struct {
		const char *a, *b;
		int kind; /* 0 command, 1 response, 2 event */
	} pairs[] = {
		{ "D0 0D 81 03 01 05 00 82 02 81 82 99 02 09 0A",
		  "D0 0D 01 03 01 05 00 02 02 81 82 19 02 09 0A", 0 },
		{ "D0 0D 81 03 01 05 00 82 02 81 82 99 02 09 0A",
		  "D0 81 0D 81 03 01 05 00 82 02 81 82 99 02 09 0A", 0 },
		{ "D0 12 81 03 02 40 00 82 02 81 82 B9 02 05 78 BC 03 03 10 14",
		  "D0 12 81 03 02 40 00 82 02 81 82 39 02 05 78 3C 03 03 10 14", 0 },
		{ "D0 0C 81 03 03 42 00 82 02 81 21 B7 01 C8",
		  "D0 81 0D 01 03 03 42 00 02 02 81 21 37 81 01 C8", 0 },
		{ "81 03 02 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 02 05 78",
		  "01 03 02 40 00 02 02 82 81 03 01 00 38 02 41 00 39 02 05 78", 1 },
		{ "81 03 02 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 02 05 78",
		  "81 81 03 02 40 00 82 81 02 82 81 83 81 01 00 B8 02 41 00 B9 02 05 78", 1 },
		{ "D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 C8",
		  "D6 0E 19 01 09 02 02 82 81 38 02 81 00 37 01 C8", 2 },
		{ "D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 C8",
		  "D6 81 0F 99 01 09 82 02 82 81 B8 02 81 00 B7 81 01 C8", 2 },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		uint8_t a[300], b[300], ea[300], eb[300];
		size_t al = 0, bl = 0, eal = 0, ebl = 0;
		hexv(pairs[i].a, a, sizeof(a), &al);
		hexv(pairs[i].b, b, sizeof(b), &bl);
		if (pairs[i].kind == 0) {
			struct card_cat_command x, y;
			CU_ASSERT_EQUAL(card_cat_msg_command_decode(a, al, &x), 0);
			CU_ASSERT_EQUAL(card_cat_msg_command_decode(b, bl, &y), 0);
			CU_ASSERT_EQUAL(card_cat_msg_command_encode(&x, ea, sizeof(ea), &eal), 0);
			CU_ASSERT_EQUAL(card_cat_msg_command_encode(&y, eb, sizeof(eb), &ebl), 0);
		} else if (pairs[i].kind == 1) {
			struct card_cat_response x, y;
			CU_ASSERT_EQUAL(card_cat_msg_response_decode(a, al, &x), 0);
			CU_ASSERT_EQUAL(card_cat_msg_response_decode(b, bl, &y), 0);
			CU_ASSERT_EQUAL(card_cat_msg_response_encode(&x, ea, sizeof(ea), &eal), 0);
			CU_ASSERT_EQUAL(card_cat_msg_response_encode(&y, eb, sizeof(eb), &ebl), 0);
		} else {
			struct card_cat_event x, y;
			CU_ASSERT_EQUAL(card_cat_msg_event_decode(a, al, &x), 0);
			CU_ASSERT_EQUAL(card_cat_msg_event_decode(b, bl, &y), 0);
			CU_ASSERT_EQUAL(card_cat_msg_event_encode(&x, ea, sizeof(ea), &eal), 0);
			CU_ASSERT_EQUAL(card_cat_msg_event_encode(&y, eb, sizeof(eb), &ebl), 0);
		}
		/* Both re-encode to the canonical form a. */
		CU_ASSERT(eal == al && memcmp(ea, a, al) == 0);
		CU_ASSERT(ebl == al && memcmp(eb, a, al) == 0);
	}
}

/* Every prefix of every frame: commands and envelopes (one BER-TLV) always
 * fail; a TERMINAL RESPONSE cut at a C-TLV boundary after its mandatory
 * objects is a valid shorter response, any other cut fails. Each prefix is
 * an exactly sized heap copy, so ASan sees a read past it. */
static void test_every_truncation(void)
{
	for (size_t i = 0; i < N_FRAMES; i++) {
		struct frame f;
		get_frame(i, &f);
		uint8_t ins = f.hdr[1];
		/* C-TLV boundaries of a TR. */
		bool boundary[300] = { false };
		size_t mandatory_end = 0;
		if (ins == CAT_INS_TERMINAL_RESPONSE) {
			size_t pos = 0, k = 0;
			while (pos < f.len) {
				size_t l = f.data[pos + 1];
				size_t h = 2;
				if (l == 0x81) {
					l = f.data[pos + 2];
					h = 3;
				}
				pos += h + l;
				boundary[pos] = true;
				if (++k == 3)
					mandatory_end = pos;
			}
		}
		for (size_t len = 0; len < f.len; len++) {
			uint8_t *p = malloc(len ? len : 1);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			memcpy(p, f.data, len);
			int rc;
			if (ins == CAT_INS_TERMINAL_PROFILE) {
				struct card_cat_profile tp;
				rc = card_cat_msg_profile_decode(p, len, &tp);
				CU_ASSERT_EQUAL(rc, len ? 0 : -EPROTO);
				/* Byte 17 missing: no TCP server mode. */
				CU_ASSERT(len == 0 || !tp.tcp_server);
			} else if (ins == CAT_INS_FETCH) {
				struct card_cat_command c;
				rc = card_cat_msg_command_decode(p, len, &c);
				CU_ASSERT_EQUAL(rc, -EPROTO);
			} else if (ins == CAT_INS_ENVELOPE) {
				struct card_cat_event e;
				rc = card_cat_msg_event_decode(p, len, &e);
				CU_ASSERT_EQUAL(rc, -EPROTO);
			} else {
				struct card_cat_response r;
				rc = card_cat_msg_response_decode(p, len, &r);
				bool ok = boundary[len] && len >= mandatory_end;
				CU_ASSERT_EQUAL(rc, ok ? 0 : -EPROTO);
			}
			free(p);
		}
	}
}

struct bad {
	const char *hex;
	int kind; /* 0 command, 1 response, 2 event */
	int rc;
};

/* clang-format off */
static const struct bad bad_frames[] = {
	/* BER framing. */
	{ "", 0, -EPROTO },
	{ "D0", 0, -EPROTO },
	{ "D0 00", 0, -EPROTO },                 /* no command details */
	{ "D0 80 81 03 01 05 00", 0, -EPROTO },  /* indefinite length */
	{ "D0 82 00 09 81 03 01 41 00 82 02 81 21", 0, -EPROTO },
	{ "D0 09 81 03 05 41 00 82 02 81 21 00", 0, -EPROTO }, /* trailing byte */
	{ "D0 0A 81 03 05 41 00 82 02 81 21", 0, -EPROTO },    /* BER length too long */
	{ "D6 09 81 03 05 41 00 82 02 81 21", 0, -EPROTO },    /* not D0 */
	{ "1F 09 81 03 05 41 00 82 02 81 21", 0, -EPROTO },    /* multi-byte tag */
	{ "D0 81", 0, -EPROTO },
	/* C-TLVs. */
	{ "D0 09 81 02 05 41 82 02 81 21 00", 0, -EPROTO },    /* details of 2 bytes */
	{ "D0 0A 81 04 05 41 00 00 82 02 81 21", 0, -EPROTO }, /* details of 4 bytes */
	{ "D0 08 81 03 05 41 00 82 01 81", 0, -EPROTO },       /* devices of 1 byte */
	{ "D0 05 81 03 05 41 00", 0, -EPROTO },                /* no devices */
	{ "D0 06 82 02 81 21 00 00", 0, -EPROTO },             /* tag 00 */
	{ "D0 0B 81 03 05 41 00 82 02 81 21 FF 00", 0, -EPROTO }, /* tag FF */
	{ "D0 0B 81 03 05 41 00 82 02 81 21 80 00", 0, -EPROTO }, /* tag 80 */
	{ "D0 0B 81 03 05 41 00 82 02 81 21 B7 05", 0, -EPROTO }, /* value past the end */
	{ "D0 0C 81 03 05 41 00 82 02 81 21 B7 82 01", 0, -EPROTO },
	{ "D0 0C 81 03 03 42 00 82 02 81 21 B7 02 C8 00", 0, -EPROTO }, /* wrong length */
	/* Mandatory objects per command. */
	{ "D0 09 81 03 01 05 00 82 02 81 82", 0, -EPROTO },    /* no event list */
	{ "D0 0E 81 03 02 40 00 82 02 81 82 BC 03 03 10 14", 0, -EPROTO }, /* no buffer size */
	{ "D0 11 81 03 02 40 00 82 02 81 82 B9 02 05 78 BC 02 03 10", 0, -EPROTO },
	{ "D0 09 81 03 03 42 00 82 02 81 21", 0, -EPROTO },    /* RECEIVE: no length */
	{ "D0 09 81 03 04 43 01 82 02 81 21", 0, -EPROTO },    /* SEND: no data */
	/* Responses. */
	{ "", 1, -EPROTO },
	{ "81 03 01 05 00 82 02 82 81", 1, -EPROTO },           /* no result */
	{ "81 03 01 05 00 82 02 82 81 83 00", 1, -EPROTO },     /* empty result */
	{ "81 03 01 05 00 83 01 00", 1, -EPROTO },              /* no devices */
	{ "82 02 82 81 83 01 00", 1, -EPROTO },                 /* no details */
	{ "81 03 01 05 00 82 02 82 81 83 01 00 B8 01 41", 1, -EPROTO },
	{ "81 03 01 05 00 82 02 82 81 83 01 00 B8 03 41 00 00", 1, -EPROTO },
	{ "81 03 01 05 00 82 02 82 81 83 01 00 B9 01 05", 1, -EPROTO },
	{ "81 03 01 05 00 82 02 82 81 83 01 00 B7 00", 1, -EPROTO },
	{ "81 03 01 05 00 82 02 82 81 83 01 00 B6 81", 1, -EPROTO },
	{ "81 03 01 05 00 82 02 82 81 83 01 00 B6 80", 1, -EPROTO },
	{ "81 03 01 05 00 82 02 82 81 83 01 00 00", 1, -EPROTO },
	{ "81 03 06 44 00 82 02 82 81 83 01 00 B8 02 41 00 B8 02 42 00 B8 02 43 00 B8 02 44 00"
	  " B8 02 45 00 B8 02 46 00 B8 02 47 00 B8 02 01 00", 1, -EMSGSIZE },
	/* Envelopes. */
	{ "", 2, -EPROTO },
	{ "D6", 2, -EPROTO },
	{ "D6 0B 99 01 0A 82 02 82 81 B8 02 81", 2, -EPROTO }, /* truncated */
	{ "D6 0A 99 02 0A 09 82 02 82 81 B8 00", 2, -EPROTO }, /* status of 0 bytes */
	{ "D6 0C 99 02 0A 09 82 02 82 81 B8 02 81 00", 2, -EPROTO }, /* two events */
	{ "D6 0A 99 00 82 02 82 81 B8 02 81 00", 2, -EPROTO },  /* no event */
	{ "D6 07 99 01 0A B8 02 81 00", 2, -EPROTO },           /* no devices */
	{ "D6 08 82 02 82 81 B8 02 81 00", 2, -EPROTO },        /* no event list */
	{ "D1 03 02 01 00", 2, -ENOTSUP },                      /* SMS-PP download */
	{ "D0 09 81 03 05 41 00 82 02 81 21", 2, -ENOTSUP },
	{ "D6 0B 99 01 0A 82 02 82 81 B8 02 81 00 00", 2, -EPROTO }, /* trailing */
};
/* clang-format on */

static int decode_kind(int kind, const uint8_t *p, size_t len)
{
	struct card_cat_command c;
	struct card_cat_response r;
	struct card_cat_event e;
	switch (kind) {
	case 0:
		return card_cat_msg_command_decode(p, len, &c);
	case 1:
		return card_cat_msg_response_decode(p, len, &r);
	default:
		return card_cat_msg_event_decode(p, len, &e);
	}
}

static void test_malformed(void)
{
	for (size_t i = 0; i < sizeof(bad_frames) / sizeof(bad_frames[0]); i++) {
		uint8_t b[300];
		size_t n = 0;
		hexv(bad_frames[i].hex, b, sizeof(b), &n);
		uint8_t *p = malloc(n ? n : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, b, n);
		int rc = decode_kind(bad_frames[i].kind, p, n);
		if (rc != bad_frames[i].rc)
			fprintf(stderr, "\nbad frame %zu: %s -> %d\n", i, bad_frames[i].hex, rc);
		CU_ASSERT_EQUAL(rc, bad_frames[i].rc);
		free(p);
	}
}

/* Unknown C-TLVs (1- and 3-byte tags, with or without CR) are skipped. */
static void test_unknown_skipped(void)
{
	uint8_t b[64];
	size_t n = 0;
	struct card_cat_command c;
	struct card_cat_response r;
	hexv("D0 15 81 03 03 42 00 82 02 81 21 9E 02 00 01 7F 80 01 01 AA B7 01 10", b, sizeof(b),
	     &n);
	CU_ASSERT_EQUAL(card_cat_msg_command_decode(b, n, &c), 0);
	CU_ASSERT_EQUAL(c.unknown, 2);
	CU_ASSERT(c.has_data_len && c.data_len == 0x10);
	/* A duplicate known object: the first one wins. */
	hexv("81 03 03 42 00 82 02 82 81 83 01 00 B7 01 05 B7 01 06 E8 00", b, sizeof(b), &n);
	CU_ASSERT_EQUAL(card_cat_msg_response_decode(b, n, &r), 0);
	CU_ASSERT_EQUAL(r.data_len, 5);
	CU_ASSERT_EQUAL(r.unknown, 1);
}

/* Limits: 256 bytes per proactive command, 255 per TR and envelope. */
static void test_sizes(void)
{
	uint8_t data[256], out[300];
	size_t n = 0;
	struct card_cat_command c = {
		.details = { 4, CAT_CMD_SEND_DATA, 1 },
		.devices = { CAT_DEV_UICC, CAT_DEV_CHANNEL(1) },
		.has_data = true,
	};
	memset(data, 0xA5, sizeof(data));
	c.data = bytes_make(data, 241);
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), 0);
	CU_ASSERT_EQUAL(n, 256);
	CU_ASSERT_EQUAL(memcmp(out, "\xD0\x81\xFD", 3), 0);
	struct card_cat_command d;
	CU_ASSERT_EQUAL(card_cat_msg_command_decode(out, n, &d), 0);
	CU_ASSERT_EQUAL(d.data.len, 241);
	c.data = bytes_make(data, 242);
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), -EMSGSIZE);
	c.data = bytes_make(data, 256);
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), -EINVAL);
	c.data = bytes_make(data, CAT_SEND_DATA_MAX);
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, 100, &n), -EMSGSIZE);
	/* A 257-byte D0 81 FE ... is over a FETCH. */
	uint8_t big[257];
	memset(big, 0, sizeof(big));
	big[0] = 0xD0;
	big[1] = 0x81;
	big[2] = 0xFE;
	CU_ASSERT_EQUAL(card_cat_msg_command_decode(big, sizeof(big), &d), -EMSGSIZE);

	struct card_cat_response r = {
		.details = { 3, CAT_CMD_RECEIVE_DATA, 0 },
		.devices = { CAT_DEV_TERMINAL, CAT_DEV_UICC },
		.has_data = true,
		.data = bytes_make(data, CAT_RECEIVE_DATA_MAX),
		.has_data_len = true,
	};
	CU_ASSERT_EQUAL(card_cat_msg_response_encode(&r, out, sizeof(out), &n), 0);
	CU_ASSERT_EQUAL(n, 255);
	struct card_cat_response rr;
	CU_ASSERT_EQUAL(card_cat_msg_response_decode(out, n, &rr), 0);
	CU_ASSERT_EQUAL(rr.data.len, CAT_RECEIVE_DATA_MAX);
	r.data = bytes_make(data, CAT_RECEIVE_DATA_MAX + 1);
	CU_ASSERT_EQUAL(card_cat_msg_response_encode(&r, out, sizeof(out), &n), -EMSGSIZE);
	big[0] = 0x81;
	CU_ASSERT_EQUAL(card_cat_msg_response_decode(big, 256, &rr), -EMSGSIZE);
	struct card_cat_event e;
	CU_ASSERT_EQUAL(card_cat_msg_event_decode(big, 256, &e), -EMSGSIZE);
}

static void test_profile(void)
{
	uint8_t out[32];
	size_t n = 0;
	struct card_cat_profile tp = { 0 }, back;
	static const uint8_t want[] = { 0x01, 0, 0,    0,    0x01, 0x0C, 0, 0,   0,
					0,    0, 0x1F, 0xE0, 0,    0,    0, 0x04 };
	tp.set_up_event_list = tp.ev_data_available = tp.ev_channel_status = true;
	tp.open_channel = tp.close_channel = tp.receive_data = tp.send_data = true;
	tp.get_channel_status = tp.tcp_server = true;
	tp.channels = 7;
	CU_ASSERT_EQUAL(card_cat_msg_profile_encode(&tp, out, sizeof(out), &n), 0);
	CU_ASSERT(n == sizeof(want) && memcmp(out, want, n) == 0);
	CU_ASSERT_EQUAL(card_cat_msg_profile_decode(out, n, &back), 0);
	CU_ASSERT_EQUAL(back.channels, 7);
	CU_ASSERT_EQUAL(card_cat_msg_profile_encode(&tp, out, 16, &n), -EMSGSIZE);
	tp.channels = 8;
	CU_ASSERT_EQUAL(card_cat_msg_profile_encode(&tp, out, sizeof(out), &n), -EINVAL);
	/* Each bit alone. */
	/* clang-format off */
	static const struct {
		size_t byte;
		uint8_t mask;
		size_t off; /* offsetof the bool, or SIZE_MAX for channels */
	} bits[] = {
		{ 5, 0x01, offsetof(struct card_cat_profile, set_up_event_list) },
		{ 6, 0x04, offsetof(struct card_cat_profile, ev_data_available) },
		{ 6, 0x08, offsetof(struct card_cat_profile, ev_channel_status) },
		{ 12, 0x01, offsetof(struct card_cat_profile, open_channel) },
		{ 12, 0x02, offsetof(struct card_cat_profile, close_channel) },
		{ 12, 0x04, offsetof(struct card_cat_profile, receive_data) },
		{ 12, 0x08, offsetof(struct card_cat_profile, send_data) },
		{ 12, 0x10, offsetof(struct card_cat_profile, get_channel_status) },
		{ 17, 0x04, offsetof(struct card_cat_profile, tcp_server) },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		uint8_t p[20];
		memset(p, 0xFF, sizeof(p));
		p[bits[i].byte - 1] = (uint8_t)~bits[i].mask;
		CU_ASSERT_EQUAL(card_cat_msg_profile_decode(p, sizeof(p), &back), 0);
		CU_ASSERT_FALSE(*(bool *)((char *)&back + bits[i].off));
		memset(p, 0, sizeof(p));
		p[bits[i].byte - 1] = bits[i].mask;
		CU_ASSERT_EQUAL(card_cat_msg_profile_decode(p, sizeof(p), &back), 0);
		CU_ASSERT_TRUE(*(bool *)((char *)&back + bits[i].off));
	}
	uint8_t p13[13] = { 0 };
	p13[12] = 0x5F; /* 2 channels, other bits of byte 13 set */
	CU_ASSERT_EQUAL(card_cat_msg_profile_decode(p13, 13, &back), 0);
	CU_ASSERT_EQUAL(back.channels, 2);
	CU_ASSERT_EQUAL(card_cat_msg_profile_decode(p13, 12, &back), 0);
	CU_ASSERT_EQUAL(back.channels, 0);
}

static void test_capdu(void)
{
	uint8_t out[300];
	size_t n = 0;
	CU_ASSERT_EQUAL(card_cat_msg_capdu(CAT_INS_FETCH, NULL, 256, out, sizeof(out), &n), 0);
	CU_ASSERT(n == 5 && memcmp(out, "\x80\x12\x00\x00\x00", 5) == 0);
	CU_ASSERT_EQUAL(card_cat_msg_capdu(CAT_INS_FETCH, NULL, 257, out, sizeof(out), &n),
			-EINVAL);
	CU_ASSERT_EQUAL(card_cat_msg_capdu(CAT_INS_FETCH, NULL, 0, out, sizeof(out), &n), -EINVAL);
	CU_ASSERT_EQUAL(card_cat_msg_capdu(CAT_INS_ENVELOPE, NULL, 3, out, sizeof(out), &n),
			-EINVAL);
	CU_ASSERT_EQUAL(card_cat_msg_capdu(CAT_INS_ENVELOPE, out, 256, out, sizeof(out), &n),
			-EINVAL);
	CU_ASSERT_EQUAL(card_cat_msg_capdu(CAT_INS_ENVELOPE, (const uint8_t *)"ab", 2, out, 6, &n),
			-EMSGSIZE);
	CU_ASSERT_EQUAL(card_cat_msg_capdu(CAT_INS_ENVELOPE, (const uint8_t *)"ab", 2, out, 7, &n),
			0);
	CU_ASSERT(n == 7 && memcmp(out,
				   "\x80\xC2\x00\x00\x02"
				   "ab",
				   7) == 0);
}

static void test_names(void)
{
	CU_ASSERT_STRING_EQUAL(card_cat_cmd_name(CAT_CMD_OPEN_CHANNEL), "OPEN CHANNEL");
	CU_ASSERT_STRING_EQUAL(card_cat_cmd_name(0x99), "unknown");
	CU_ASSERT_STRING_EQUAL(card_cat_result_name(CAT_RES_MODIFIED),
			       "performed with modification");
	CU_ASSERT_STRING_EQUAL(card_cat_bip_error_name(CAT_BIP_CHANNEL_CLOSED), "channel closed");
	CU_ASSERT_STRING_EQUAL(card_cat_bip_error_name(CAT_BIP_PORT_UNAVAILABLE),
			       "port not available");
	CU_ASSERT_STRING_EQUAL(card_cat_event_name(CAT_EVENT_DATA_AVAILABLE), "data available");
	CU_ASSERT_STRING_EQUAL(card_cat_chst_state_name(0x0100), "CLOSED");
	CU_ASSERT_STRING_EQUAL(card_cat_chst_state_name(0x8700), "ESTABLISHED");
	CU_ASSERT_STRING_EQUAL(card_cat_chst_state_name(0xC100), "reserved");
	CU_ASSERT_EQUAL(CAT_CHST(CAT_CHST_ESTABLISHED, 7, 5), 0x8705);
	CU_ASSERT_EQUAL(CAT_CHST_INFO(0x4105), CAT_CHST_INFO_LINK_DROPPED);
	CU_ASSERT(CAT_RES_IS_SUCCESS(CAT_RES_MODIFIED) && !CAT_RES_IS_SUCCESS(CAT_RES_BIP_ERROR));
}

/* The one channel-state table: names, Channel status bits both ways. */
static void test_ch_states(void)
{
	/* clang-format off */
	static const struct {
		enum card_cat_ch_state st;
		const char *name;
		uint8_t chst;
	} rows[] = {
		{ CAT_CH_CLOSED, "CLOSED", CAT_CHST_CLOSED },
		{ CAT_CH_LISTEN, "LISTEN", CAT_CHST_LISTEN },
		{ CAT_CH_ESTABLISHED, "ESTABLISHED", CAT_CHST_ESTABLISHED },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum card_cat_ch_state got = (enum card_cat_ch_state)99;
		CU_ASSERT_STRING_EQUAL(card_cat_ch_state_name(rows[i].st), rows[i].name);
		CU_ASSERT_EQUAL(card_cat_ch_state_chst(rows[i].st), rows[i].chst);
		CU_ASSERT_TRUE(card_cat_chst_ch_state(CAT_CHST(rows[i].chst, 3, 5), &got));
		CU_ASSERT_EQUAL(got, rows[i].st);
	}
	enum card_cat_ch_state got = CAT_CH_LISTEN;
	CU_ASSERT_FALSE(card_cat_chst_ch_state(0xC100, &got));
	CU_ASSERT_EQUAL(got, CAT_CH_LISTEN);
	CU_ASSERT_STRING_EQUAL(card_cat_ch_state_name((enum card_cat_ch_state)9), "unknown");
	CU_ASSERT_EQUAL(card_cat_ch_state_chst((enum card_cat_ch_state)9), CAT_CHST_CLOSED);
}

/* The command table: rows, the common objects, the mandatory one. */
static void test_cmd_table(void)
{
	/* clang-format off */
	static const struct {
		uint8_t type;
		enum card_cat_dst dst;
		uint8_t mandatory;
	} rows[] = {
		{ CAT_CMD_SET_UP_EVENT_LIST, CAT_DST_TERMINAL, CAT_TAG_EVENT_LIST },
		{ CAT_CMD_OPEN_CHANNEL, CAT_DST_TERMINAL, CAT_TAG_BUFFER_SIZE },
		{ CAT_CMD_CLOSE_CHANNEL, CAT_DST_CHANNEL, 0 },
		{ CAT_CMD_RECEIVE_DATA, CAT_DST_CHANNEL, CAT_TAG_CHANNEL_DATA_LENGTH },
		{ CAT_CMD_SEND_DATA, CAT_DST_CHANNEL, CAT_TAG_CHANNEL_DATA },
		{ CAT_CMD_GET_CHANNEL_STATUS, CAT_DST_TERMINAL, 0 },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct card_cat_cmd_spec *s = card_cat_cmd_spec(rows[i].type);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_EQUAL(s->type, rows[i].type);
		CU_ASSERT_EQUAL(s->dst, rows[i].dst);
		CU_ASSERT_EQUAL(s->mandatory, rows[i].mandatory);
		if (s->mandatory)
			CU_ASSERT_TRUE(card_cat_cmd_allows(s, s->mandatory));
		CU_ASSERT_TRUE(card_cat_cmd_allows(s, CAT_TAG_ALPHA_ID));
		CU_ASSERT_TRUE(card_cat_cmd_allows(s, CAT_TAG_ICON_ID));
		CU_ASSERT_TRUE(card_cat_cmd_allows(s, CAT_TAG_TEXT_ATTRIBUTE));
		CU_ASSERT_TRUE(card_cat_cmd_allows(s, CAT_TAG_FRAME_ID));
		CU_ASSERT_FALSE(card_cat_cmd_allows(s, 0x7F));
		CU_ASSERT_FALSE(card_cat_cmd_allows(s, 0));
	}
	CU_ASSERT_PTR_NULL(card_cat_cmd_spec(CAT_CMD_REFRESH));
	const struct card_cat_cmd_spec *open = card_cat_cmd_spec(CAT_CMD_OPEN_CHANNEL);
	CU_ASSERT_TRUE(card_cat_cmd_allows(open, CAT_TAG_NETWORK_ACCESS_NAME));
	CU_ASSERT_FALSE(card_cat_cmd_allows(open, CAT_TAG_CHANNEL_DATA));

	/* The card's encoder goes by the table: mandatory object, device. */
	struct card_cat_command c;
	uint8_t out[64];
	size_t n;
	memset(&c, 0, sizeof(c));
	c.details.number = 1;
	c.details.type = CAT_CMD_RECEIVE_DATA;
	c.devices.src = CAT_DEV_UICC;
	c.devices.dst = CAT_DEV_CHANNEL(1);
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), -EINVAL);
	c.has_data_len = true;
	c.data_len = 10;
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), 0);
	c.devices.dst = CAT_DEV_TERMINAL;
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), -EINVAL);
	c.devices.dst = CAT_DEV_CHANNEL(0);
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), -EINVAL);
	c.details.type = CAT_CMD_GET_CHANNEL_STATUS;
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), -EINVAL);
	c.devices.dst = CAT_DEV_TERMINAL;
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), 0);
}

/* The terminal's scan: what it can answer even of a malformed command. */
static void test_command_scan(void)
{
	/* clang-format off */
	static const struct {
		const char *hex;
		int rc;
		size_t len, trailing, n_objs;
		bool malformed, has_details, has_devices;
	} rows[] = {
		{ "D00C810303420082028121B701C8", 0, 14, 0, 1, false, true, true },
		{ "D00C810303420082028121B701C89000", 0, 14, 2, 1, false, true, true },
		{ "D081098103054100820281 21", 0, 12, 0, 0, false, true, true },
		{ "D00E810303420082028121B701C8", 0, 14, 0, 1, true, true, true },   /* cut */
		{ "D0058102034282", 0, 7, 0, 0, true, false, false },                /* short details, broken */
		{ "D00A8104034200008202812105", 0, 12, 1, 0, true, true, true },     /* details of 4 */
		{ "D1028100", -EPROTO, 0, 0, 0, false, false, false },
		{ "D082000100", -EPROTO, 0, 0, 0, false, false, false },
		{ "D081", -EPROTO, 0, 0, 0, false, false, false },
		{ "D0", -EPROTO, 0, 0, 0, false, false, false },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t in[64];
		size_t len = 0;
		for (const char *h = rows[i].hex; h[0] && h[1];) {
			if (h[0] == ' ') {
				h++;
				continue;
			}
			unsigned v;
			sscanf(h, "%2x", &v);
			in[len++] = (uint8_t)v;
			h += 2;
		}
		struct card_cat_command_scan sc;
		int rc = card_cat_msg_command_scan(in, len, &sc);
		bool ok = rc == rows[i].rc;
		if (rc == 0)
			ok = ok && sc.len == rows[i].len && sc.trailing == rows[i].trailing &&
			     sc.n_objs == rows[i].n_objs && sc.malformed == rows[i].malformed &&
			     sc.has_details == rows[i].has_details &&
			     sc.has_devices == rows[i].has_devices;
		if (!ok)
			fprintf(stderr,
				"\nscan row %zu: rc %d len %zu trailing %zu objs %zu mal %d\n", i,
				rc, sc.len, sc.trailing, sc.n_objs, sc.malformed);
		CU_ASSERT_TRUE(ok);
	}
	/* The details and the CR bit of the other objects. */
	static const uint8_t open[] = {
		0xD0, 0x12, 0x81, 0x03, 0x02, 0x40, 0x00, 0x82, 0x02, 0x81,
		0x82, 0xB9, 0x02, 0x05, 0x78, 0x3C, 0x03, 0x03, 0x10, 0x14
	};
	struct card_cat_command_scan sc;
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_command_scan(open, sizeof(open), &sc), 0);
	CU_ASSERT_EQUAL(sc.details.number, 2);
	CU_ASSERT_EQUAL(sc.details.type, CAT_CMD_OPEN_CHANNEL);
	CU_ASSERT_EQUAL_FATAL(sc.n_objs, 2);
	CU_ASSERT(sc.objs[0].tag == CAT_TAG_BUFFER_SIZE && sc.objs[0].cr);
	CU_ASSERT(sc.objs[1].tag == CAT_TAG_TRANSPORT_LEVEL && !sc.objs[1].cr);
}

/* Duration (§8.8), POLL INTERVAL / POLLING OFF (§6.6.5-6) and their
 * TERMINAL PROFILE bits (byte 3 b6, b7). */
static void test_poll_interval(void)
{
	/* clang-format off */
	static const struct {
		uint8_t unit, interval;
		uint32_t ms;
	} to_ms[] = {
		{ CAT_DURATION_SECONDS, 5, 5000 }, { CAT_DURATION_TENTHS, 15, 1500 },
		{ CAT_DURATION_MINUTES, 2, 120000 }, { 3, 1, 0 }, { CAT_DURATION_SECONDS, 0, 0 },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(to_ms) / sizeof(to_ms[0]); i++) {
		struct card_cat_duration d = { to_ms[i].unit, to_ms[i].interval };
		CU_ASSERT_EQUAL(card_cat_duration_ms(d), to_ms[i].ms);
	}
	/* clang-format off */
	static const struct {
		uint32_t ms;
		uint8_t unit, interval;
	} from_ms[] = {
		{ 0, CAT_DURATION_TENTHS, 1 },       { 100, CAT_DURATION_TENTHS, 1 },
		{ 101, CAT_DURATION_TENTHS, 2 },     { 1500, CAT_DURATION_TENTHS, 15 },
		{ 25500, CAT_DURATION_TENTHS, 255 }, { 25501, CAT_DURATION_SECONDS, 26 },
		{ 255000, CAT_DURATION_SECONDS, 255 }, { 255001, CAT_DURATION_MINUTES, 5 },
		{ 3600000, CAT_DURATION_MINUTES, 60 }, { 0xFFFFFFFFu, CAT_DURATION_MINUTES, 255 },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(from_ms) / sizeof(from_ms[0]); i++) {
		struct card_cat_duration d = card_cat_duration_from_ms(from_ms[i].ms);
		CU_ASSERT_EQUAL(d.unit, from_ms[i].unit);
		CU_ASSERT_EQUAL(d.interval, from_ms[i].interval);
	}
	uint8_t want[64], out[64];
	size_t wn = 0, n = 0;
	struct card_cat_command c = {
		.details = { 1, CAT_CMD_POLL_INTERVAL, 0 },
		.devices = { CAT_DEV_UICC, CAT_DEV_TERMINAL },
		.has_duration = true,
		.duration = { CAT_DURATION_TENTHS, 15 },
	}, back;
	hexv("D0 0D 81 03 01 03 00 82 02 81 82 84 02 02 0F", want, sizeof(want), &wn);
	CU_ASSERT_EQUAL(card_cat_msg_command_encode(&c, out, sizeof(out), &n), 0);
	CU_ASSERT(n == wn && memcmp(out, want, n) == 0);
	CU_ASSERT_EQUAL(card_cat_msg_command_decode(out, n, &back), 0);
	CU_ASSERT(back.has_duration && back.duration.unit == CAT_DURATION_TENTHS &&
		  back.duration.interval == 15);
	/* POLL INTERVAL without its Duration; a Duration of 3 bytes. */
	hexv("D0 09 81 03 01 03 00 82 02 81 82", want, sizeof(want), &wn);
	CU_ASSERT_EQUAL(card_cat_msg_command_decode(want, wn, &back), -EPROTO);
	hexv("D0 0E 81 03 01 03 00 82 02 81 82 84 03 02 0F 00", want, sizeof(want), &wn);
	CU_ASSERT_EQUAL(card_cat_msg_command_decode(want, wn, &back), -EPROTO);
	/* POLLING OFF has nothing but details and devices. */
	hexv("D0 09 81 03 02 04 00 82 02 81 82", want, sizeof(want), &wn);
	CU_ASSERT_EQUAL(card_cat_msg_command_decode(want, wn, &back), 0);
	CU_ASSERT_FALSE(back.has_duration);
	/* The terminal's answer gives the interval it granted. */
	struct card_cat_response r = {
		.details = { 1, CAT_CMD_POLL_INTERVAL, 0 },
		.devices = { CAT_DEV_TERMINAL, CAT_DEV_UICC },
		.result = CAT_RES_OK,
		.has_duration = true,
		.duration = { CAT_DURATION_SECONDS, 2 },
	}, rback;
	hexv("81 03 01 03 00 82 02 82 81 83 01 00 84 02 01 02", want, sizeof(want), &wn);
	CU_ASSERT_EQUAL(card_cat_msg_response_encode(&r, out, sizeof(out), &n), 0);
	CU_ASSERT(n == wn && memcmp(out, want, n) == 0);
	CU_ASSERT_EQUAL(card_cat_msg_response_decode(out, n, &rback), 0);
	CU_ASSERT(rback.has_duration && card_cat_duration_ms(rback.duration) == 2000);
	/* Profile bits. */
	struct card_cat_profile tp = { .poll_interval = true, .polling_off = true }, tback;
	CU_ASSERT_EQUAL(card_cat_msg_profile_encode(&tp, out, sizeof(out), &n), 0);
	CU_ASSERT_EQUAL(out[2], 0x60);
	CU_ASSERT_EQUAL(card_cat_msg_profile_decode(out, n, &tback), 0);
	CU_ASSERT(tback.poll_interval && tback.polling_off);
	CU_ASSERT_EQUAL(card_cat_msg_profile_decode(out, 2, &tback), 0);
	CU_ASSERT(!tback.poll_interval && !tback.polling_off);
}

/* clang-format off */
static CU_TestInfo tests[] = {
	UNIT_TEST(test_example_round_trip),
	UNIT_TEST(test_example_fields),
	UNIT_TEST(test_encode_from_scratch),
	UNIT_TEST(test_cr_and_long_lengths),
	UNIT_TEST(test_every_truncation),
	UNIT_TEST(test_malformed),
	UNIT_TEST(test_unknown_skipped),
	UNIT_TEST(test_sizes),
	UNIT_TEST(test_profile),
	UNIT_TEST(test_poll_interval),
	UNIT_TEST(test_capdu),
	UNIT_TEST(test_names),
	UNIT_TEST(test_ch_states),
	UNIT_TEST(test_cmd_table),
	UNIT_TEST(test_command_scan),
	CU_TEST_INFO_NULL,
};
/* clang-format on */

int unit_register(void)
{
	return unit_add_suite("card_cat_msg", tests);
}
