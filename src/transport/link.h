/* link.h - the APDU link between the terminal side and a card (doc/design.md §3;
 * APDUs per ETSI TS 102 221 §10, ISO/IEC 7816-4 §5).
 *
 * The BIP gateway reaches a card only through this small operations table,
 * in the style of OpenSC's reader drivers. Implementations: the in-process
 * emulator (link_emu.c) and PC/SC (link_pcsc.c); the BIP gateway's tests
 * and fuzz target script their own tables. The table is synchronous:
 * transmit() returns with the whole R-APDU.
 *
 * struct card_link bundles a table, its context and the trace hook, so
 * that every exchange is reported from one place whatever the link. */
#ifndef SCWS_TRANSPORT_LINK_H
#define SCWS_TRANSPORT_LINK_H

#include <stddef.h>
#include <stdint.h>

struct card;

struct card_link_ops {
	const char *name; /* "emu", "pcsc": for logs */
	/* One C-APDU (header, Lc, data, Le) -> R-APDU (response data, SW1 SW2)
	 * into rapdu[0..cap). 0 with *rlen >= 2; -EMSGSIZE when the response
	 * does not fit cap; -EIO or another negative errno when the card is
	 * gone or the link broke. */
	int (*transmit)(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
			size_t *rlen);
	/* Cold/warm reset; the ATR into atr[0..cap). 0 or a negative errno. */
	int (*reset)(void *ctx, uint8_t *atr, size_t cap, size_t *atr_len);
	/* Frees ctx (NULL is a no-op). */
	void (*free)(void *ctx);
};

/* Called once per exchange after it completed: the C-APDU and the whole
 * R-APDU (data + SW), as in one GSMTAP SIM APDU record (doc/protocol.md §7).
 * After a reset: capdu NULL, clen 0, rapdu = the ATR. The views are valid
 * during the call only; the hook must not use the link. */
typedef void card_link_trace_fn(void *arg, const uint8_t *capdu, size_t clen, const uint8_t *rapdu,
				size_t rlen);

struct card_link {
	const struct card_link_ops *ops; /* borrowed */
	void *ctx;                       /* borrowed: whoever created it frees it */
	card_link_trace_fn *trace;       /* NULL: no trace */
	void *trace_arg;
};

/* ops->transmit, then the trace hook when it succeeded. Also refuses an
 * R-APDU shorter than SW1 SW2 (-EPROTO), so callers can read the SW. */
__attribute__((warn_unused_result)) int transport_link_transmit(struct card_link *l,
								const uint8_t *capdu, size_t len,
								uint8_t *rapdu, size_t cap,
								size_t *rlen);
/* ops->reset, then the trace hook with the ATR. */
__attribute__((warn_unused_result)) int transport_link_reset(struct card_link *l, uint8_t *atr,
							     size_t cap, size_t *atr_len);

/* The in-process link over an emulated card. transport_link_emu_new()
 * returns the ctx for transport_link_emu_ops (NULL on allocation failure);
 * the card is borrowed and must outlive the ctx; free the ctx with
 * transport_link_emu_ops.free(). */
extern const struct card_link_ops transport_link_emu_ops;
void *transport_link_emu_new(struct card *card);
/* Later exchanges go to another card (a reloaded profile); borrowed. */
void transport_link_emu_set_card(void *ctx, struct card *card);

#endif
