/* cat_msg.h - CAT / BIP messages, both directions (ETSI TS 102 223 §6-§8,
 * Annex C; UICC server mode per TS 102 223 §6.4.27; bytes per doc/protocol.md §1).
 *
 * Encoders and decoders for proactive commands (BER-TLV D0), TERMINAL
 * RESPONSE (a C-TLV list without outer tag), ENVELOPE event download
 * (BER-TLV D6) and TERMINAL PROFILE. They are used by the card (which
 * encodes commands and decodes responses and events) and by the
 * terminal-side gateway (the other way round).
 *
 * Decoding: C-TLV tags are accepted with and without the CR bit, lengths
 * as 00-7F or 81 xx; unknown C-TLVs are skipped (counted in `unknown`); the
 * first occurrence of a known tag wins, except Channel status, which a GET
 * CHANNEL STATUS response may repeat. Decoded structs hold views (struct
 * bytes) into the caller's input: valid as long as that input is.
 * Decoders never read past `len` and return 0, -EPROTO (malformed,
 * truncated, trailing bytes, a mandatory object missing, an object of the
 * wrong length), -EMSGSIZE (input over the CAT_*_MAX limit of its APDU,
 * more Channel status objects than channels) or -ENOTSUP (a well-formed
 * ENVELOPE that is not an event download).
 *
 * Encoding: every C-TLV is written with the CR bit (as in
 * doc/protocol.md §1.13), lengths >= 80 as 81 xx. Encoders return 0 and *out_len,
 * -EMSGSIZE when the message does not fit `cap` or its APDU limit,
 * -EINVAL for values that cannot be coded. */
#ifndef SCWS_CARD_CAT_MSG_H
#define SCWS_CARD_CAT_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/limits.h"

/* APDUs (TS 102 221 §10.1.2; CLA 80). */
#define CAT_CLA 0x80
#define CAT_INS_TERMINAL_PROFILE 0x10
#define CAT_INS_FETCH 0x12
#define CAT_INS_TERMINAL_RESPONSE 0x14
#define CAT_INS_ENVELOPE 0xC2

/* BER-TLV tags (TS 101 220 §7.2). */
#define CAT_BER_PROACTIVE 0xD0
#define CAT_BER_SMS_PP 0xD1
#define CAT_BER_EVENT_DOWNLOAD 0xD6

/* COMPREHENSION-TLV tags without the CR bit (TS 101 220 §7.2, doc/protocol.md §1.3). */
#define CAT_TAG_COMMAND_DETAILS 0x01
#define CAT_TAG_DEVICE_IDENTITIES 0x02
#define CAT_TAG_RESULT 0x03
#define CAT_TAG_DURATION 0x04
#define CAT_TAG_ALPHA_ID 0x05
#define CAT_TAG_TEXT_STRING 0x0D
#define CAT_TAG_EVENT_LIST 0x19
#define CAT_TAG_ICON_ID 0x1E
#define CAT_TAG_BEARER_DESCRIPTION 0x35
#define CAT_TAG_CHANNEL_DATA 0x36
#define CAT_TAG_CHANNEL_DATA_LENGTH 0x37
#define CAT_TAG_CHANNEL_STATUS 0x38
#define CAT_TAG_BUFFER_SIZE 0x39
#define CAT_TAG_TRANSPORT_LEVEL 0x3C
#define CAT_TAG_OTHER_ADDRESS 0x3E
#define CAT_TAG_NETWORK_ACCESS_NAME 0x47
#define CAT_TAG_TEXT_ATTRIBUTE 0x50
#define CAT_TAG_FRAME_ID 0x68
#define CAT_CR 0x80 /* comprehension required, b8 of a 1-byte tag */

/* Type of command (TS 102 223 §9.4). */
#define CAT_CMD_REFRESH 0x01
#define CAT_CMD_MORE_TIME 0x02
#define CAT_CMD_POLL_INTERVAL 0x03
#define CAT_CMD_POLLING_OFF 0x04
#define CAT_CMD_SET_UP_EVENT_LIST 0x05
#define CAT_CMD_OPEN_CHANNEL 0x40
#define CAT_CMD_CLOSE_CHANNEL 0x41
#define CAT_CMD_RECEIVE_DATA 0x42
#define CAT_CMD_SEND_DATA 0x43
#define CAT_CMD_GET_CHANNEL_STATUS 0x44

