/* card.h - the emulated UICC: (state, C-APDU) -> R-APDU (ETSI TS 102 221).
 *
 * Sans-I/O: card_transmit() is a pure function of the card's state and one
 * command APDU. The card borrows its file system; several cards may share
 * one tree (the SCWS reads its own files through a private card object, so
 * no APDU of that walk is seen on the terminal's interface). */
#ifndef SCWS_CARD_CARD_H
#define SCWS_CARD_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card/apdu.h"
#include "card/fs.h"
#include "core/bytes.h"

struct card;

/* A PIN or ADM key (ETSI TS 102 221 §9): its key reference, its value and
 * that of its PUK as PIN blocks (ASCII digits padded with FF to 8 bytes,
 * §9.5.2), the retry limits and whether it starts enabled. A key without
 * a PUK (puk_len 0) cannot be unblocked. */
struct card_pin_config {
	uint8_t ref; /* CARD_KEY_PIN1, CARD_KEY_PIN2, CARD_KEY_ADM1, ... */
	uint8_t pin[CARD_PIN_LEN];
	uint8_t puk[CARD_PIN_LEN];
	size_t puk_len;    /* 0: no PUK */
	uint8_t tries;     /* 1..CARD_PIN_TRIES_MAX */
	uint8_t puk_tries; /* 1..CARD_PIN_TRIES_MAX */
	bool enabled;
};

/* What a profile decides about the card beyond its files. */
struct card_options {
	unsigned channels; /* logical channels, basic one included: 1..20 */
	bool gsm_class;    /* CLA A0 (3GPP TS 51.011) answered */
	struct card_pin_config pins[CARD_PINS_MAX];
	size_t n_pins;
};

/* 20 channels, the GSM class on, no PINs (every READ condition naming a
 * key is then never satisfied). */
void card_options_init(struct card_options *o);

/* A card over `fs` (borrowed: it must outlive the card) with the given ATR
 * (copied, 1 to CARD_ATR_MAX bytes). NULL on allocation failure or a bad
 * ATR. The tree is writable: UPDATE BINARY / UPDATE RECORD write into EFs
 * marked update_always (the other cards sharing the tree see the change);
 * nothing else of it changes. */
struct card *card_new(struct card_fs *fs, const uint8_t *atr, size_t atr_len);
void card_free(struct card *card);

/* Applies options (copied): the channel count, the GSM class, the PINs
 * with full retry counters, their enabled state, nothing verified; then
 * resets the card. 0, or -EINVAL for channels out of 1..20, more than
 * CARD_PINS_MAX PINs, a key reference used twice or 00/FF, or tries out
 * of 1..15. A card never configured has card_options_init()'s options. */
__attribute__((warn_unused_result)) int card_configure(struct card *card,
						       const struct card_options *o);

/* Power-on / reset: every logical channel closed, the basic channel's
 * current DF back to the MF, pending response data and proactive session
 * state dropped (TS 102 221 §6.2.1), every PIN's verification status
 * cleared. Retry counters, enabled states and changed PIN values are
 * non-volatile: they survive. */
void card_reset(struct card *card);

const uint8_t *card_atr(const struct card *card, size_t *len);

/* C-APDUs card_transmit() processed since card_new() (resets included). */
unsigned long card_apdu_count(const struct card *card);

/* Processes one C-APDU and writes the R-APDU (response data then SW1 SW2)
 * into out. Every input, however malformed, gets a status word. Returns 0,
 * or -EMSGSIZE when cap < 2 + the response (cap >= APDU_RESP_MAX always
 * suffices; the command has taken effect all the same), -EINVAL for NULL
 * arguments.
 *
 * Behaviour worth knowing (details in card.c):
 * - CLA without a channel coding, or with no command of that class: 6E 00;
 *   known class, unknown INS: 6D 00; bad length fields: 67 00; SM bits:
 *   68 82; channel not open: 68 81.
 * - Response data is returned directly up to Le; without Le (case 1 or 3,
 *   as over T=0) or beyond Le, the card answers 61 xx and keeps the rest
 *   for GET RESPONSE on the same channel, until the next other command.
 *   GET RESPONSE with nothing pending: 69 85; Le longer than what is
 *   pending: 6C xx; shorter: that much and 61 xx for the rest.
 * - Commands: SELECT (P1 00/03/04/08/09; P2 00/04 FCP, 0C none), READ and
 *   UPDATE BINARY (offset or SFI; READ BINARY B1 with an offset DO 54
 *   up to FFFF), READ and UPDATE RECORD (absolute, current, next,
 *   previous; SFI), GET RESPONSE, STATUS (8X F2), MANAGE CHANNEL (the
 *   configured channels), VERIFY / CHANGE / DISABLE / ENABLE / UNBLOCK
 *   PIN (status words in card.c, "PINs"), and the toolkit INS below.
 * - The FCP of the MF, DFs and ADFs carries the PIN status template C6
 *   (TS 102 221 §11.1.1.4.10) listing the configured keys.
 * - READ BINARY / READ RECORD of a file whose read_key names a key that
 *   is enabled and not verified: 69 82; a key the card does not have:
 *   69 82 always. UPDATE of a file not update_always needs ADM1 verified.
 * - GSM class (CLA A0, 3GPP TS 51.011 §9), when on: SELECT by FID
 *   answering 9F xx with the GSM response for GET RESPONSE, STATUS, READ
 *   BINARY, READ RECORD, UPDATE BINARY/RECORD, VERIFY CHV; status words
 *   translated to the 9x xx of TS 51.011 §9.4. */
