/* layout.h - building a card's file system from a declarative spec:
 * MF, EF.ICCID, EF.DIR, the PKCS#15 application (ODF, TokenInfo, DODF) and
 * the DM bootstrap EF (OMA DM Bootstrap, smartcard appendix; PKCS#15 v1.1),
 * then extra files and byte-for-byte overrides.
 *
 * The spec is plain data; config/profile.c fills it from a card profile.
 * The generated structures are those of doc/protocol.md §4.3. */
#ifndef SCWS_CARD_LAYOUT_H
#define SCWS_CARD_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card/card.h"
#include "card/fs.h"

/* Where the DODF entry carries the OID 2.23.43.7.1 (doc/protocol.md §4.2). */
enum card_oid_place {
	CARD_OID_TYPE_ATTRIBUTES, /* oidDO typeAttributes [1] { id, value Path } (default) */
	CARD_OID_APPLICATION_OID, /* CommonDataObjectAttributes.applicationOID */
	CARD_OID_BOTH,
};

/* An extra file, or an override of a generated one when the path exists. */
struct card_file_spec {
	uint16_t path[CARD_FS_DEPTH_MAX]; /* absolute, path[0] == 3F00 */
	size_t path_len;
	enum card_fs_type type; /* CARD_FS_DF, CARD_FS_EF_TRANSPARENT or CARD_FS_EF_LINEAR_FIXED */
	uint8_t rec_len;        /* linear fixed */
	uint8_t *data;          /* owned by the spec (malloc) */
	size_t len;
	bool update_always;
	char label[64];
	/* Where it was declared, for error messages ("card.conf:42"). */
	char origin[128];
};

/* A READ access condition (from the profile's access list). */
struct card_access_spec {
	uint16_t path[CARD_FS_DEPTH_MAX]; /* absolute, path[0] == 3F00 */
	size_t path_len;
	uint8_t read_key; /* CARD_AC_ALW or a key reference */
	char origin[128]; /* "card.conf:42", for error messages */
};

struct card_spec {
	uint8_t atr[33];
	size_t atr_len;
	uint8_t iccid[10]; /* EF.ICCID 2FE2 contents, BCD nibble-swapped */
	size_t iccid_len;

	/* PKCS#15 application. */
	uint16_t pkcs15_fid;              /* ADF FID under the MF, default 7F50 */
	uint8_t pkcs15_aid[CARD_AID_MAX]; /* default A0 00 00 00 63 50 4B 43 53 2D 31 35 */
	size_t pkcs15_aid_len;
	uint16_t odf_fid;       /* 5031 */
	uint16_t tokeninfo_fid; /* 5032 */
	uint16_t dodf_fid;      /* 6430 */
	uint16_t bootstrap_fid; /* 6432 */
	char token_label[64];
	char manufacturer[64];
	uint8_t serial[16];
	size_t serial_len;
	char dodf_label[64]; /* "DM Bootstrap" */
	enum card_oid_place oid_place;
	bool oid_misencoded; /* write 2.23.43.9.1 (06 04 67 2B 09 01), as some cards do */

	/* The DM bootstrap EF contents as stored (WBXML or XML); owned. */
	bool has_bootstrap;
	uint8_t *bootstrap;
	size_t bootstrap_len;

	/* Extra files and overrides, applied in order after generation. */
	struct card_file_spec *files;
	size_t n_files;

	/* READ conditions, applied after the files; owned. */
	struct card_access_spec *access;
	size_t n_access;

	/* What card_configure() gets: logical channels, GSM class, PINs.
	 * Defaults: the channels the default ATR announces (4), GSM on, PIN1
	 * 0000 (PUK 12345678) disabled and PIN2 0000 (PUK 12345678) enabled,
	 * 3 and 10 tries. */
	struct card_options opts;
};

/* A PIN block (TS 102 221 §9.5.2) from 4 to 8 ASCII digits; -EINVAL
 * otherwise. */
__attribute__((warn_unused_result)) int card_pin_block(const char *digits,
						       uint8_t out[CARD_PIN_LEN]);

/* Fills a spec with the defaults above (no bootstrap, no files). */
void card_spec_init(struct card_spec *spec);
/* Frees what the spec owns; the struct itself is the caller's. */
void card_spec_cleanup(struct card_spec *spec);

/* Builds the tree (files, then access conditions). 0 and *out (the caller frees it with card_fs_free);
 * on failure a negative errno and a one-line reason in err (naming the
 * file's origin for extra files and overrides). */
__attribute__((warn_unused_result)) int card_layout_build(const struct card_spec *spec,
							  struct card_fs **out, char *err,
							  size_t errcap);

/* Replaces the contents of the bootstrap EF that card_layout_build() made
 * from spec in fs (PKCS#15 ADF, bootstrap_fid): the PKCS#15 walk reads the
 * new bytes at once. 0; -ENOENT when fs has no such EF (spec without a
 * bootstrap); -EMSGSIZE over CARD_EF_SIZE_MAX; -ENOMEM; with a reason. */
__attribute__((warn_unused_result)) int card_layout_set_bootstrap(const struct card_spec *spec,
								  struct card_fs *fs,
								  const uint8_t *data, size_t len,
								  char *err, size_t errcap);

#endif
