/* fs.h - the card's file system (ISO/IEC 7816-4 §7, ETSI TS 102 221 §8).
 *
 * A tree of MF, DFs and EFs. A DF with an AID is an ADF: it is a child of
 * the MF with its own FID (e.g. 7F50) and may also be selected by AID.
 * EFs are transparent or linear fixed. The tree owns every node and its
 * contents; card_fs_free() frees them all. Lookups return borrowed nodes,
 * valid until the tree is freed or the node is removed.
 *
 * The tree is writable where it is written: a card writes EF contents
 * (UPDATE BINARY / UPDATE RECORD, card.h), so card_new() and the lookups
 * that return a node to write take a writable tree or node; read-only
 * users (listings, card_fs_walk(), card_fs_path()) take const ones. */
#ifndef SCWS_CARD_FS_H
#define SCWS_CARD_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"

#define CARD_FID_MF 0x3F00
#define CARD_FID_CURRENT_ADF 0x7FFF /* TS 102 221 §8.4.1: "current application" */

/* Access conditions of READ (card_fs_node.read_key): always, or a key
 * reference of TS 102 221 §9.5.1 Table 9.3. */
#define CARD_AC_ALW 0x00
#define CARD_KEY_PIN1 0x01 /* PIN Appl 1 */
#define CARD_KEY_ADM1 0x0A
#define CARD_KEY_UPIN 0x11 /* universal PIN */
#define CARD_KEY_PIN2 0x81 /* second PIN Appl 1 */

enum card_fs_type {
	CARD_FS_MF,
	CARD_FS_DF, /* also ADF when aid_len > 0 */
	CARD_FS_EF_TRANSPARENT,
	CARD_FS_EF_LINEAR_FIXED,
};

struct card_fs_node {
	enum card_fs_type type;
	uint16_t fid;
	uint8_t sfi; /* 0 = none */
	uint8_t aid[CARD_AID_MAX];
	size_t aid_len;     /* ADF only */
	char label[64];     /* for listings; may be empty */
	bool update_always; /* UPDATE access condition ALW, else ADM (69 82) */
	uint8_t read_key;   /* READ access condition: CARD_AC_ALW or the key reference
				   * (TS 102 221 §9.5.1) that must be verified or disabled */
	struct buf data;    /* transparent: contents; linear fixed: records back to back */
	uint8_t rec_len;    /* linear fixed only; data.len == rec_len * record count */
	struct card_fs_node *parent;
	struct card_fs_node *child; /* first child (DF/MF only) */
	struct card_fs_node *next;  /* next sibling */
};

struct card_fs {
	struct card_fs_node *mf;
};

/* A new tree holding only the MF (3F00); NULL on allocation failure. */
struct card_fs *card_fs_new(void);
void card_fs_free(struct card_fs *fs);

/* Adding nodes. Each returns 0 and the new node in *out (may be NULL),
 * -EEXIST when the FID is already used under that parent (or the AID
 * already used by another ADF), -EINVAL for a reserved FID (3F00, 7FFF,
 * FFFF) or a parent that is not a DF, -EMSGSIZE over a limit of limits.h,
 * -ENOMEM. */
__attribute__((warn_unused_result)) int card_fs_add_df(struct card_fs_node *parent, uint16_t fid,
						       struct card_fs_node **out);
__attribute__((warn_unused_result)) int card_fs_add_adf(struct card_fs *fs, uint16_t fid,
							const uint8_t *aid, size_t aid_len,
							struct card_fs_node **out);
__attribute__((warn_unused_result)) int card_fs_add_ef(struct card_fs_node *parent, uint16_t fid,
						       const uint8_t *data, size_t len,
						       struct card_fs_node **out);
/* `records` holds nrec records of rec_len bytes back to back. */
__attribute__((warn_unused_result)) int card_fs_add_ef_records(struct card_fs_node *parent,
							       uint16_t fid, uint8_t rec_len,
							       const uint8_t *records, size_t nrec,
							       struct card_fs_node **out);

/* Replaces an EF's contents (transparent) or records (linear fixed:
 * len must be a multiple of rec_len). 0, -EINVAL, -EMSGSIZE, -ENOMEM. */