__attribute__((warn_unused_result)) int card_transmit(struct card *card, const uint8_t *capdu,
						      size_t len, uint8_t *out, size_t cap,
						      size_t *out_len);

/* Where a logical channel stands; NULL when the channel is closed or has
 * no such current file. Borrowed from the card's tree. For tests, traces
 * and listings. */
const struct card_fs_node *card_current_df(const struct card *card, unsigned channel);
const struct card_fs_node *card_current_ef(const struct card *card, unsigned channel);
const struct card_fs_node *card_current_adf(const struct card *card, unsigned channel);
bool card_channel_is_open(const struct card *card, unsigned channel);

/* CAT toolkit extension point (ETSI TS 102 223 over TS 102 221 §7.4.2).
 *
 * The card routes CLA 8X INS 10 (TERMINAL PROFILE), 12 (FETCH),
 * 14 (TERMINAL RESPONSE) and C2 (ENVELOPE) to these callbacks; without a
 * toolkit attached (or with a NULL member) they answer 6D 00. A callback
 * gets the parsed C-APDU (its data valid during the call only), writes
 * response data into resp (at most resp->cap bytes; more data than the
 * C-APDU's Le is kept for GET RESPONSE with 61 xx, like every command)
 * and sets *sw. It returns 0, or a negative errno that the card turns
 * into a status word: -EINVAL/-EPROTO 6A 80, -EMSGSIZE 67 00,
 * -EBADFD 69 85, -EBUSY 93 00, anything else 6F 00.
 *
 * pending() returns the length of the proactive command waiting for
 * FETCH (0 when none): after any command that ends with 90 00, the card
 * answers 91 xx instead (xx = that length, 00 for 256). reset() (may be
 * NULL) is called by card_reset(). status() (may be NULL) is called for
 * every STATUS that the card answers 90 00, before pending() is asked:
 * the terminal's poll (TS 102 221 §14.6.2), the only clock a card has. Callbacks run inside card_transmit()
 * and must not call card_transmit() on the same card. */
struct card_toolkit_ops {
	int (*terminal_profile)(void *arg, const struct card_apdu *apdu, struct wr *resp,
				uint16_t *sw);
	int (*fetch)(void *arg, const struct card_apdu *apdu, struct wr *resp, uint16_t *sw);
	int (*terminal_response)(void *arg, const struct card_apdu *apdu, struct wr *resp,
				 uint16_t *sw);
	int (*envelope)(void *arg, const struct card_apdu *apdu, struct wr *resp, uint16_t *sw);
	size_t (*pending)(void *arg);
	void (*reset)(void *arg);
	void (*status)(void *arg);
};

/* Attaches (ops != NULL) or detaches (ops == NULL) the toolkit. ops and
 * arg are borrowed and must outlive the card or the next call. */
void card_set_toolkit(struct card *card, const struct card_toolkit_ops *ops, void *arg);

/* Fault injection (apdu-sw): consulted with the INS of every C-APDU of
 * two bytes or more before the card processes it; returning true with *sw
 * set answers that status word alone, and the command has no effect (the
 * pending GET RESPONSE data is dropped, as by any other command). The
 * hook runs inside card_transmit() and must not call it. fn NULL: none. */
typedef bool card_sw_fault_fn(void *arg, uint8_t ins, uint16_t *sw);
void card_set_sw_fault(struct card *card, card_sw_fault_fn *fn, void *arg);

/* Status word as a short English reason ("file not found"), for listings
 * and logs; never NULL. */
const char *card_sw_text(uint16_t sw);

#endif
