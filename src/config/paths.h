/* paths.h - where the shipped data (cards/, pki/) is found at run time. */
#ifndef SCWS_CONFIG_PATHS_H
#define SCWS_CONFIG_PATHS_H

#include <stddef.h>
#include <stdio.h>

/* The path of `rel` ("cards/default", "pki") in the first place it exists:
 * beside the binary's directory (a build in the source tree), BINDIR/../
 * share/scwsemu (an installed tree, wherever it was put: DESTDIR, any
 * prefix), the source tree of the build the binary belongs to (an
 * out-of-tree build), then the installed data directory. Returns out; out names the installed location
 * when none exists. */
const char *config_data_path(const char *rel, char *out, size_t cap);

/* The card directory --card ARG names: ARG itself when it is a directory or
 * contains a '/', else the shipped card of that name (cards/ARG, found as
 * config_data_path finds it) when it exists, else ARG (the profile loader
 * then says what is missing). Returns out. */
const char *config_card_path(const char *arg, char *out, size_t cap);

/* The test CA that signed the card's certificate: scws-ca.crt beside
 * cert_file when it is there, else the shipped pki/scws-ca.crt. cert_file
 * may be NULL (a PSK-only card). Returns out. */
const char *config_ca_path(const char *cert_file, char *out, size_t cap);

/* scwsemu --print-paths: the data directory, the shipped cards (by name),
 * the card --card names, and its CA file, one "label: value" line each. */
void config_print_paths(FILE *out, const char *card_dir, const char *ca_file);

#endif
