/* vpcd_frame.h - the vsmartcard vpcd protocol, card side, sans-I/O
 * (vsmartcard virtualsmartcard/src/vpcd/vpcd.c, vpicc VirtualSmartcard.py).
 *
 * vpcd (pcscd's "Virtual PCD" reader driver) and the card exchange
 * messages framed by a 2-byte big-endian length. A 1-byte message is a
 * control: power off 00, power on 01, reset 02 (no answer), get ATR 04
 * (answered by the ATR). A longer message is a C-APDU, answered by its
 * R-APDU. vpcd drops the connection when an answer has length 0, so every
 * answer here has at least one byte. Nothing here touches a socket:
 * transport/vpcd.h drives this over TCP. */
#ifndef SCWS_TRANSPORT_VPCD_FRAME_H
#define SCWS_TRANSPORT_VPCD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct card;

#define VPCD_PORT_DEFAULT 35963u
#define VPCD_CTRL_OFF 0x00
#define VPCD_CTRL_ON 0x01
#define VPCD_CTRL_RESET 0x02
#define VPCD_CTRL_ATR 0x04
/* The longest answer frame: length prefix + VPCD_MSG_MAX. */
#define VPCD_FRAME_MAX (2u + VPCD_MSG_MAX)

/* Incremental decoder. Invariants: hdr_len <= 2; have <= need <= max. */
struct transport_vpcd_frame {
	uint8_t *msg; /* max bytes, owned */
	size_t max;
	size_t need; /* length of the frame being read (valid once hdr_len == 2) */
	size_t have; /* message bytes read */
	uint8_t hdr[2];
	uint8_t hdr_len;
	bool complete; /* msg holds a whole message; the next feed starts anew */
	int err;       /* sticky after a rejected frame, until _reset */
};

/* max: the longest message accepted, 1..VPCD_MSG_MAX (the client uses
 * VPCD_MSG_MAX: every length the prefix can carry). 0, -EINVAL, -ENOMEM. */
__attribute__((warn_unused_result)) int transport_vpcd_frame_init(struct transport_vpcd_frame *f,
								  size_t max);
void transport_vpcd_frame_cleanup(struct transport_vpcd_frame *f);
/* Forgets any partial frame and a sticky error (a new connection). */
void transport_vpcd_frame_reset(struct transport_vpcd_frame *f);

/* Consumes bytes of in up to the end of one message; *used says how many.
 * Returns 0 when a message is complete (transport_vpcd_frame_msg gives it,
 * valid until the next feed or reset), -EAGAIN when all of in was used and
 * the message is not complete, -EPROTO for a zero-length frame, -EMSGSIZE
 * for a length over max. Errors are sticky (the stream cannot be resynced:
 * drop the connection) and use no input. */
__attribute__((warn_unused_result)) int transport_vpcd_frame_feed(struct transport_vpcd_frame *f,
								  const uint8_t *in, size_t len,
								  size_t *used);

/* The complete message, or NULL with *len 0 when there is none. */
const uint8_t *transport_vpcd_frame_msg(const struct transport_vpcd_frame *f, size_t *len);

/* Writes the 2-byte length prefix and len bytes of msg into out (msg may
 * overlap out).
 * 0, -EINVAL (len 0 or NULL), -EMSGSIZE (len over VPCD_MSG_MAX or cap). */
__attribute__((warn_unused_result)) int transport_vpcd_frame_encode(const uint8_t *msg, size_t len,
								    uint8_t *out, size_t cap,
								    size_t *out_len);

enum transport_vpcd_kind {
	VPCD_KIND_POWER_OFF,
	VPCD_KIND_POWER_ON,
	VPCD_KIND_RESET,
	VPCD_KIND_ATR,
	VPCD_KIND_APDU,
	VPCD_KIND_UNKNOWN, /* a 1-byte message with another value */
};

const char *transport_vpcd_kind_name(enum transport_vpcd_kind kind);

/* Answers one message with the card: power off, power on and reset call
 * card_reset() (a cold or warm reset drops every volatile state) and have
 * no answer; get ATR answers card_atr(); a C-APDU answers card_transmit()'s
 * R-APDU. An unknown control byte is ignored, as vsmartcard's own card
 * does. The answer is written as a whole frame (prefix included) into out,
 * so that it can leave in one send(); *out_len is 0 when there is none.
 * An R-APDU longer than VPCD_MSG_MAX (an extended Le over 65533) cannot be
 * framed and is answered 6F 00. The R-APDU alone (no prefix) is at
 * out + 2 for tracing. cap >= VPCD_FRAME_MAX always suffices.
 * Returns 0; -EINVAL for NULL or empty input; -EMSGSIZE when cap is too
 * small for the answer (the command has taken effect all the same). */
__attribute__((warn_unused_result)) int transport_vpcd_frame_handle(struct card *card,
								    const uint8_t *msg, size_t len,
								    uint8_t *out, size_t cap,
								    size_t *out_len,
								    enum transport_vpcd_kind *kind);

#endif
