/* stamp.h - the per-card values of a set stamped out by `scwsemu-card new
 * DIR --count N` (doc/scwsemu-card.1), sans-I/O.
 *
 * Card n (1..N) of a set lives in DIR/card-NNN, NNN its number padded with
 * zeros to stamp_width(N) digits. Text given for the set (the bootstrap
 * XML, --auth, --psk's identity, --devid) names the card with two
 * variables, replaced by stamp_subst() and nowhere else:
 *   ${N}    the number: 1, 2, ... 100
 *   ${NNN}  the number as in the directory name: 001, 002, ... 100
 * Anything else, "${n}" or "$N" included, is copied as it is. */
#ifndef SCWS_TOOLS_STAMP_H
#define SCWS_TOOLS_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Digits of the zero-padded number for a set of count cards: at least
 * STAMP_WIDTH_MIN (card-001), more for a set of 1,000 and up. */
unsigned stamp_width(unsigned count);

/* Appends in[0..len) to out with the variables replaced for card n.
 * 0, or -EMSGSIZE when out's cap is reached (out is then as before). */
__attribute__((warn_unused_result)) int stamp_subst(const char *in, size_t len, unsigned n,
						    unsigned width, struct buf *out);

/* True when s holds ${N} or ${NNN}. */
bool stamp_has_var(const char *s);

/* The PSK key of one card, key_len (1..TLS_PSK_KEY_MAX) bytes derived from
 * the set's key and that card's identity: HMAC-SHA256(master, identity ||
 * counter byte), blocks concatenated (counter 1, 2, ...). Distinct
 * identities give unrelated keys; the same inputs, the same key (a lab can
 * give its handsets the keys again). 0, or -EINVAL. */
__attribute__((warn_unused_result)) int stamp_psk_key(const uint8_t *master, size_t master_len,
						      const char *identity, uint8_t *out,
						      size_t key_len);

#endif
