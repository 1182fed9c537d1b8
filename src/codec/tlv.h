/* tlv.h - BER-TLV / DER (ISO/IEC 8825-1, ISO/IEC 7816-4 §5.2), COMPREHENSION-TLV
 * (ETSI TS 102 223 Annex C, TS 101 220 §7.1.1) and OBJECT IDENTIFIER contents.
 *
 * Readers work on a struct rd and return views into its buffer: a view is
 * valid as long as the caller's input is. On error a reader returns a
 * negative errno and leaves the cursor where it was (not failed), so the
 * caller may inspect the bytes (padding checks). Writers append to a
 * struct wr and never write past its capacity; a write that does not fit
 * sets the writer's sticky `failed` flag, checked once at the end. */
#ifndef SCWS_CODEC_TLV_H
#define SCWS_CODEC_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"

/* Reader options. */
#define CODEC_TLV_DER 0x1u /* DER: minimal length and tag encodings only */

/* Tag classes (bits b8-b7 of the first tag byte). */
#define CODEC_TLV_CLASS_UNIVERSAL 0x00
#define CODEC_TLV_CLASS_APPLICATION 0x40
#define CODEC_TLV_CLASS_CONTEXT 0x80
#define CODEC_TLV_CLASS_PRIVATE 0xC0

/* One BER-TLV. `tag` is the tag bytes read big-endian as one number, as
 * specifications write them: 0x30, 0xA7, 0x5F50, 0x7F4901 (1 to 4 bytes). */
struct codec_tlv {
	uint32_t tag;
	uint8_t cls;      /* CODEC_TLV_CLASS_* */
	bool constructed; /* b6 of the first tag byte */
	struct bytes value;
	struct bytes raw; /* tag, length and value */
};

/* Reads one TLV at the cursor and advances past it. Lengths: 00-7F, 81 xx,
 * 82 xxxx, 83 xxxxxx. 0; -EPROTO on a malformed or truncated TLV (no bytes
 * left included), an indefinite length (80), a length form over 83, a
 * value running past the input, a tag over 4 bytes, or (CODEC_TLV_DER) a
 * non-minimal length or tag. */
__attribute__((warn_unused_result)) int codec_tlv_read(struct rd *r, unsigned flags,
						       struct codec_tlv *out);

/* codec_tlv_read() that also requires the tag; -EPROTO when it differs. */
__attribute__((warn_unused_result)) int codec_tlv_expect(struct rd *r, unsigned flags, uint32_t tag,
							 struct codec_tlv *out);

/* The first TLV with `tag` among the TLVs that make up p[0..len) (one
 * level, no recursion). 0, -ENOENT when absent, -EPROTO when the list is
 * malformed before a match. */
__attribute__((warn_unused_result)) int codec_tlv_find(const uint8_t *p, size_t len, unsigned flags,
						       uint32_t tag, struct codec_tlv *out);

/* True when every remaining byte of the cursor is 00 or FF: the padding
 * real cards leave after the last object of a transparent EF or record. */
bool codec_tlv_rest_is_padding(const struct rd *r);

/* Writing. Tags as in struct codec_tlv (0 is not a valid tag). Lengths up
 * to FFFFFF are written in the minimal (DER) form. */
void codec_tlv_put_tag(struct wr *w, uint32_t tag);
void codec_tlv_put_len(struct wr *w, size_t len);
void codec_tlv_put(struct wr *w, uint32_t tag, const void *value, size_t len);
/* A constructed (or any) value whose length is not known yet: begin writes
 * the tag and reserves one length byte and returns a mark; end fixes the
 * length, moving the content when the length needs more bytes. Nest freely;
 * end in reverse order of begin. */
size_t codec_tlv_begin(struct wr *w, uint32_t tag);
void codec_tlv_end(struct wr *w, size_t mark);
/* INTEGER (DER two's complement, minimal) and UTF8String helpers. */
void codec_tlv_put_int(struct wr *w, uint32_t tag, long v);
void codec_tlv_put_str(struct wr *w, uint32_t tag, const char *s);
/* BIT STRING of named bits: bit n of `bits` is ASN.1 bit n (bit 0 is the
 * MSB of the first content byte); trailing zero bits are dropped (DER
 * X.690 §11.2.2), so 0 gives 03 01 00. */
void codec_tlv_put_named_bits(struct wr *w, uint32_t tag, uint32_t bits);

/* Decoders of primitive contents. INTEGER: -EPROTO on empty content,
 * -ERANGE when it does not fit a long; (DER) non-minimal -> -EPROTO. */
__attribute__((warn_unused_result)) int codec_tlv_int(struct bytes v, unsigned flags, long *out);
/* BIT STRING of named bits (first 32 bits; more are ignored). -EPROTO on
 * empty content or an unused-bits count over 7 (or non-zero unused bits
 * with no byte after it). */
__attribute__((warn_unused_result)) int codec_tlv_named_bits(struct bytes v, uint32_t *out);

/* COMPREHENSION-TLV (TS 102 223 Annex C). `tag` is the tag value without
 * the CR flag: 01..7E in the 1-byte form, 0001..7FFF in the 3-byte form
 * (`7F` + 2 bytes, CR in bit 16). */
struct codec_ctlv {
	uint16_t tag;
	bool cr;       /* comprehension required */
	bool long_tag; /* read in the 3-byte form */
	struct bytes value;
	struct bytes raw;
};

/* Reads one C-TLV: lengths 00-7F and 81 xx (with CODEC_TLV_DER, 81 xx only
 * for xx >= 80). 0 or -EPROTO (truncated, tag byte 00/80/FF, 3-byte tag
 * of value 0, other length forms, value past the input). */
__attribute__((warn_unused_result)) int codec_ctlv_read(struct rd *r, unsigned flags,
							struct codec_ctlv *out);
/* First C-TLV with `tag` (CR ignored) in p[0..len); 0, -ENOENT, -EPROTO. */
__attribute__((warn_unused_result)) int codec_ctlv_find(const uint8_t *p, size_t len, uint16_t tag,
							struct codec_ctlv *out);
/* Writes a C-TLV: the 1-byte tag form for 01..7E, else the 3-byte form;
 * length 00-7F or 81 xx; values over 255 bytes fail the writer. */
void codec_ctlv_put(struct wr *w, uint16_t tag, bool cr, const void *value, size_t len);

/* OBJECT IDENTIFIER contents (X.690 §8.19), without tag and length.
 * codec_oid_encode: dotted text ("2.23.43.7.1") -> content bytes; 0,
 * -EINVAL on bad text (fewer than 2 arcs, first arc over 2, second over 39
 * under 0 or 1, an arc over 32 bits, more than CODEC_OID_ARCS_MAX arcs),
 * -EMSGSIZE when cap is short.
 * codec_oid_decode: content bytes -> dotted text (NUL-terminated); 0,
 * -EPROTO on malformed contents (empty, a sub-identifier with a leading 80
 * byte or cut short, one over 32 bits), -EMSGSIZE when cap is short. */
__attribute__((warn_unused_result)) int codec_oid_encode(const char *dotted, uint8_t *out,
							 size_t cap, size_t *out_len);
__attribute__((warn_unused_result)) int codec_oid_decode(const uint8_t *p, size_t len, char *out,
							 size_t cap);

#endif
