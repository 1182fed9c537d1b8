/* fuzz_atr.c - fuzz target for the ATR decoder (card_atr_parse, ISO/IEC
 * 7816-3 §8.2): any bytes. Checks: a decoded ATR's historical bytes and
 * card capabilities stay within their arrays, the channel count within
 * 1..8. */
#include <stdint.h>
#include <stdlib.h>

#include "card/atr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct card_atr a;
	char err[128];
	if (card_atr_parse(data, size, &a, err, sizeof(err)) != 0)
		return 0;
	if (a.hist_len > sizeof(a.hist) || a.caps_len > sizeof(a.caps) ||
	    (a.channels != -1 && (a.channels < 1 || a.channels > 8)))
		abort();
	return 0;
}