/* The proactive commands of UICC server mode, one row each: where they go,
 * which objects they may carry besides Command details, Device identities
 * and the ones every command may carry (Alpha identifier, Icon identifier,
 * Text attribute, Frame identifier), and the one they need (TS 102 223
 * §6.6.16, §6.6.27-31, §6.10.4-5). The card's encoder refuses a command
 * without its mandatory object or to the wrong device; the decoder refuses
 * one without its mandatory object; the terminal (transport/bip_term.c)
 * answers by the same row. */
enum card_cat_dst {
	CAT_DST_TERMINAL, /* Device identities destination 82 */
	CAT_DST_CHANNEL,  /* 21..27 */
};

struct card_cat_cmd_spec {
	uint8_t type; /* CAT_CMD_* */
	enum card_cat_dst dst;
	uint8_t allowed[8]; /* CAT_TAG_* it may carry, 0-terminated */
	uint8_t mandatory;  /* the CAT_TAG_* it needs; 0: none */
};

/* The row of a command type; NULL for a type without one. */
const struct card_cat_cmd_spec *card_cat_cmd_spec(uint8_t type);
/* True when a command of row s may carry C-TLV tag (without the CR bit). */
bool card_cat_cmd_allows(const struct card_cat_cmd_spec *s, uint16_t tag);

/* Command qualifiers (TS 102 223 §8.6, doc/protocol.md §1.5). */
#define CAT_QUAL_CLOSE_TO_LISTEN 0x01  /* CLOSE CHANNEL, server mode: back to TCP LISTEN */
#define CAT_QUAL_SEND_IMMEDIATELY 0x01 /* SEND DATA b1 */

/* Device identities (TS 102 223 §8.7). */
#define CAT_DEV_KEYPAD 0x01
#define CAT_DEV_DISPLAY 0x02
#define CAT_DEV_CHANNEL(n) (0x20 | ((n)&0x07)) /* channel 1..7: 21..27 */
#define CAT_DEV_UICC 0x81
#define CAT_DEV_TERMINAL 0x82
#define CAT_DEV_NETWORK 0x83

/* Events (TS 102 223 §8.25). */
#define CAT_EVENT_DATA_AVAILABLE 0x09
#define CAT_EVENT_CHANNEL_STATUS 0x0A

/* General result (TS 102 223 §8.12). 00-0F: performed; 10-1F: terminated by
 * the user or proactive session end; 20-2F: temporary problem; 30-3F:
 * permanent problem. */
#define CAT_RES_OK 0x00
#define CAT_RES_PARTIAL_COMPREHENSION 0x01
#define CAT_RES_MISSING_INFO 0x02
#define CAT_RES_ICON_NOT_DISPLAYED 0x04
#define CAT_RES_MODIFIED 0x07
#define CAT_RES_USER_TERMINATED 0x10
#define CAT_RES_TERMINAL_UNABLE 0x20
#define CAT_RES_NETWORK_UNABLE 0x21
#define CAT_RES_USER_REJECTED 0x22
#define CAT_RES_BEYOND_CAPABILITIES 0x30
#define CAT_RES_TYPE_NOT_UNDERSTOOD 0x31
#define CAT_RES_DATA_NOT_UNDERSTOOD 0x32
#define CAT_RES_NUMBER_NOT_KNOWN 0x33
#define CAT_RES_VALUES_MISSING 0x36
#define CAT_RES_BIP_ERROR 0x3A
#define CAT_RES_IS_SUCCESS(r) ((r) < 0x10)

