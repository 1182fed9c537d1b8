/* atr.h - the answer to reset decoded (ISO/IEC 7816-3 §8.2, historical
 * bytes ISO/IEC 7816-4 §8.1.1), so that a profile's ATR can be checked
 * against what the card does (logical channels, extended lengths).
 *
 * Stateless: card_atr_parse() reads at most CARD_ATR_MAX bytes and never
 * reads past len. */
#ifndef SCWS_CARD_ATR_H
#define SCWS_CARD_ATR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct card_atr {
	uint8_t ts, t0;
	unsigned protocols; /* bit n set: T=n indicated by a TDi (T=0 when none) */
	bool has_tck;       /* present: some TDi indicates T != 0 */
	uint8_t tck;        /* as sent */
	uint8_t tck_want;   /* the value making the XOR of T0 .. TCK 00 */
	uint8_t hist[15];   /* historical bytes */
	size_t hist_len;
	/* From the historical bytes (compact-TLV after category 00 or 80). */
	uint8_t category; /* first historical byte; 0 when none */
	bool hist_ok;     /* the compact-TLV objects end exactly */
	bool has_caps;    /* card capabilities (tag 7) */
	uint8_t caps[3];
	size_t caps_len;
	int channels;    /* logical channels announced (third caps byte,
				    * b3-b1 + 1; 8 means "8 or more"); -1 when not said */
	bool ext_len;    /* third caps byte b7: extended Lc and Le */
	bool chaining;   /* third caps byte b8: command chaining */
	bool has_status; /* status indicator: tag 8 or the last 3 bytes of category 80 */
	uint8_t lcs;
	uint16_t sw;
};

/* 0 and *out filled; -EINVAL for an ATR that is not one, with a reason
 * in err ("TS is 3C; an ATR starts with 3B or 3F", "3 bytes, but T0 and
 * the TDi bytes announce 4"). A wrong TCK is not an error here: compare
 * tck with tck_want. Malformed historical bytes only clear hist_ok. */
__attribute__((warn_unused_result)) int card_atr_parse(const uint8_t *atr, size_t len,
						       struct card_atr *out, char *err,
						       size_t errcap);

/* The card capabilities' logical channel count for n channels (ISO 7816-4
 * Table 88: b3-b1 = n - 1, 111 for 8 or more). */
static inline uint8_t card_atr_channel_bits(unsigned n)
{
	return (uint8_t)(n >= 8 ? 7 : n - 1);
}

#endif
