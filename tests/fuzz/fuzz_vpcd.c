/* fuzz_vpcd.c - fuzz target for the vpcd framing and message handler
 * (src/transport/vpcd_frame.c; vsmartcard vpcd protocol).
 *
 * Input: byte 0 picks the decoder's limit (FF: VPCD_MSG_MAX, else
 * 1 + 4 * byte), byte 1 the feed sizes (the stream arrives in pieces of
 * 1 + (seed + i) % 37 bytes), the rest is the stream from vpcd. Each
 * complete message is answered by a small card; a rejected frame resets
 * the decoder, as a reconnect would. Checks: the decoder never consumes
 * more than it is given, messages fit the limit, every answer frame is
 * consistent (prefix = length, APDU answers end with a status word, the
 * ATR answer is the card's ATR), and the decoder's view matches an
 * independent reading of the stream. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "transport/vpcd_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t atr[] = { 0x3B, 0x02, 0x14, 0x50 };

static struct card_fs *build_fs(void)
{
	static const uint8_t iccid[] = { 0x98, 0x88, 0x02, 0, 0, 0, 0, 0, 0, 0xF6 };
	struct card_fs *fs = card_fs_new();
	struct card_fs_node *n;
	if (!fs)
		return NULL;
	if (card_fs_add_ef(fs->mf, 0x2FE2, iccid, sizeof(iccid), &n) || card_fs_set_sfi(n, 2)) {
		card_fs_free(fs);
		return NULL;
	}
	return fs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[VPCD_FRAME_MAX];
	struct transport_vpcd_frame f;
	struct card_fs *fs;
	struct card *card;
	size_t max, pos, i = 0;
	/* An independent reader of the same stream: where the next frame
	 * starts, for checking what the decoder returns. */
	size_t frame_at;

	if (size < 2)
		return 0;
	max = data[0] == 0xFF ? VPCD_MSG_MAX : 1u + 4u * data[0];
	fs = build_fs();
	card = fs ? card_new(fs, atr, sizeof(atr)) : NULL;
	if (!card || transport_vpcd_frame_init(&f, max) != 0) {
		card_free(card);
		card_fs_free(fs);
		return 0;
	}
	pos = 2;
	frame_at = 2;
	while (pos < size) {
		size_t piece = 1 + (size_t)(data[1] + i++) % 37, used = 0, mlen = 0;
		if (piece > size - pos)
			piece = size - pos;
		/* An exactly sized copy: ASan sees any read past the piece. */
		uint8_t *in = malloc(piece);
		if (!in)
			break;
		memcpy(in, data + pos, piece);
		int rc = transport_vpcd_frame_feed(&f, in, piece, &used);
		free(in);
		if (used > piece)
			abort();
		pos += used;
		if (rc == -EAGAIN) {
			if (used != piece)
				abort();
			continue;
		}
		if (rc == -EPROTO || rc == -EMSGSIZE) {
			size_t n = (size_t)((data[frame_at] << 8) | data[frame_at + 1]);
			if ((rc == -EPROTO) != (n == 0) || (rc == -EMSGSIZE && n <= max))
				abort();
			/* Reconnect: the rest of the stream starts a new one. */
			transport_vpcd_frame_reset(&f);
			pos = frame_at + 2;
			frame_at = pos;
			continue;
		}
		if (rc != 0)
			abort();
		const uint8_t *m = transport_vpcd_frame_msg(&f, &mlen);
		if (!m || mlen == 0 || mlen > max || frame_at + 2 + mlen != pos ||
		    (size_t)((data[frame_at] << 8) | data[frame_at + 1]) != mlen ||
		    memcmp(m, data + frame_at + 2, mlen) != 0)
			abort();
		frame_at = pos;

		size_t olen = 0;
		enum transport_vpcd_kind kind;
		if (transport_vpcd_frame_handle(card, m, mlen, out, sizeof(out), &olen, &kind) != 0)
			abort();
		if (olen == 0) {
			if (kind == VPCD_KIND_ATR || kind == VPCD_KIND_APDU)
				abort();
			continue;
		}
		if (olen < 3 || (size_t)((out[0] << 8) | out[1]) != olen - 2)
			abort();
		if (kind == VPCD_KIND_ATR &&
		    (olen != 2 + sizeof(atr) || memcmp(out + 2, atr, sizeof(atr)) != 0))
			abort();
		if (kind == VPCD_KIND_APDU && (olen < 4 || out[olen - 2] < 0x61))
			abort();
	}
	transport_vpcd_frame_cleanup(&f);
	card_free(card);
	card_fs_free(fs);
	return 0;
}
