/* apdu.h - command and response APDUs (ISO/IEC 7816-4 §5.1, ETSI TS 102 221 §10).
 *
 * card_apdu_parse() recognises cases 1 to 4, short and extended; the
 * resulting struct borrows `data` from the caller's buffer, valid as long
 * as that buffer is. */
#ifndef SCWS_CARD_APDU_H
#define SCWS_CARD_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status words used by the card (TS 102 221 §10.2). */
#define SW_OK 0x9000
#define SW_PROACTIVE(n) (0x9100 | ((n)&0xFF))       /* 91 xx: proactive command pending */
#define SW_BYTES_AVAILABLE(n) (0x6100 | ((n)&0xFF)) /* 61 xx: GET RESPONSE */
#define SW_WRONG_LE(n) (0x6C00 | ((n)&0xFF))        /* 6C xx: re-send with Le=xx */
#define SW_EOF_BEFORE_LE 0x6282                     /* end of file/record reached before Le bytes */
#define SW_WRONG_LENGTH 0x6700
#define SW_LOGICAL_CHANNEL_NOT_SUPPORTED 0x6881
#define SW_SECURE_MESSAGING_NOT_SUPPORTED 0x6882
#define SW_INCOMPATIBLE_FILE 0x6981        /* command incompatible with file structure */
#define SW_SECURITY_STATUS 0x6982          /* security status not satisfied */
#define SW_PIN_BLOCKED 0x6983              /* authentication/PIN method blocked */
#define SW_PIN_DISABLED 0x6984             /* referenced data invalidated: the PIN is disabled */
#define SW_CONDITIONS_NOT_SATISFIED 0x6985 /* e.g. GET RESPONSE with nothing pending */
#define SW_NO_CURRENT_EF 0x6986            /* command not allowed (no EF selected) */
#define SW_WRONG_DATA 0x6A80
#define SW_FUNC_NOT_SUPPORTED 0x6A81
#define SW_FILE_NOT_FOUND 0x6A82
#define SW_RECORD_NOT_FOUND 0x6A83
#define SW_WRONG_P1P2 0x6A86
#define SW_REF_DATA_NOT_FOUND 0x6A88
#define SW_WRONG_OFFSET 0x6B00 /* wrong parameters P1-P2 (offset beyond EF) */
#define SW_INS_NOT_SUPPORTED 0x6D00
#define SW_CLA_NOT_SUPPORTED 0x6E00
#define SW_TECHNICAL_PROBLEM 0x6F00
#define SW_TOOLKIT_BUSY 0x9300
/* GSM class (3GPP TS 51.011 §9.4). */
#define SW_GSM_NO_CHV 0x9802            /* no CHV initialised */
#define SW_GSM_ACCESS 0x9804            /* access condition not fulfilled / wrong CHV */
#define SW_GSM_CHV_CONTRADICTION 0x9808 /* in contradiction with CHV status */
#define SW_GSM_CHV_BLOCKED 0x9840       /* unsuccessful CHV verification, no attempt left */

struct card_apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data; /* borrowed; NULL when lc == 0 */
	size_t lc;
	size_t le; /* expected length; 256 (short) or 65536 (extended) for "00" */
	bool has_le;
	bool extended;
	uint8_t apdu_case; /* 1..4 */
};

/* 0 on success; -EINVAL when the length fields do not match the buffer
 * (the card answers 67 00). */
__attribute__((warn_unused_result)) int card_apdu_parse(const uint8_t *in, size_t len,
							struct card_apdu *out);

/* Logical channel number from CLA (TS 102 221 §10.1.1: 0-3 in b1-b2 of
 * first interindustry CLA, 4-19 in b1-b4 of further interindustry CLA);
 * -1 when CLA is not interindustry or proprietary-with-channel.
 * Classes with a channel: 0X, 8X, AX (channel b2-b1, SM b4-b3) and
 * 4X, 6X, CX, EX (channel 4 + b4-b1, SM b6). 1X, 2X, 3X (chaining or
 * reserved), 5X, 7X (chaining), 9X, BX, DX, FX give -1. */
int card_apdu_channel(uint8_t cla);

/* True when CLA announces secure messaging (which this card does not do:
 * it answers 68 82). False for a CLA without a channel coding. */
bool card_apdu_has_sm(uint8_t cla);

/* CLA with channel and SM bits cleared: 00 for 0X/4X/6X, 80 for 8X/CX/EX,
 * A0 for AX; any other CLA is returned unchanged. The command table of
 * card.c is keyed on this value. */
uint8_t card_apdu_cla_base(uint8_t cla);

#endif
