/* paths.h - where the shipped data (cards/, pki/) is found at run time. */
#ifndef SCWS_CONFIG_PATHS_H
#define SCWS_CONFIG_PATHS_H

#include <stddef.h>

/* The path of `rel` ("cards/default", "pki") in the first place it exists:
 * beside the binary's directory (a build in the source tree), the source
 * tree of the build the binary belongs to (an out-of-tree build), then the
 * installed data directory. Returns out; out names the installed location
 * when none exists. */
const char *config_data_path(const char *rel, char *out, size_t cap);

#endif
