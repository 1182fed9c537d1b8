/* link_pcsc.h - the APDU link over PC/SC (libpcsclite, pcscd), for the gateway alone
 * (`scwsemu --reader NAME`; doc/design.md §3, link 2; T=0 per ISO/IEC 7816-3 §12.2,
 * PC/SC part 5 for the calls).
 *
 * transport_link_pcsc_ops is a struct card_link_ops like the in-process link: the
 * BIP gateway drives any card in any PC/SC reader through it, a real SCWS UICC or
 * the emulated card on vpcd. The card is opened SHARED with T=0 or T=1, whichever it
 * offers. Over T=0 the link does what a T=0 terminal's transport layer does, so the
 * gateway sees the same exchanges as over T=1 (ISO/IEC 7816-3 §12.2):
 *   - 6C xx: the command is sent again with P3 = xx (once);
 *   - 61 xx: GET RESPONSE (CLA of the command's logical channel, C0 00 00 xx),
 *     data accumulated, until another status word (at most PCSC_GETRESP_MAX rounds);
 *   - case 4 (Lc, data, Le): sent as case 3 (Le dropped), the data then come with
 *     61 xx; extended APDUs are refused (-EINVAL): T=0 would need ENVELOPE.
 * 9F xx (GSM 11.11) is not followed. Over T=1 every exchange is passed as is.
 *
 * The card comes and goes: transport_pcsc_watch_* polls pcscd on a libevent timer
 * (SCardGetStatusChange with timeout 0, then SCardStatus on our handle) and calls
 * the daemon back, which drives the gateway:
 *   TRANSPORT_PCSC_CARD_IN     -> transport_bip_gw_start()   (inserted, or pcscd back)
 *   TRANSPORT_PCSC_CARD_RESET  -> transport_bip_gw_restart() (reset by another
 *                                 application, or swapped between two polls)
 *   TRANSPORT_PCSC_CARD_OUT    -> transport_bip_gw_stop()    (removed, reader gone,
 *                                 or pcscd gone)
 * pcscd going away is logged once ("pcscd is not running ...: retrying"), the context
 * is re-established with a back-off, and its return is logged ("pcscd is back").
 *
 * Not thread-safe; one event loop. PC/SC types (LONG, DWORD) stay in link_pcsc.c:
 * the injectable layer below speaks long (PC/SC's LONG codes and handles) and
 * unsigned long (DWORD state and protocol bits), which is what pcsc-lite uses on
 * Linux (checked at compile time). */
#ifndef SCWS_TRANSPORT_LINK_PCSC_H
#define SCWS_TRANSPORT_LINK_PCSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/link.h"

struct event_base;
struct transport_link_pcsc;
struct transport_pcsc_watch;

/* The PC/SC calls the link makes, so that tests can put a fake pcscd under it.
 * Every function returns a PC/SC status code (SCARD_S_SUCCESS = 0). */
struct transport_pcsc_api {
	long (*establish)(void *arg, long *hctx);
	long (*release)(void *arg, long hctx);
	/* Reader names as SCardListReaders writes them: each NUL-terminated, an empty
	 * name last. *len: in, the size of buf; out, the bytes written. */
	long (*list_readers)(void *arg, long hctx, char *buf, size_t *len);
	/* SHARED, T=0 or T=1 (*proto: SCARD_PROTOCOL_T0 or _T1). */
	long (*connect)(void *arg, long hctx, const char *reader, long *hcard,
			unsigned long *proto);
	/* reset: SCARD_RESET_CARD, else SCARD_LEAVE_CARD (acknowledges a reset or a
	 * new card without resetting it again). */
	long (*reconnect)(void *arg, long hcard, bool reset, unsigned long *proto);
	long (*disconnect)(void *arg, long hcard); /* SCARD_LEAVE_CARD */
	/* *rlen: in, the size of r; out, the R-APDU length. */
	long (*transmit)(void *arg, long hcard, unsigned long proto, const uint8_t *c, size_t clen,
			 uint8_t *r, size_t *rlen);
	/* SCardStatus: the ATR into atr (*atr_len in/out, at least 33 bytes). */
	long (*status)(void *arg, long hcard, uint8_t *atr, size_t *atr_len);
	/* SCardGetStatusChange on one reader, timeout 0: *event = dwEventState
	 * (SCARD_STATE_* bits, pcsc-lite's event counter in the high 16 bits). */
	long (*get_status_change)(void *arg, long hctx, const char *reader, unsigned long cur,
				  unsigned long *event);
};

/* libpcsclite itself. */
extern const struct transport_pcsc_api transport_pcsc_api_pcsclite;

/* ---- the link ---- */

extern const struct card_link_ops transport_link_pcsc_ops; /* .free = transport_link_pcsc_free */

