/* pkcs15.h - PKCS#15 objects of the DM bootstrap (PKCS #15 v1.1, ISO/IEC 7816-15,
 * OMA DM Bootstrap smartcard appendix, doc/protocol.md §4): EF.DIR application
 * template, ODF, TokenInfo, DODF, and the walk a handset does over APDUs
 * to find the bootstrap (EF.DIR -> PKCS#15 ADF -> ODF -> DODF -> EF).
 *
 * Encoders append DER to a struct wr (sticky failure: check w->failed, or
 * the int they return). Decoders copy what they keep into the caller's
 * struct (no view outlives the call), tolerate 00/FF padding after the last
 * object (real cards pad transparent EFs and records), never read past the
 * input, and return 0 or -EPROTO for anything malformed. */
#ifndef SCWS_CARD_PKCS15_H
#define SCWS_CARD_PKCS15_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/limits.h"

/* A000000063 504B43532D3135 ("PKCS-15"), SIMalliance Open Mobile API. */
extern const uint8_t card_pkcs15_aid[12];
/* OID 2.23.43.7.1 (OMA DM bootstrap) as DER contents: 67 2B 07 01. */
extern const uint8_t card_pkcs15_oid_dm_bootstrap[4];
/* The value some cards put in the OID's contents instead: a whole DER OID
 * 06 04 67 2B 09 01 (2.23.43.9.1, LwM2M bootstrap; doc/protocol.md §4.1). */
extern const uint8_t card_pkcs15_oid_misencoded[6];

/* ODF choices (PKCS15Objects, context tags [0]..[8], constructed). */
#define CARD_PKCS15_ODF_PRKDF 0xA0
#define CARD_PKCS15_ODF_PUKDF 0xA1
#define CARD_PKCS15_ODF_DODF 0xA7
#define CARD_PKCS15_ODF_AODF 0xA8

/* DataType choices of a DODF entry. */
#define CARD_PKCS15_DO_OPAQUE 0x30
#define CARD_PKCS15_DO_EXTERNAL 0xA0
#define CARD_PKCS15_DO_OID 0xA1

/* CommonObjectFlags (named bits). */
#define CARD_PKCS15_FLAG_PRIVATE (1u << 0)
#define CARD_PKCS15_FLAG_MODIFIABLE (1u << 1)

/* Path ::= SEQUENCE { path OCTET STRING, index INTEGER OPTIONAL,
 * length [0] INTEGER OPTIONAL }. `path` holds FIDs back to back. */
struct card_pkcs15_path {
	uint8_t path[PKCS15_PATH_MAX];
	size_t len;
	bool has_index; /* index and length: a part of a transparent EF */
	long index;
	long length; /* valid when has_length */
	bool has_length;
};

/* EF.DIR application template (ISO/IEC 7816-4 §8.2.1.3): 61 { 4F aid,
 * [50 label], [51 path], other tags skipped }. */
struct card_pkcs15_dir_app {
	uint8_t aid[CARD_AID_MAX];
	size_t aid_len;
	char label[PKCS15_LABEL_MAX + 1]; /* NUL-terminated, cut at PKCS15_LABEL_MAX */
	bool has_label;
	uint8_t path[PKCS15_PATH_MAX];
	size_t path_len; /* 0: no 51 */
};

struct card_pkcs15_odf_entry {
	uint32_t tag;  /* A0..A8 (others kept as read) */
	bool has_path; /* false: PathOrObjects other than a Path (objects inline) */
	struct card_pkcs15_path path;
};

struct card_pkcs15_odf {
	struct card_pkcs15_odf_entry e[PKCS15_ODF_ENTRIES_MAX];
	size_t n;
};

struct card_pkcs15_tokeninfo {
	long version;
	uint8_t serial[32];
	size_t serial_len;
	char manufacturer[PKCS15_LABEL_MAX + 1];
	bool has_manufacturer;
	char label[PKCS15_LABEL_MAX + 1];
	bool has_label; /* label [0] */
	uint32_t flags; /* TokenFlags named bits */
};

