/* server.h - the SCWS of one card: what every connection shares.
 *
 * Holds the loaded card (profile + file system, adopted), its TLS context,
 * and the state kept across requests (the last push-address per devid).
 * scws_server_load() swaps the card in place (SIGHUP): requests that start
 * afterwards see the new card at once; connections opened before keep the
 * TLS context they started with (OpenSSL reference-counts it). */
#ifndef SCWS_SCWS_SERVER_H
#define SCWS_SCWS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct profile;
struct card_fs;
struct scws_server;

struct scws_server *scws_server_new(void);
void scws_server_free(struct scws_server *srv);

/* Adopts p and fs (freed by the server, also on failure). 0, or a negative
 * errno with a one-line reason in err (e.g. the TLS certificate does not
 * load); on failure the previous card stays in place. */
__attribute__((warn_unused_result))
int scws_server_load(struct scws_server *srv, struct profile *p, struct card_fs *fs, char *err,
		     size_t errcap);

/* The card's profile (borrowed; valid until the next load). */
const struct profile *scws_server_profile(const struct scws_server *srv);

/* Last push-address a client sent with this devid, or NULL. */
const char *scws_server_push_address(const struct scws_server *srv, const char *devid);

#endif
