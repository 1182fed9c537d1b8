/* card.h - the emulated UICC: (state, C-APDU) -> R-APDU (ETSI TS 102 221).
 *
 * Sans-I/O: card_transmit() is a pure function of the card's state and one
 * command APDU. The card borrows its file system; several cards may share
 * one tree (the SCWS reads its own files through a private card object, so
 * no APDU of that walk is seen on the terminal's interface). */
#ifndef SCWS_CARD_CARD_H
#define SCWS_CARD_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "card/fs.h"

struct card;

/* A card over `fs` (borrowed: it must outlive the card) with the given ATR
 * (copied, at most 33 bytes). NULL on allocation failure or a bad ATR. */
struct card *card_new(const struct card_fs *fs, const uint8_t *atr, size_t atr_len);
void card_free(struct card *card);

/* Power-on / reset: every logical channel closed, the basic channel's
 * current DF back to the MF, pending response data and proactive session
 * state dropped (TS 102 221 §6.2.1). */
void card_reset(struct card *card);

const uint8_t *card_atr(const struct card *card, size_t *len);

/* Processes one C-APDU and writes the R-APDU (response data then SW1 SW2)
 * into out. Every input, however malformed, gets a status word. Returns 0,
 * or -EMSGSIZE when cap < 2 + the response (cap >= APDU_RESP_MAX always
 * suffices). */
__attribute__((warn_unused_result))
int card_transmit(struct card *card, const uint8_t *capdu, size_t len, uint8_t *out,
		  size_t cap, size_t *out_len);

/* Status word as a short English reason ("file not found"), for listings
 * and logs; never NULL. */
const char *card_sw_text(uint16_t sw);

#endif