/* Establishes a PC/SC context and checks that reader (the exact name, as pcsc_scan
 * and `opensc-tool -l` print it) exists; connects to its card when one is there
 * (without a card it waits for the watcher). On success *out is the ctx for
 * transport_link_pcsc_ops and 0 is returned. Else a negative errno with a one-line
 * reason in err:
 *   -ENODEV        no such reader: "no reader 'X'; readers: 'A', 'B'" (or "; no
 *                  readers") -- a usage error (exit 2);
 *   -ECONNREFUSED  "pcscd is not running (...)" -- exit 1;
 *   -EINVAL        reader NULL, empty or longer than PCSC_READER_NAME_MAX - 1;
 *   other          another PC/SC failure, mapped by transport_pcsc_errno().
 * transport_link_pcsc_new_api() takes the PC/SC layer to use (borrowed; api_arg is
 * passed to every call). */
__attribute__((warn_unused_result)) int transport_link_pcsc_new(const char *reader,
								struct transport_link_pcsc **out,
								char *err, size_t errcap);
__attribute__((warn_unused_result)) int transport_link_pcsc_new_api(
	const char *reader, const struct transport_pcsc_api *api, void *api_arg,
	struct transport_link_pcsc **out, char *err, size_t errcap);
/* Disconnects (leaving the card as it is) and releases the context. NULL is a no-op. */
void transport_link_pcsc_free(struct transport_link_pcsc *l);

const char *transport_link_pcsc_reader(const struct transport_link_pcsc *l);
/* True while a card is connected (between CARD_IN and CARD_OUT). */
bool transport_link_pcsc_has_card(const struct transport_link_pcsc *l);
/* T=0 or T=1 (0 or 1), -1 without a card. */
int transport_link_pcsc_protocol(const struct transport_link_pcsc *l);
/* The last PC/SC failure as one line ("card removed (...)"), "" when none. */
const char *transport_link_pcsc_last_error(const struct transport_link_pcsc *l);

/* ---- insertion, removal, pcscd going and coming ---- */

enum transport_pcsc_event {
	TRANSPORT_PCSC_NONE = 0,
	TRANSPORT_PCSC_CARD_IN,
	TRANSPORT_PCSC_CARD_RESET,
	TRANSPORT_PCSC_CARD_OUT,
};

const char *transport_pcsc_event_name(enum transport_pcsc_event ev);

/* One poll, sans timer (the watcher's tick; tests call it directly): what changed
 * since the last poll into *ev, and for CARD_IN / CARD_RESET the card's ATR into
 * atr[0..cap) (*atr_len; cap >= 33 always suffices). Returns the delay in ms
 * before the next poll: poll_ms, or the back-off while pcscd is away (doubling
 * from poll_ms to backoff_max_ms). */
unsigned transport_link_pcsc_poll(struct transport_link_pcsc *l, unsigned poll_ms,
				  unsigned backoff_max_ms, enum transport_pcsc_event *ev,
				  uint8_t *atr, size_t cap, size_t *atr_len);

/* Called from the event loop (never from inside a link operation), so it may use
 * the gateway, which uses the link. atr is valid during the call only (NULL and 0
 * for CARD_OUT). */
typedef void transport_pcsc_card_fn(void *arg, enum transport_pcsc_event ev, const uint8_t *atr,
				    size_t atr_len);

struct transport_pcsc_watch_opts {
	unsigned poll_ms;        /* 0: PCSC_POLL_MS */
	unsigned backoff_max_ms; /* while pcscd is away; 0: PCSC_BACKOFF_MAX_MS */
};

/* base and l are borrowed and must outlive the watcher; opts may be NULL. NULL on no
 * memory or a NULL argument. Nothing happens before transport_pcsc_watch_start(). */
struct transport_pcsc_watch *transport_pcsc_watch_new(struct event_base *base,
						      struct transport_link_pcsc *l,
						      const struct transport_pcsc_watch_opts *opts,
						      transport_pcsc_card_fn *fn, void *arg);
/* NULL is a no-op. Not from the callback. */
void transport_pcsc_watch_free(struct transport_pcsc_watch *w);
/* Polls once now (so a card already in the reader is reported, and the gateway
 * started, before this returns), then every poll_ms. Do not start the gateway
 * yourself: CARD_IN says when. 0, or -ENOMEM when the timer cannot be armed. */
__attribute__((warn_unused_result)) int transport_pcsc_watch_start(struct transport_pcsc_watch *w);
void transport_pcsc_watch_stop(struct transport_pcsc_watch *w);

/* ---- PC/SC status codes, translated once ---- */

/* A negative errno for a PC/SC code (0 for SCARD_S_SUCCESS):
 * pcscd gone -ECONNREFUSED, no card / removed -ENOMEDIUM, reset by another
 * application -ECONNRESET, unknown reader -ENODEV, sharing violation -EBUSY,
 * timeout -ETIMEDOUT, buffer -EMSGSIZE, protocol -EPROTO, memory -ENOMEM, else -EIO. */
int transport_pcsc_errno(long code);
/* A short English text ("pcscd is not running"); never NULL. */
const char *transport_pcsc_strerror(long code);

#endif