__attribute__((warn_unused_result)) int card_fs_set_data(struct card_fs_node *ef,
							 const uint8_t *data, size_t len);

/* Sets an EF's short file identifier (1..30; 0 removes it). -EINVAL for a
 * DF or an SFI over CARD_SFI_MAX, -EEXIST when a sibling EF already has it. */
__attribute__((warn_unused_result)) int card_fs_set_sfi(struct card_fs_node *ef, uint8_t sfi);

/* Child of a DF by FID; NULL when none. */
struct card_fs_node *card_fs_child(struct card_fs_node *df, uint16_t fid);
/* EF child of a DF by SFI (1..30); NULL when none. */
struct card_fs_node *card_fs_child_sfi(struct card_fs_node *df, uint8_t sfi);
/* ADF whose AID starts with the given bytes (partial AID, ISO 7816-4
 * §5.3.1.1); the first match in tree order, NULL when none or len == 0. */
struct card_fs_node *card_fs_find_aid(struct card_fs *fs, const uint8_t *aid, size_t len);
/* Node at an absolute path of FIDs starting with 3F00; NULL when none. */
struct card_fs_node *card_fs_lookup(struct card_fs *fs, const uint16_t *fids, size_t n);
/* Path of a node from the MF as FIDs (fids[0] == 3F00); returns the count,
 * or 0 when cap is too small. */
size_t card_fs_path(const struct card_fs_node *node, uint16_t *fids, size_t cap);

static inline bool card_fs_is_df(const struct card_fs_node *n)
{
	return n->type == CARD_FS_MF || n->type == CARD_FS_DF;
}

static inline size_t card_fs_record_count(const struct card_fs_node *n)
{
	return n->type == CARD_FS_EF_LINEAR_FIXED && n->rec_len ? n->data.len / n->rec_len : 0;
}

/* Depth-first visit of every node in tree order (a parent before its
 * children, children in the order they were added; the MF has depth 0);
 * the callback returns non-zero to stop, and that value is returned. */
typedef int card_fs_visit_fn(void *arg, const struct card_fs_node *node, unsigned depth);
int card_fs_walk(const struct card_fs *fs, card_fs_visit_fn *fn, void *arg);

/* "MF", "DF", "EF transparent", "EF linear fixed". */
const char *card_fs_type_name(enum card_fs_type type);

/* FCP template for SELECT and STATUS (TS 102 221 §11.1.1.3), at most
 * 2 + CARD_FCP_MAX bytes (card_fs_fcp_with() appends `extra`, whole data
 * objects such as the PIN status template C6 the card builds, inside the
 * template; card_fs_fcp() is that without extra):
 *   MF/DF/ADF: 62 LL  82 02 78 21  83 02 fid  [84 LL aid]  8A 01 05
 *              8C 03 06 90 90
 *   EF:        62 LL  82 02 41 21 (transparent) | 82 05 42 21 00 rl nr
 *              83 02 fid  8A 01 05  8C 03 03 uu rr  80 02 size (80 03 00 size
 *              from 8000 on, never a negative INTEGER)
 *              88 01 sfi<<3 | 88 00 (no SFI)
 * 8C is the compact security attribute (ISO 7816-4 §9.3.3): AM 03 = UPDATE
 * and READ, SC 00 = always, 90 = ADM (uu = 00 when update_always); the
 * READ SC is 00, or 90 | (read_key & 0F) for a file whose READ needs a
 * PIN; for a DF AM 06 = CREATE DF / CREATE EF, both ADM. 0 and *out_len,
 * -EMSGSIZE when cap is short or the template would exceed CARD_FCP_MAX. */
__attribute__((warn_unused_result)) int card_fs_fcp(const struct card_fs_node *node, uint8_t *out,
						    size_t cap, size_t *out_len);
__attribute__((warn_unused_result)) int card_fs_fcp_with(const struct card_fs_node *node,
							 const uint8_t *extra, size_t extra_len,
							 uint8_t *out, size_t cap, size_t *out_len);

#endif
