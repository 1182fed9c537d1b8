/* fuzz_apdu.c - fuzz target for the emulated UICC (card_transmit, ETSI
 * TS 102 221): a fixed small card, fed a sequence of C-APDUs.
 *
 * Input: repeated { length (2 bytes, big endian), C-APDU }; a length past
 * the end takes what is left. Each input starts from a fresh card so that
 * runs are reproducible (UPDATE changes the tree). Checks: every answer
 * fits the buffer and ends with a plausible status word. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "core/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t pkcs15_aid[] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50,
				      0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35 };
static const uint8_t atr[] = { 0x3B, 0x02, 0x14, 0x50 };

/* A toolkit with just enough behaviour to reach the 91 xx paths. */
static size_t tk_pending_len;

static int tk_profile(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	tk_pending_len = a->lc ? 11 : 0;
	*sw = SW_OK;
	return 0;
}

static int tk_fetch(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	static const uint8_t cmd[] = { 0xD0, 0x09, 0x81, 0x03, 0x01, 0x13,
				       0x00, 0x82, 0x02, 0x81, 0x83 };
	if (!tk_pending_len)
		return -EBADFD;
	wr_mem(resp, cmd, sizeof(cmd));
	tk_pending_len = 0;
	*sw = SW_OK;
	return 0;
}

static int tk_response(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	*sw = SW_OK;
	return a->lc > 3 ? 0 : -EINVAL;
}

static int tk_envelope(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	if (a->lc && (a->data[0] & 1))
		return -EBUSY;
	/* Echo the envelope: data without Le exercises 61 xx. */
	wr_mem(resp, a->data, a->lc);
	*sw = SW_OK;
	return 0;
}

static size_t tk_pending(void *arg)
{
	return tk_pending_len;
}

static const struct card_toolkit_ops tk_ops = {
	.terminal_profile = tk_profile,
	.fetch = tk_fetch,
	.terminal_response = tk_response,
	.envelope = tk_envelope,
	.pending = tk_pending,
};

static struct card_fs *build_fs(void)
{
	static uint8_t big[300];
	static const uint8_t odf[] = { 0xA7, 0x06, 0x30, 0x04, 0x04, 0x02, 0x64, 0x30 };
	uint8_t recs[3 * 4];
	struct card_fs *fs = card_fs_new();
	struct card_fs_node *adf, *df, *n;
	if (!fs)
		return NULL;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	memset(recs, 0x5A, sizeof(recs));
	if (card_fs_add_ef_records(fs->mf, 0x2F00, 4, recs, 3, &n) || card_fs_set_sfi(n, 0x1E) ||
	    card_fs_add_ef(fs->mf, 0x2FE2, big, 10, NULL) ||
	    card_fs_add_ef_records(fs->mf, 0x6F10, 4, recs, 3, &n))
		goto err;
	n->update_always = true;
	if (card_fs_add_df(fs->mf, 0x7F10, &df) || card_fs_add_ef(df, 0x6F20, big, 3, NULL) ||
	    card_fs_add_adf(fs, 0x7F50, pkcs15_aid, sizeof(pkcs15_aid), &adf) ||
	    card_fs_add_ef(adf, 0x5031, odf, sizeof(odf), &n) || card_fs_set_sfi(n, 0x11) ||
	    card_fs_add_ef(adf, 0x6432, big, sizeof(big), &n))
		goto err;
	n->update_always = true;
	return fs;
err:
	card_fs_free(fs);
	return NULL;
}

/* ISO 7816-4 / TS 102 221 status words, and the GSM class's (TS 51.011
 * §9.4: 9F xx, 98 xx, 94 xx, 9E xx) since the card answers CLA A0. */
static bool plausible_sw(uint8_t sw1)
{
	return (sw1 >= 0x61 && sw1 <= 0x6F) || (sw1 >= 0x90 && sw1 <= 0x9F);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[APDU_RESP_MAX];
	struct card_fs *fs = build_fs();
	struct card *card = fs ? card_new(fs, atr, sizeof(atr)) : NULL;
	if (!card) {
		card_fs_free(fs);
		return 0;
	}
	tk_pending_len = 0;
	card_set_toolkit(card, &tk_ops, NULL);

	size_t pos = 0;
	while (size - pos >= 2) {
		size_t len = (size_t)((data[pos] << 8) | data[pos + 1]);
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		/* An exactly sized copy: ASan sees any read past the APDU. */
		uint8_t *apdu = malloc(len ? len : 1);
		if (!apdu)
			break;
		memcpy(apdu, data + pos, len);
		pos += len;
		size_t out_len = 0;
		if (card_transmit(card, apdu, len, out, sizeof(out), &out_len) != 0)
			abort();
		free(apdu);
		if (out_len < 2 || out_len > sizeof(out) || !plausible_sw(out[out_len - 2]))
			abort();
		/* A small buffer must be refused, never overrun. */
		if (len && data[pos - 1] == 0x42) {
			uint8_t tiny[2];
			size_t tl = 0;
			const uint8_t *again = data + pos - len;
			int rc = card_transmit(card, again, len, tiny, sizeof(tiny), &tl);
			if (rc != 0 && rc != -EMSGSIZE)
				abort();
			if (rc == 0 && tl != 2)
				abort();
		}
	}
	card_free(card);
	card_fs_free(fs);
	return 0;
}