/* Additional information for CAT_RES_BIP_ERROR (TS 102 223 §8.12.11). */
#define CAT_BIP_NO_CAUSE 0x00
#define CAT_BIP_NO_CHANNEL 0x01
#define CAT_BIP_CHANNEL_CLOSED 0x02
#define CAT_BIP_CHANNEL_ID_INVALID 0x03
#define CAT_BIP_BUFFER_SIZE_UNAVAILABLE 0x04
#define CAT_BIP_SECURITY_ERROR 0x05
#define CAT_BIP_TRANSPORT_UNAVAILABLE 0x06
#define CAT_BIP_REMOTE_UNREACHABLE 0x07
#define CAT_BIP_SERVICE_ERROR 0x08
#define CAT_BIP_SERVICE_ID_UNKNOWN 0x09
#define CAT_BIP_PORT_UNAVAILABLE 0x10
#define CAT_BIP_LAUNCH_PARAMS 0x11
#define CAT_BIP_LAUNCH_FAILED 0x12

/* UICC/terminal interface transport level, protocol type (§8.59). */
#define CAT_TRANSPORT_UDP_CLIENT_REMOTE 0x01
#define CAT_TRANSPORT_TCP_CLIENT_REMOTE 0x02
#define CAT_TRANSPORT_TCP_SERVER 0x03
#define CAT_TRANSPORT_UDP_CLIENT_LOCAL 0x04
#define CAT_TRANSPORT_TCP_CLIENT_LOCAL 0x05
#define CAT_TRANSPORT_DIRECT 0x06

/* Channel status, 2 bytes as one big-endian number (TS 102 223 §8.56,
 * doc/protocol.md §1.7): byte 1 = state (b8-b7) | channel id (b3-b1),
 * byte 2 = further info. */
#define CAT_CHST_CLOSED 0x00
#define CAT_CHST_LISTEN 0x40
#define CAT_CHST_ESTABLISHED 0x80
#define CAT_CHST_STATE_MASK 0xC0
#define CAT_CHST_ID_MASK 0x07
#define CAT_CHST_INFO_NONE 0x00
#define CAT_CHST_INFO_LINK_DROPPED 0x05
#define CAT_CHST(state, ch, info) \
	((uint16_t)((((state) | ((ch)&CAT_CHST_ID_MASK)) << 8) | ((info)&0xFF)))
#define CAT_CHST_CHANNEL(st) ((unsigned)(((st) >> 8) & CAT_CHST_ID_MASK))
#define CAT_CHST_STATE(st) ((uint8_t)(((st) >> 8) & CAT_CHST_STATE_MASK))
#define CAT_CHST_INFO(st) ((uint8_t)((st)&0xFF))

/* A BIP channel's state in UICC server mode (TS 102 223 §8.56): the one
 * encoding of the card (card/bip.c) and the terminal (transport/bip_term.c);
 * on the wire it is b8-b7 of a Channel status (CAT_CHST_CLOSED, _LISTEN,
 * _ESTABLISHED). */
enum card_cat_ch_state {
	CAT_CH_CLOSED,
	CAT_CH_LISTEN,
	CAT_CH_ESTABLISHED,
};

/* Channel data length meaning "more than 255" (§8.54). */
#define CAT_DATA_LEN_MORE 0xFF

/* Duration (TS 102 223 §8.8): a time unit and an interval 01..FF. */
#define CAT_DURATION_MINUTES 0x00
#define CAT_DURATION_SECONDS 0x01
#define CAT_DURATION_TENTHS 0x02

struct card_cat_duration {
	uint8_t unit;     /* CAT_DURATION_* */
	uint8_t interval; /* 01..FF */
};

/* The duration in milliseconds; 0 for an interval of 0 or an unknown unit. */
uint32_t card_cat_duration_ms(struct card_cat_duration d);
/* The shortest duration at least ms long (tenths up to 25.5 s, then
 * seconds, then minutes; 255 minutes at most); ms 0 gives 1 tenth. */
struct card_cat_duration card_cat_duration_from_ms(uint32_t ms);

struct card_cat_details {
	uint8_t number; /* 01..FE */
	uint8_t type;   /* CAT_CMD_* */
	uint8_t qualifier;
};

struct card_cat_devices {
	uint8_t src, dst; /* CAT_DEV_* */
};

