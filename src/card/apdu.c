/* apdu.c - command APDU parsing and CLA decoding (ISO/IEC 7816-4 §5.1 and
 * §5.4.1, ETSI TS 102 221 §10.1.1). */
#include "card/apdu.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "core/limits.h"

/* ISO 7816-4 §5.1: after the 4-byte header the body is one of
 *   (empty)                      case 1
 *   Le                           case 2S    (Le 00 = 256)
 *   Lc data                      case 3S
 *   Lc data Le                   case 4S
 *   00 Le Le                     case 2E    (Le 0000 = 65536)
 *   00 Lc Lc data                case 3E
 *   00 Lc Lc data Le Le          case 4E
 * Lc is never zero; a body that fits none of these is malformed. */
int card_apdu_parse(const uint8_t *in, size_t len, struct card_apdu *out)
{
	struct rd r;
	if (!in || !out || len < 4)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rd_init(&r, in, len);
	out->cla = rd_u8(&r);
	out->ins = rd_u8(&r);
	out->p1 = rd_u8(&r);
	out->p2 = rd_u8(&r);

	size_t body = rd_left(&r);
	if (body == 0) {
		out->apdu_case = 1;
		return 0;
	}
	uint8_t b0 = rd_u8(&r);
	if (body == 1) {
		out->apdu_case = 2;
		out->has_le = true;
		out->le = b0 ? b0 : APDU_SHORT_RESP_MAX;
		return 0;
	}
	if (b0 != 0) {
		/* Short case 3 or 4. */
		out->lc = b0;
		if (body == 1 + out->lc) {
			out->apdu_case = 3;
		} else if (body == 2 + out->lc) {
			out->apdu_case = 4;
			uint8_t le = in[len - 1];
			out->has_le = true;
			out->le = le ? le : APDU_SHORT_RESP_MAX;
		} else {
			return -EINVAL;
		}
		out->data = in + 5;
		return 0;
	}

	/* Extended: 00 then two bytes. */
	if (body < 3)
		return -EINVAL;
	out->extended = true;
	uint16_t v = rd_u16be(&r);
	if (body == 3) {
		out->apdu_case = 2;
		out->has_le = true;
		out->le = v ? v : APDU_EXT_RESP_MAX;
		return 0;
	}
	if (v == 0)
		return -EINVAL;
	out->lc = v;
	if (body == 3 + out->lc) {
		out->apdu_case = 3;
	} else if (body == 5 + out->lc) {
		out->apdu_case = 4;
		uint16_t le = (uint16_t)((in[len - 2] << 8) | in[len - 1]);
		out->has_le = true;
		out->le = le ? le : APDU_EXT_RESP_MAX;
	} else {
		return -EINVAL;
	}
	out->data = in + 7;
	return 0;
}

/* TS 102 221 §10.1.1 (table 10.3): b8-b5 0000 (ISO), 1000 (TS 102 221)
 * or 1010 (other, e.g. 3GPP) carry the channel in b2-b1 and SM in b4-b3;
 * b8-b7 01 (ISO) or 11 (TS 102 221) with b5 = 0 carry channel 4 + b4-b1
 * and SM in b6. Everything else (chaining bit, A0 GSM with b5 set, ...)
 * is not a class this card knows. */
int card_apdu_channel(uint8_t cla)
{
	switch (cla & 0xF0) {
	case 0x00:
	case 0x80:
	case 0xA0:
		return cla & 0x03;
	case 0x40:
	case 0x60:
	case 0xC0:
	case 0xE0:
		return 4 + (cla & 0x0F);
	default:
		return -1;
	}
}

bool card_apdu_has_sm(uint8_t cla)
{
	switch (cla & 0xF0) {
	case 0x00:
	case 0x80:
	case 0xA0:
		return (cla & 0x0C) != 0;
	case 0x40:
	case 0x60:
	case 0xC0:
	case 0xE0:
		return (cla & 0x20) != 0;
	default:
		return false;
	}
}

uint8_t card_apdu_cla_base(uint8_t cla)
{
	switch (cla & 0xF0) {
	case 0x00:
	case 0x40:
	case 0x60:
		return 0x00;
	case 0x80:
	case 0xC0:
	case 0xE0:
		return 0x80;
	case 0xA0:
		return 0xA0;
	default:
		return cla;
	}
}
