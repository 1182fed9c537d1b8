/* link_emu.c - the in-process APDU link: the gateway and the emulated UICC in
 * one process (doc/design.md §3, link 1; ETSI TS 102 221 §10). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "transport/link.h"

struct link_emu {
	struct card *card; /* borrowed */
};

static int emu_transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
			size_t *rlen)
{
	struct link_emu *e = ctx;
	return card_transmit(e->card, capdu, len, rapdu, cap, rlen);
}

static int emu_reset(void *ctx, uint8_t *atr, size_t cap, size_t *atr_len)
{
	struct link_emu *e = ctx;
	size_t n = 0;
	card_reset(e->card);
	const uint8_t *p = card_atr(e->card, &n);
	if (n > cap)
		return -EMSGSIZE;
	if (n)
		memcpy(atr, p, n);
	*atr_len = n;
	return 0;
}

static void emu_free(void *ctx)
{
	free(ctx);
}

const struct card_link_ops transport_link_emu_ops = {
	.name = "emu",
	.transmit = emu_transmit,
	.reset = emu_reset,
	.free = emu_free,
};

void *transport_link_emu_new(struct card *card)
{
	if (!card)
		return NULL;
	struct link_emu *e = calloc(1, sizeof(*e));
	if (e)
		e->card = card;
	return e;
}

void transport_link_emu_set_card(void *ctx, struct card *card)
{
	struct link_emu *e = ctx;
	if (e && card)
		e->card = card;
}