/* One proactive command (BER-TLV D0). Which members are mandatory depends
 * on details.type (checked by the decoder; the encoder writes what has_*
 * says): SET UP EVENT LIST: events; OPEN CHANNEL: buffer_size; RECEIVE
 * DATA: data_len; SEND DATA: data; POLL INTERVAL: duration. Order written:
 * details, devices, duration, alpha, events, bearer, buffer size,
 * transport level, data length, data. */
struct card_cat_command {
	struct card_cat_details details;
	struct card_cat_devices devices;
	bool has_duration;
	struct card_cat_duration duration; /* POLL INTERVAL: the interval asked */
	bool has_alpha;
	struct bytes alpha; /* Alpha identifier (may be empty) */
	bool has_events;
	struct bytes events; /* Event list: one byte per event */
	bool has_bearer;
	struct bytes bearer; /* Bearer description (client modes; read only) */
	bool has_buffer_size;
	uint16_t buffer_size;
	bool has_transport;
	uint8_t transport; /* CAT_TRANSPORT_* */
	uint16_t port;
	bool has_data_len;
	uint8_t data_len; /* RECEIVE DATA: bytes requested */
	bool has_data;
	struct bytes data; /* SEND DATA: channel data, <= 255 bytes */
	unsigned unknown;  /* C-TLVs skipped by the decoder */
};

/* TERMINAL RESPONSE. Order written: details, devices, result, duration,
 * channel status(es), buffer size, data, data length. */
struct card_cat_response {
	struct card_cat_details details;
	struct card_cat_devices devices;
	uint8_t result;           /* CAT_RES_* */
	struct bytes result_info; /* additional information (may be empty) */
	bool has_duration;
	struct card_cat_duration duration; /* POLL INTERVAL: the interval granted */
	size_t n_status;
	uint16_t status[CAT_BIP_CHANNELS_MAX]; /* Channel status, CAT_CHST() */
	bool has_buffer_size;
	uint16_t buffer_size;
	bool has_data;
	struct bytes data; /* RECEIVE DATA: channel data */
	bool has_data_len;
	uint8_t data_len; /* RECEIVE: bytes left; SEND: free space; FF = > 255 */
	unsigned unknown;
};

/* ENVELOPE (Event download), D6: exactly one event. */
struct card_cat_event {
	uint8_t event; /* CAT_EVENT_* */
	struct card_cat_devices devices;
	bool has_status;
	uint16_t status; /* Channel status, CAT_CHST() */
	bool has_data_len;
	uint8_t data_len; /* Data available: bytes in Rx buffer; FF = > 255 */
	unsigned unknown;
};

/* What a TERMINAL PROFILE says about BIP server mode (TS 102 223 §5.2,
 * doc/protocol.md §1.12). Bytes the terminal did not send count as zero. */
struct card_cat_profile {
	bool poll_interval;      /* byte 3 b6 */
	bool polling_off;        /* byte 3 b7 */
	bool set_up_event_list;  /* byte 5 b1 */
	bool ev_data_available;  /* byte 6 b3 */
	bool ev_channel_status;  /* byte 6 b4 */
	bool open_channel;       /* byte 12 b1 */
	bool close_channel;      /* byte 12 b2 */
	bool receive_data;       /* byte 12 b3 */
	bool send_data;          /* byte 12 b4 */
	bool get_channel_status; /* byte 12 b5 */
	uint8_t channels;        /* byte 13 b8-b6: 0..7 */
	bool tcp_server;         /* byte 17 b3: TCP, UICC in server mode */
};

__attribute__((warn_unused_result)) int card_cat_msg_command_encode(
	const struct card_cat_command *c, uint8_t *out, size_t cap, size_t *out_len);
/* `p` is the FETCH response data: exactly one D0 TLV. */
__attribute__((warn_unused_result)) int card_cat_msg_command_decode(const uint8_t *p, size_t len,
								    struct card_cat_command *out);

/* What a terminal reads of a FETCHed proactive command before it decodes
 * it, so that it can answer even a malformed one (TS 102 223 §6.10): the
 * D0 header (length 00-7F or 81 xx), Command details and Device identities
 * (the first of each; a details object under 3 bytes is passed over), and
 * the tag and CR bit of every other object. */
