/* cat.h - proactive UICC engine (ETSI TS 102 223 §6, over TS 102 221 §7.4.2
 * and §14): TERMINAL PROFILE, FETCH, TERMINAL RESPONSE, ENVELOPE.
 *
 * Sans-I/O. The engine implements struct card_toolkit_ops (card.h) and
 * runs one proactive session: it asks an application (the BIP server of
 * bip.h) for the next proactive command whenever none is waiting, numbers
 * it (01..FE, wrapping, 01 again after every TERMINAL PROFILE), encodes
 * it, announces it through pending() (the card turns 90 00 into 91 xx),
 * hands it out on FETCH, and routes the matching TERMINAL RESPONSE and
 * every event download back to the application. One command is in flight
 * at a time (TS 102 223 §6.2): the next one is asked for only after the
 * previous one's TERMINAL RESPONSE.
 *
 * Status words (beyond card.c's generic ones: 67 00 for bad length fields):
 * - any toolkit INS with P1 P2 != 00 00: 6A 86.
 * - TERMINAL PROFILE, TERMINAL RESPONSE or ENVELOPE without data: 67 00.
 * - FETCH with data: 67 00. FETCH with nothing announced: 69 85. FETCH
 *   whose Le is neither the announced length nor 00 (256), or without Le:
 *   6C xx with the announced length (TS 102 221 §7.3.1.1.5 / ISO 7816-3
 *   §10.3.3: "wrong Le, SW2 gives the exact length"), and the command
 *   stays announced.
 * - TERMINAL RESPONSE with no command fetched and unanswered: 69 85. A
 *   response that does not decode, or whose Command details name another
 *   command number or type than the outstanding command: 6A 80, and the
 *   outstanding command stays outstanding (the terminal may answer it
 *   again). The command qualifier is not compared (terminals may echo a
 *   modified one).
 * - ENVELOPE before any TERMINAL PROFILE: 69 85. A malformed or truncated
 *   BER-TLV, or an event download without its mandatory objects: 6A 80.
 *   A well-formed envelope other than an event download (SMS-PP, menu
 *   selection, ...): 6A 81 (function not supported). Events the
 *   application rejects: its error (-EBUSY gives 93 00).
 * - A new TERMINAL PROFILE restarts the session: the command waiting or
 *   in flight is dropped and the application starts over. */
#ifndef SCWS_CARD_CAT_H
#define SCWS_CARD_CAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card/card.h"
#include "card/cat_msg.h"
#include "core/log.h"

struct card_cat;

/* Where the engine and the application send their log lines (one line,
 * no newline); with none set, lines go to log_msg() under "cat". */
typedef void card_cat_log_fn(void *arg, enum log_level level, const char *line);

/* The application above the engine. Every callback runs inside
 * card_transmit() (or card_reset()) and must not call card_transmit(). */
struct card_cat_app_ops {
	/* A TERMINAL PROFILE arrived: start a new session (drop everything
	 * of the previous one). */
	void (*profile)(void *arg, const struct card_cat_profile *tp);
	/* The next proactive command, or false for none now. The app fills
	 * everything but details.number; views in *cmd need to stay valid
	 * only until next() returns (the engine encodes at once). */
	bool (*next)(void *arg, struct card_cat_command *cmd);
	/* The TERMINAL RESPONSE to the command next() gave last (`issued`:
	 * its details as sent). tr is NULL when the command could not be
	 * encoded and was never sent (a bug in the application: logged). */
	void (*response)(void *arg, const struct card_cat_details *issued,
			 const struct card_cat_response *tr);
	/* An event download. 0, or a negative errno that becomes the SW
	 * (card.h: -EPROTO 6A 80, -EBUSY 93 00). A command announced but
	 * not fetched yet is withdrawn first (cancel()), so that what the
	 * card announces after the event reflects it: a SEND DATA prepared
	 * for a client that left never reaches the next client. */
	int (*event)(void *arg, const struct card_cat_event *ev);
	/* The command next() gave last is withdrawn before the terminal
	 * fetched it: forget it (it may be asked for again). Its number is
	 * given to the next command. */
	void (*cancel)(void *arg, const struct card_cat_details *issued);
	/* Card reset: drop everything (may be NULL). */
	void (*reset)(void *arg);
	/* The terminal polled with STATUS (may be NULL): called before the
	 * engine asks next(), so a command that was waiting for the poll can
	 * be announced in the same answer. */
	void (*poll)(void *arg);
};

/* app and app_arg are borrowed and must outlive the engine. NULL on
 * allocation failure or app == NULL. */
struct card_cat *card_cat_new(const struct card_cat_app_ops *app, void *app_arg);
void card_cat_free(struct card_cat *cat);

void card_cat_set_log(struct card_cat *cat, card_cat_log_fn *fn, void *arg);
/* Logs through the engine's log function (for the application). */
__attribute__((format(printf, 3, 4))) void card_cat_log(const struct card_cat *cat,
							enum log_level level, const char *fmt, ...);

/* The toolkit operations; their `arg` is the struct card_cat. */
extern const struct card_toolkit_ops card_cat_toolkit_ops;
/* card_set_toolkit(card, &card_cat_toolkit_ops, cat). Detach (or free the
 * card) before freeing the engine. */
void card_cat_attach(struct card_cat *cat, struct card *card);

/* The last TERMINAL PROFILE, or NULL before one (or after a reset). */
const struct card_cat_profile *card_cat_profile(const struct card_cat *cat);
/* Length of the command announced and not fetched yet (0: none); asks
 * the application for one when none is waiting or in flight. This is the
 * toolkit's pending(). */
size_t card_cat_pending(struct card_cat *cat);
/* True while a fetched command waits for its TERMINAL RESPONSE; its
 * details in *out (may be NULL). */
bool card_cat_outstanding(const struct card_cat *cat, struct card_cat_details *out);

#endif