/* One DODF entry (PKCS15Object { CommonObjectAttributes,
 * CommonDataObjectAttributes, [0] sub-class (skipped), [1] type }). */
struct card_pkcs15_do {
	uint32_t kind; /* CARD_PKCS15_DO_*, or another tag as read */
	char label[PKCS15_LABEL_MAX + 1];
	bool has_label;
	uint32_t flags; /* CARD_PKCS15_FLAG_* */
	char app_name[PKCS15_LABEL_MAX + 1];
	bool has_app_name;
	uint8_t app_oid[PKCS15_OID_MAX];  /* applicationOID contents */
	size_t app_oid_len;               /* 0: absent */
	uint8_t type_oid[PKCS15_OID_MAX]; /* OidDO.id contents */
	size_t type_oid_len;              /* 0: absent */
	bool has_path;                    /* value is a Path (else direct, URL, ...) */
	struct card_pkcs15_path path;
};

struct card_pkcs15_dodf {
	struct card_pkcs15_do e[PKCS15_DODF_ENTRIES_MAX];
	size_t n;
};

/* Path of FIDs as text "3F00/7F50/6432" (odd length: hex of the bytes). */
const char *card_pkcs15_path_str(const uint8_t *path, size_t len, char *out, size_t cap);

/* Encoders. Each returns 0, or -EMSGSIZE when the writer ran out of room
 * (w->failed is then set), -EINVAL for arguments out of range. */
__attribute__((warn_unused_result)) int card_pkcs15_dir_encode(
	struct wr *w, const struct card_pkcs15_dir_app *app);
__attribute__((warn_unused_result)) int card_pkcs15_path_encode(
	struct wr *w, const struct card_pkcs15_path *path);
/* One ODF entry: tag { Path }. */
__attribute__((warn_unused_result)) int card_pkcs15_odf_encode(struct wr *w, uint32_t tag,
							       const struct card_pkcs15_path *path);
__attribute__((warn_unused_result)) int card_pkcs15_tokeninfo_encode(
	struct wr *w, const struct card_pkcs15_tokeninfo *ti);
/* One DODF entry. kind CARD_PKCS15_DO_OID writes typeAttributes
 * [1] { OidDO { id type_oid, value Path } } (type_oid required); the other
 * kinds write [1] { Path }. app_oid, when set, goes in
 * CommonDataObjectAttributes.applicationOID. Flags 0 are omitted. */
__attribute__((warn_unused_result)) int card_pkcs15_do_encode(struct wr *w,
							      const struct card_pkcs15_do *obj);

/* Decoders: 0 or -EPROTO (and -EMSGSIZE for more entries than the limit). */
__attribute__((warn_unused_result)) int card_pkcs15_dir_decode(const uint8_t *rec, size_t len,
							       struct card_pkcs15_dir_app *out);
__attribute__((warn_unused_result)) int card_pkcs15_odf_decode(const uint8_t *p, size_t len,
							       struct card_pkcs15_odf *out);
__attribute__((warn_unused_result)) int card_pkcs15_tokeninfo_decode(
	const uint8_t *p, size_t len, struct card_pkcs15_tokeninfo *out);
__attribute__((warn_unused_result)) int card_pkcs15_dodf_decode(const uint8_t *p, size_t len,
								struct card_pkcs15_dodf *out);

/* True when the DIR application is the PKCS#15 one (its AID starts with
 * card_pkcs15_aid: an AID may carry a longer PIX). */
bool card_pkcs15_dir_is_pkcs15(const struct card_pkcs15_dir_app *app);

/* The DODF entry whose OID is `oid` (contents; NULL = 2.23.43.7.1), in
 * typeAttributes or in applicationOID. An exact match wins; then, unless
 * strict, an OID whose contents are the whole DER TLV of `oid`, or (for
 * the DM bootstrap OID) card_pkcs15_oid_misencoded. Returns the index, or
 * -ENOENT. *misencoded tells which kind matched (may be NULL). */