struct card_cat_command_scan {
	size_t len;      /* header + value as far as it came: decode p[0..len) */
	size_t trailing; /* bytes after the object (ignored) */
	bool malformed;  /* the length said more than came, a C-TLV is broken, details
			       * or devices of the wrong length, or over CAT_CMD_OBJECTS_MAX
			       * other objects */
	bool has_details, has_devices;
	struct card_cat_details details;
	size_t n_objs;
	struct {
		uint16_t tag; /* without the CR bit; 0xFFFF for a 3-byte tag */
		bool cr;
	} objs[CAT_CMD_OBJECTS_MAX];
};

/* 0 and *out; -EPROTO when p does not start with a D0 header (nothing to
 * answer). */
__attribute__((warn_unused_result)) int card_cat_msg_command_scan(
	const uint8_t *p, size_t len, struct card_cat_command_scan *out);

__attribute__((warn_unused_result)) int card_cat_msg_response_encode(
	const struct card_cat_response *r, uint8_t *out, size_t cap, size_t *out_len);
/* `p` is the TERMINAL RESPONSE data field. Mandatory: Command details,
 * Device identities, Result (at least the general result byte). */
__attribute__((warn_unused_result)) int card_cat_msg_response_decode(const uint8_t *p, size_t len,
								     struct card_cat_response *out);

__attribute__((warn_unused_result)) int card_cat_msg_event_encode(const struct card_cat_event *e,
								  uint8_t *out, size_t cap,
								  size_t *out_len);
/* `p` is the ENVELOPE data field: exactly one BER-TLV. -ENOTSUP for a
 * well-formed BER-TLV other than D6. Mandatory: Event list with one event,
 * Device identities. */
__attribute__((warn_unused_result)) int card_cat_msg_event_decode(const uint8_t *p, size_t len,
								  struct card_cat_event *out);

/* TERMINAL PROFILE data -> bits. 0, or -EPROTO when len is 0. Bytes past
 * byte 17 are ignored. */
__attribute__((warn_unused_result)) int card_cat_msg_profile_decode(const uint8_t *p, size_t len,
								    struct card_cat_profile *out);
/* The bits of `tp` as a CAT_PROFILE_LEN byte profile (byte 1 = 01, profile
 * download; every other bit 0). With every flag set and 1 channel this is
 * the profile of doc/protocol.md §1.12. -EINVAL for channels > 7. */
__attribute__((warn_unused_result)) int card_cat_msg_profile_encode(
	const struct card_cat_profile *tp, uint8_t *out, size_t cap, size_t *out_len);

/* A toolkit C-APDU: CLA 80, INS, P1 P2 00 00, then Lc and data (TERMINAL
 * PROFILE, TERMINAL RESPONSE, ENVELOPE; 1..255 bytes) or, for FETCH
 * (data NULL, len = Le 1..256), Le. 0, -EINVAL, -EMSGSIZE. */
__attribute__((warn_unused_result)) int card_cat_msg_capdu(uint8_t ins, const uint8_t *data,
							   size_t len, uint8_t *out, size_t cap,
							   size_t *out_len);

/* Names for logs; never NULL ("unknown" for values without a name). */
const char *card_cat_cmd_name(uint8_t type);
const char *card_cat_result_name(uint8_t result);
const char *card_cat_bip_error_name(uint8_t info);
const char *card_cat_event_name(uint8_t event);
/* "CLOSED", "LISTEN", "ESTABLISHED"; "unknown" for another value. */
const char *card_cat_ch_state_name(enum card_cat_ch_state st);
/* b8-b7 of a Channel status for st (CAT_CHST_CLOSED for another value). */
uint8_t card_cat_ch_state_chst(enum card_cat_ch_state st);
/* The state a Channel status says; false for the reserved b8-b7 = 11. */
bool card_cat_chst_ch_state(uint16_t status, enum card_cat_ch_state *st);
/* The name of the state in a Channel status, "reserved" for 11. */
const char *card_cat_chst_state_name(uint16_t status);

#endif