int card_pkcs15_dodf_find(const struct card_pkcs15_dodf *dodf, const uint8_t *oid, size_t oid_len,
			  bool strict, bool *misencoded);

/* The walk. `transmit` sends one C-APDU and returns the R-APDU (data and
 * SW1 SW2) in rapdu: 0, or a negative errno for a transport failure.
 * card_transmit() has this shape. */
typedef int card_pkcs15_transmit_fn(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu,
				    size_t cap, size_t *rlen);
/* One human line per step ("SELECT 2F00 (EF.DIR): 90 00, linear fixed,
 * 1 record of 31 bytes"); the line is valid during the call only. */
typedef void card_pkcs15_report_fn(void *arg, const char *line);

struct card_pkcs15_walk_ops {
	card_pkcs15_transmit_fn *transmit;
	void *ctx;
	card_pkcs15_report_fn *report; /* may be NULL */
	void *report_arg;
	const uint8_t *oid; /* NULL: 2.23.43.7.1 */
	size_t oid_len;
	bool strict_oid; /* refuse mis-encoded OIDs */
	/* PIN1 as a PIN block (digits padded with FF, TS 102 221 §9.5.2),
	 * or NULL: presented with VERIFY PIN after SELECT MF when the MF's
	 * PIN status template (C6) says PIN1 is enabled, as a handset does
	 * at power-on. */
	const uint8_t *pin1;
};

/* What the walk found, for listings and logs (filled as far as it got). */
struct card_pkcs15_walk_info {
	uint8_t aid[CARD_AID_MAX];
	size_t aid_len;
	int channel; /* logical channel used; -1 before MANAGE CHANNEL */
	uint8_t dodf_path[PKCS15_PATH_MAX];
	size_t dodf_path_len;
	uint8_t ef_path[PKCS15_PATH_MAX];
	size_t ef_path_len;
	bool misencoded_oid;
	unsigned apdus;     /* C-APDUs sent */
	int pin1_enabled;   /* from the MF's C6: 1, 0, or -1 when not said */
	bool pin1_verified; /* the walk presented PIN1 and the card took it */
};

/* Finds the DM bootstrap as a handset would (LwM2M/OMA DM smartcard
 * bootstrap): SELECT MF, SELECT 2F00, READ RECORD until 6A 83 -> PKCS#15
 * AID -> MANAGE CHANNEL open -> SELECT by AID (P2 04) -> SELECT 7FFF/5031
 * -> READ BINARY (size from FCP 80, chunks <= 256, 61 xx -> GET RESPONSE,
 * 6C xx -> re-send; beyond offset 7FFF the odd INS B1 with an offset DO
 * 54) -> ODF -> DODF(s) -> the bootstrap EF -> MANAGE CHANNEL close. With
 * ops->pin1 and PIN1 enabled, VERIFY PIN1 follows SELECT MF. The bytes are appended to `out` (its max applies; emptied on
 * failure). `info` may be NULL.
 * Returns 0; -ENOENT when the card is well formed but holds no bootstrap
 * (no EF.DIR, no PKCS#15 application, no DODF, no entry with the OID, an
 * empty or all-padding bootstrap EF); -EACCES when a file needs a PIN
 * not presented (69 82), PIN1 is refused (63 Cx) or blocked (69 83);
 * -EPROTO for a broken card (an
 * unexpected status word, a malformed object, a path that does not
 * select); -EIO when transmit failed; -EMSGSIZE over a limit; -ENOMEM.
 * err gets one line naming the step and the reason ("DODF 6430 has no
 * entry with OID 2.23.43.7.1", "SELECT 7FFF/6432: 6A 82 file not found"). */
__attribute__((warn_unused_result)) int card_pkcs15_walk(const struct card_pkcs15_walk_ops *ops,
							 struct buf *out,
							 struct card_pkcs15_walk_info *info,
							 char *err, size_t errcap);

#endif
