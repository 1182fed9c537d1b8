/* card.c - the emulated UICC: command dispatch, logical channels and the
 * file commands (ETSI TS 102 221 §10-11, ISO/IEC 7816-4 §7 and §11). */
#include "card/card.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/limits.h"

struct card_chan {
	bool is_open;
	struct card_fs_node *df;  /* current DF; never NULL while open */
	struct card_fs_node *ef;  /* current EF, a child of df; NULL when none */
	struct card_fs_node *adf; /* current application (7FFF); NULL when none */
	uint8_t rec;              /* current record of ef, 1-based; 0 = none */
};

/* A key's state: non-volatile (value, counters, enabled) except
 * `verified`, which a reset clears (TS 102 221 §9.3). */
struct card_pin {
	uint8_t pin[CARD_PIN_LEN];
	uint8_t left;     /* PIN tries left; 0 = blocked */
	uint8_t puk_left; /* PUK tries left; 0 = the PIN is blocked for good */
	bool enabled;
	bool verified;
};

struct card {
	struct card_fs *fs;  /* written by UPDATE (card.h) */
	unsigned long apdus; /* C-APDUs processed since card_new() */
	struct card_options opts;
	struct card_pin pin[CARD_PINS_MAX];
	uint8_t atr[CARD_ATR_MAX];
	size_t atr_len;
	struct card_chan ch[CARD_LOGICAL_CHANNELS];

	/* Response data of the command being processed. */
	uint8_t *resp; /* APDU_EXT_RESP_MAX bytes */

	/* Data waiting for GET RESPONSE (T=0 style, 61 xx): pending.len > 0
	 * only right after the command that produced it, on pending_ch. */
	struct buf pending;
	unsigned pending_ch;

	const struct card_toolkit_ops *tk;
	void *tk_arg;

	card_sw_fault_fn *sw_fault;
	void *sw_fault_arg;
};

/* A command handler returns the status word; response data goes to resp. */
typedef uint16_t card_ins_fn(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			     struct wr *resp);

struct card_cmd {
	uint8_t cla_mask, cla_value; /* applied to card_apdu_cla_base(CLA) */
	uint8_t ins;
	card_ins_fn *fn;
};

/* SW and text (TS 102 221 §10.2.1). */
static const struct {
	uint16_t sw;
	const char *text;
} sw_texts[] = {
	{ 0x9000, "normal ending" },
	{ 0x6282, "end of file or record reached before reading Le bytes" },
	{ 0x6700, "wrong length" },
	{ 0x6881, "logical channel not supported or not open" },
	{ 0x6882, "secure messaging not supported" },
	{ 0x6981, "command incompatible with file structure" },
	{ 0x6982, "security status not satisfied" },
	{ 0x6983, "authentication/PIN method blocked" },
	{ 0x6984, "referenced data invalidated (PIN disabled)" },
	{ 0x6985, "conditions of use not satisfied" },
	{ 0x6986, "command not allowed (no EF selected)" },
	{ 0x6A80, "incorrect parameters in the data field" },
	{ 0x6A81, "function not supported" },
	{ 0x6A82, "file or application not found" },
	{ 0x6A83, "record not found" },
	{ 0x6A86, "incorrect parameters P1 to P2" },
	{ 0x6A88, "referenced data not found" },
	{ 0x6B00, "wrong parameters P1-P2 (offset outside the EF)" },
	{ 0x6D00, "instruction code not supported" },
	{ 0x6E00, "class not supported" },
	{ 0x6F00, "technical problem, no precise diagnosis" },
	{ 0x9300, "toolkit busy" },
	/* GSM class (3GPP TS 51.011 §9.4). */
	{ 0x9400, "no EF selected (GSM)" },
	{ 0x9402, "out of range, invalid address (GSM)" },
	{ 0x9404, "file ID not found (GSM)" },
	{ 0x9408, "file inconsistent with the command (GSM)" },
	{ 0x9804, "access condition not fulfilled or wrong CHV (GSM)" },
	{ 0x9808, "in contradiction with CHV status (GSM)" },
	{ 0x9840, "CHV blocked (GSM)" },
	{ 0x6B00, "incorrect parameter P1 or P2 (GSM)" },
};

const char *card_sw_text(uint16_t sw)
{
	switch (sw & 0xFF00) {
	case 0x6100:
		return "response bytes still available (GET RESPONSE)";
	case 0x6C00:
		return "wrong Le, SW2 gives the exact length";
	case 0x9100:
		return "normal ending, proactive command pending";
	case 0x9F00:
		return "response data available, SW2 its length (GSM)";
	case 0x6300:
		if ((sw & 0xF0) == 0xC0)
			return "verification failed, SW2 b4-b1 tries left";
		break;
	default:
		break;
	}
	for (size_t i = 0; i < sizeof(sw_texts) / sizeof(sw_texts[0]); i++)
		if (sw_texts[i].sw == sw)
			return sw_texts[i].text;
	return "unknown status word";
}

/* Errors of toolkit callbacks, translated once (doc/style.md §4). */
static uint16_t errno_to_sw(int rc)
{
	switch (rc) {
	case -EINVAL:
	case -EPROTO:
		return SW_WRONG_DATA;
	case -EMSGSIZE:
		return SW_WRONG_LENGTH;
	case -EBADFD:
		return SW_CONDITIONS_NOT_SATISFIED;
	case -EBUSY:
		return SW_TOOLKIT_BUSY;
	default:
		return SW_TECHNICAL_PROBLEM;
	}
}

static bool is_max_le(const struct card_apdu *a)
{
	return a->le == (a->extended ? APDU_EXT_RESP_MAX : APDU_SHORT_RESP_MAX);
}

static struct card_fs_node *enclosing_adf(struct card_fs_node *n)
{
	for (; n; n = n->parent)
		if (n->type == CARD_FS_DF && n->aid_len)
			return n;
	return NULL;
}

/* Makes n the current file of the channel (ISO 7816-4 §7.2.1): a DF
 * becomes the current DF with no current EF; an EF becomes the current EF
 * and its parent the current DF. Selecting anything inside an ADF makes
 * that ADF the current application; outside, the application stays. */
static void set_current(struct card_chan *ch, struct card_fs_node *n)
{
	struct card_fs_node *adf = enclosing_adf(n);
	if (card_fs_is_df(n)) {
		ch->df = n;
		ch->ef = NULL;
	} else {
		ch->df = n->parent;
		ch->ef = n;
	}
	ch->rec = 0;
	if (adf)
		ch->adf = adf;
}

/* SELECT by FID (TS 102 221 §8.4.1): the MF, the current ADF (7FFF), the
 * current DF, a child of the current DF, its parent, or a DF sibling of
 * the current DF. */
static struct card_fs_node *find_fid(const struct card *card, const struct card_chan *ch,
				     uint16_t fid)
{
	struct card_fs_node *n;
	if (fid == CARD_FID_MF)
		return card->fs->mf;
	if (fid == CARD_FID_CURRENT_ADF)
		return ch->adf;
	if (fid == ch->df->fid)
		return ch->df;
	n = card_fs_child(ch->df, fid);
	if (n)
		return n;
	if (ch->df->parent) {
		if (ch->df->parent->fid == fid)
			return ch->df->parent;
		n = card_fs_child(ch->df->parent, fid);
		if (n && card_fs_is_df(n))
			return n;
	}
	return NULL;
}

/* A path of FIDs (ISO 7816-4 §7.2.2): every element but the last is a
 * DF. As in real traces (doc/protocol.md §4.1, `A4 08 04 04 7FFF 5031`), 7FFF
 * may open a path to stand for the current ADF. */
static struct card_fs_node *find_path(struct card_chan *ch, struct card_fs_node *start,
				      const uint8_t *p, size_t len)
{
	struct card_fs_node *n = start;
	for (size_t i = 0; i + 1 < len && n; i += 2) {
		uint16_t fid = (uint16_t)((p[i] << 8) | p[i + 1]);
		if (i == 0 && fid == CARD_FID_CURRENT_ADF)
			n = ch->adf;
		else
			n = card_fs_child(n, fid);
	}
	return n;
}

/* ---- PINs (TS 102 221 §9) ---- */

static struct card_pin *pin_of(struct card *card, uint8_t ref, const struct card_pin_config **cfg)
{
	for (size_t i = 0; i < card->opts.n_pins; i++)
		if (card->opts.pins[i].ref == ref) {
			if (cfg)
				*cfg = &card->opts.pins[i];
			return &card->pin[i];
		}
	return NULL;
}

/* A READ/UPDATE condition naming key `ref` holds when the key is
 * disabled or verified (§9.5.1); a key the card lacks never holds. */
static bool key_satisfied(struct card *card, uint8_t ref)
{
	if (ref == CARD_AC_ALW)
		return true;
	const struct card_pin *p = pin_of(card, ref, NULL);
	return p && (!p->enabled || p->verified);
}

/* PIN status template DO (TS 102 221 §11.1.1.4.10): C6 LL, PS_DO 90
 * (one bit per key listed, b8 of the first byte first: 1 = enabled),
 * then per key the usage qualifier 95 01 08 (user authentication,
 * knowledge based) and the key reference 83 01 xx. */
static size_t pin_template(const struct card *card, uint8_t *out, size_t cap)
{
	size_t n = card->opts.n_pins;
	if (n == 0 || cap < 5 + 6 * n)
		return 0;
	uint8_t ps = 0;
	for (size_t i = 0; i < n; i++)
		if (card->pin[i].enabled)
			ps |= (uint8_t)(0x80 >> i);
	size_t k = 0;
	out[k++] = 0xC6;
	out[k++] = (uint8_t)(3 + 6 * n);
	out[k++] = 0x90;
	out[k++] = 0x01;
	out[k++] = ps;
	for (size_t i = 0; i < n; i++) {
		out[k++] = 0x95;
		out[k++] = 0x01;
		out[k++] = 0x08;
		out[k++] = 0x83;
		out[k++] = 0x01;
		out[k++] = card->opts.pins[i].ref;
	}
	return k;
}

static uint16_t put_fcp(const struct card *card, const struct card_fs_node *n, struct wr *resp)
{
	uint8_t c6[5 + 6 * CARD_PINS_MAX];
	size_t c6_len = card_fs_is_df(n) ? pin_template(card, c6, sizeof(c6)) : 0;
	size_t len = 0;
	if (!wr_room(resp, 2 + CARD_FCP_MAX) ||
	    card_fs_fcp_with(n, c6, c6_len, resp->p + resp->len, resp->cap - resp->len, &len))
		return SW_TECHNICAL_PROBLEM;
	resp->len += len;
	return SW_OK;
}

/* 63 Cx after a wrong presentation; at 0 the key is blocked. */
static uint16_t tries_sw(uint8_t left)
{
	return (uint16_t)(0x63C0 | (left & 0x0F));
}

/* Compares a presented PIN block with the key's value and counts the
 * presentation (§9.4): right resets the counter, wrong decrements it. */
static bool present_pin(const struct card_pin_config *cfg, struct card_pin *p, const uint8_t *block)
{
	/* Constant time: no early exit on the first differing byte. */
	uint8_t diff = 0;
	for (size_t i = 0; i < CARD_PIN_LEN; i++)
		diff |= (uint8_t)(block[i] ^ p->pin[i]);
	if (diff) {
		if (p->left)
			p->left--;
		return false;
	}
	p->left = cfg->tries;
	return true;
}

/* A PIN block as §9.5.2 codes it: 4 to 8 ASCII digits, then FF up to 8
 * bytes. */
static bool pin_block_ok(const uint8_t *b)
{
	size_t i = 0;
	while (i < CARD_PIN_LEN && b[i] >= '0' && b[i] <= '9')
		i++;
	if (i < 4)
		return false;
	for (; i < CARD_PIN_LEN; i++)
		if (b[i] != 0xFF)
			return false;
	return true;
}

/* The common checks of INS 20/24/26/28/2C: P1 00, P2 a key of this card
 * (6A 88 otherwise), Lc one of the lengths the command takes (67 00). */
static uint16_t pin_target(struct card *card, const struct card_apdu *a, size_t lc1, size_t lc2,
			   struct card_pin **p, const struct card_pin_config **cfg)
{
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->has_le || (a->lc != lc1 && a->lc != lc2))
		return SW_WRONG_LENGTH;
	*p = pin_of(card, a->p2, cfg);
	if (!*p)
		return SW_REF_DATA_NOT_FOUND;
	return SW_OK;
}

/* VERIFY PIN (TS 102 221 §11.1.9): without data, the key's state (90 00
 * verified or disabled, 63 Cx tries left, 69 83 blocked); with 8 bytes,
 * a presentation: 90 00 right, 63 Cx wrong (x tries left; 63 C0 blocks
 * the key), 69 83 already blocked, 69 84 the PIN is disabled (nothing to
 * verify; no try counted). */
static uint16_t cmd_verify(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			   struct wr *resp)
{
	struct card_pin *p;
	const struct card_pin_config *cfg;
	uint16_t sw = pin_target(card, a, 0, CARD_PIN_LEN, &p, &cfg);
	if (sw != SW_OK)
		return sw;
	if (p->left == 0)
		return SW_PIN_BLOCKED;
	if (a->lc == 0)
		return !p->enabled || p->verified ? SW_OK : tries_sw(p->left);
	if (!p->enabled)
		return SW_PIN_DISABLED;
	if (!present_pin(cfg, p, a->data)) {
		p->verified = false;
		return tries_sw(p->left);
	}
	p->verified = true;
	return SW_OK;
}

/* CHANGE PIN (§11.1.10): old then new PIN block. 90 00 (the new value,
 * verified), 63 Cx wrong old PIN, 69 83 blocked, 69 84 disabled,
 * 6A 80 the new block is not 4-8 digits padded with FF (no try counted). */
static uint16_t cmd_change_pin(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			       struct wr *resp)
{
	struct card_pin *p;
	const struct card_pin_config *cfg;
	uint16_t sw = pin_target(card, a, 2 * CARD_PIN_LEN, 2 * CARD_PIN_LEN, &p, &cfg);
	if (sw != SW_OK)
		return sw;
	if (p->left == 0)
		return SW_PIN_BLOCKED;
	if (!p->enabled)
		return SW_PIN_DISABLED;
	if (!pin_block_ok(a->data + CARD_PIN_LEN))
		return SW_WRONG_DATA;
	if (!present_pin(cfg, p, a->data)) {
		p->verified = false;
		return tries_sw(p->left);
	}
	memcpy(p->pin, a->data + CARD_PIN_LEN, CARD_PIN_LEN);
	p->verified = true;
	return SW_OK;
}

/* DISABLE PIN (§11.1.11, P1 00: no replacement key) and ENABLE PIN
 * (§11.1.12): the PIN block. 90 00, 63 Cx wrong, 69 83 blocked, 69 85
 * already in the asked state. */
static uint16_t set_enabled(struct card *card, const struct card_apdu *a, bool enable)
{
	struct card_pin *p;
	const struct card_pin_config *cfg;
	uint16_t sw = pin_target(card, a, CARD_PIN_LEN, CARD_PIN_LEN, &p, &cfg);
	if (sw != SW_OK)
		return sw;
	if (p->left == 0)
		return SW_PIN_BLOCKED;
	if (p->enabled == enable)
		return SW_CONDITIONS_NOT_SATISFIED;
	if (!present_pin(cfg, p, a->data)) {
		p->verified = false;
		return tries_sw(p->left);
	}
	p->enabled = enable;
	p->verified = enable;
	return SW_OK;
}

static uint16_t cmd_disable_pin(struct card *card, struct card_chan *ch, const struct card_apdu *a,
				struct wr *resp)
{
	return set_enabled(card, a, false);
}

static uint16_t cmd_enable_pin(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			       struct wr *resp)
{
	return set_enabled(card, a, true);
}

/* UNBLOCK PIN (§11.1.13): without data, the PUK's tries left (63 Cx, or
 * 69 83 when the PUK is blocked); with PUK block then new PIN block:
 * 90 00 (the new PIN, its counter full, enabled and verified), 63 Cx wrong
 * PUK (x PUK tries left), 69 83 PUK blocked, 6A 80 the new PIN block is
 * malformed; a key without a PUK: 69 85. */
static uint16_t cmd_unblock_pin(struct card *card, struct card_chan *ch, const struct card_apdu *a,
				struct wr *resp)
{
	struct card_pin *p;
	const struct card_pin_config *cfg;
	uint16_t sw = pin_target(card, a, 0, 2 * CARD_PIN_LEN, &p, &cfg);
	if (sw != SW_OK)
		return sw;
	if (cfg->puk_len == 0)
		return SW_CONDITIONS_NOT_SATISFIED;
	if (p->puk_left == 0)
		return SW_PIN_BLOCKED;
	if (a->lc == 0)
		return tries_sw(p->puk_left);
	if (!pin_block_ok(a->data + CARD_PIN_LEN))
		return SW_WRONG_DATA;
	uint8_t diff = 0;
	for (size_t i = 0; i < CARD_PIN_LEN; i++)
		diff |= (uint8_t)(a->data[i] ^ cfg->puk[i]);
	if (diff) {
		p->puk_left--;
		return tries_sw(p->puk_left);
	}
	memcpy(p->pin, a->data + CARD_PIN_LEN, CARD_PIN_LEN);
	p->puk_left = cfg->puk_tries;
	p->left = cfg->tries;
	p->enabled = true;
	p->verified = true;
	return SW_OK;
}

static uint16_t cmd_select(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			   struct wr *resp)
{
	struct card_fs_node *n = NULL;
	uint8_t mode = a->p2 & 0x0C;

	/* P2 (TS 102 221 §11.1.1.2): b4-b3 = 01 FCP, 11 no data; 00 (FCI)
	 * is answered as FCP since tools send it; b2-b1 is the occurrence,
	 * meaningful for selection by AID only (one ADF per AID here, so
	 * "next" finds the same one). */
	if ((a->p2 & 0xF0) || mode == 0x08 || (a->p1 != 0x04 && (a->p2 & 0x03)))
		return SW_WRONG_P1P2;

	switch (a->p1) {
	case 0x00:
		/* ISO 7816-4 §11.1.1: P1P2 0000 without data selects the MF. */
		if (a->lc == 0)
			n = card->fs->mf;
		else if (a->lc == 2)
			n = find_fid(card, ch, (uint16_t)((a->data[0] << 8) | a->data[1]));
		else
			return SW_WRONG_LENGTH;
		break;
	case 0x03:
		if (a->lc)
			return SW_WRONG_LENGTH;
		n = ch->df->parent;
		break;
	case 0x04:
		if (a->lc == 0 || a->lc > CARD_AID_MAX)
			return SW_WRONG_LENGTH;
		n = card_fs_find_aid(card->fs, a->data, a->lc);
		break;
	case 0x08:
	case 0x09:
		if (a->lc == 0 || a->lc % 2 || a->lc > 2 * CARD_FS_DEPTH_MAX)
			return SW_WRONG_LENGTH;
		n = find_path(ch, a->p1 == 0x08 ? card->fs->mf : ch->df, a->data, a->lc);
		break;
	default:
		return SW_WRONG_P1P2;
	}
	if (!n)
		return SW_FILE_NOT_FOUND;
	set_current(ch, n);
	if (mode == 0x0C)
		return SW_OK;
	return put_fcp(card, n, resp);
}

/* UPDATE's condition other than ALW is ADM: the ADM1 key verified
 * (a card without one refuses). */
static bool adm_verified(struct card *card)
{
	const struct card_pin *p = pin_of(card, CARD_KEY_ADM1, NULL);
	return p && p->enabled && p->verified;
}

/* The transparent EF a binary command works on: n made current first
 * (when given), then the current EF, its access condition for reading or
 * updating met and `offset` within it. */
static uint16_t binary_ef(struct card *card, struct card_chan *ch, struct card_fs_node *n,
			  bool update, size_t offset, struct card_fs_node **ef)
{
	if (n && n != ch->ef)
		set_current(ch, n);
	if (!ch->ef)
		return SW_NO_CURRENT_EF;
	if (ch->ef->type != CARD_FS_EF_TRANSPARENT)
		return SW_INCOMPATIBLE_FILE;
	bool allowed = update ? ch->ef->update_always || adm_verified(card)
			      : key_satisfied(card, ch->ef->read_key);
	if (!allowed)
		return SW_SECURITY_STATUS;
	if (offset >= ch->ef->data.len)
		return SW_WRONG_OFFSET;
	*ef = ch->ef;
	return SW_OK;
}

/* The EF and offset of READ BINARY (no data, Le) or UPDATE BINARY (data,
 * no Le) with the even INS: the EF by SFI in P1 (b8 = 1, b7-b6 = 00, b5-b1
 * = SFI; it becomes current) and the offset in P2, or the current EF and
 * a 15-bit offset in P1-P2. */
static uint16_t binary_target(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			      bool update, struct card_fs_node **ef, size_t *offset)
{
	if (update ? a->lc == 0 || a->has_le : a->lc || !a->has_le)
		return SW_WRONG_LENGTH;
	struct card_fs_node *n = NULL;
	if (a->p1 & 0x80) {
		uint8_t sfi = a->p1 & 0x1F;
		if ((a->p1 & 0x60) || sfi == 0 || sfi > CARD_SFI_MAX)
			return SW_WRONG_P1P2;
		n = card_fs_child_sfi(ch->df, sfi);
		if (!n)
			return SW_FILE_NOT_FOUND;
		*offset = a->p2;
	} else {
		*offset = (size_t)((a->p1 << 8) | a->p2);
	}
	return binary_ef(card, ch, n, update, *offset, ef);
}

static uint16_t cmd_read_binary(struct card *card, struct card_chan *ch, const struct card_apdu *a,
				struct wr *resp)
{
	struct card_fs_node *ef = NULL;
	size_t offset = 0;
	uint16_t sw = binary_target(card, ch, a, false, &ef, &offset);
	if (sw != SW_OK)
		return sw;
	size_t left = ef->data.len - offset;
	size_t n = a->le;
	if (is_max_le(a)) {
		n = left < a->le ? left : a->le;
	} else if (a->le > left) {
		/* ISO 7816-4 §5.3.4: 6C xx tells the exact length when it fits
		 * in a short Le; beyond, the data comes with 62 82. */
		if (left <= APDU_SHORT_RESP_MAX)
			return SW_WRONG_LE(left);
		n = left;
		sw = SW_EOF_BEFORE_LE;
	}
	wr_mem(resp, ef->data.p + offset, n);
	return resp->failed ? SW_TECHNICAL_PROBLEM : sw;
}

/* READ BINARY with the odd INS B1 (ISO 7816-4 §11.2.3, TS 102 221
 * §11.1.3): offsets up to FFFF, beyond even B0's 7FFF. P1-P2 0000 is the
 * current EF, 0001-001E an SFI of the current DF, anything else the FID of
 * an EF there; the data field is the offset data object 54 (1 to 3 bytes
 * of offset, 6A 80 otherwise); the answer is a discretionary data object
 * 53 that fits in Le. Beyond the end: 6B 00; 69 82 as READ BINARY. */
static uint16_t cmd_read_binary_odd(struct card *card, struct card_chan *ch,
				    const struct card_apdu *a, struct wr *resp)
{
	uint16_t p1p2 = (uint16_t)(a->p1 << 8 | a->p2);
	if (!a->has_le || a->lc < 3)
		return SW_WRONG_LENGTH;
	struct rd r;
	rd_init(&r, a->data, a->lc);
	uint8_t tag = rd_u8(&r), l = rd_u8(&r);
	if (tag != 0x54 || l < 1 || l > 3 || (size_t)l != rd_left(&r))
		return SW_WRONG_DATA;
	size_t offset = 0;
	for (uint8_t i = 0; i < l; i++)
		offset = offset << 8 | rd_u8(&r);
	struct card_fs_node *n = NULL, *ef = NULL;
	if (p1p2 != 0) {
		n = p1p2 <= CARD_SFI_MAX ? card_fs_child_sfi(ch->df, (uint8_t)p1p2)
					 : card_fs_child(ch->df, p1p2);
		if (!n)
			return SW_FILE_NOT_FOUND;
	}
	uint16_t sw = binary_ef(card, ch, n, false, offset, &ef);
	if (sw != SW_OK)
		return sw;
	size_t left = ef->data.len - offset;
	/* Le counts the 53 header too: 2 bytes up to 127 of data, 3 up to
	 * 255, 4 beyond. */
	size_t room = a->le, fit;
	if (room >= 4 + 0x100)
		fit = room - 4;
	else if (room >= 3 + 0x80)
		fit = room - 3 > 0xFF ? 0xFF : room - 3;
	else
		fit = room > 2 ? (room - 2 > 0x7F ? 0x7F : room - 2) : 0;
	size_t n_data = left < fit ? left : fit;
	if (n_data == 0)
		return SW_WRONG_LENGTH;
	wr_u8(resp, 0x53);
	if (n_data < 0x80) {
		wr_u8(resp, (uint8_t)n_data);
	} else if (n_data < 0x100) {
		wr_u8(resp, 0x81);
		wr_u8(resp, (uint8_t)n_data);
	} else {
		wr_u8(resp, 0x82);
		wr_u16be(resp, (uint16_t)n_data);
	}
	wr_mem(resp, ef->data.p + offset, n_data);
	if (resp->failed)
		return SW_TECHNICAL_PROBLEM;
	return SW_OK;
}

static uint16_t cmd_update_binary(struct card *card, struct card_chan *ch,
				  const struct card_apdu *a, struct wr *resp)
{
	struct card_fs_node *ef = NULL;
	size_t offset = 0;
	uint16_t sw = binary_target(card, ch, a, true, &ef, &offset);
	if (sw != SW_OK)
		return sw;
	if (a->lc > ef->data.len - offset)
		return SW_WRONG_LENGTH;
	memcpy(ef->data.p + offset, a->data, a->lc);
	return SW_OK;
}

/* Record addressing of READ/UPDATE RECORD (TS 102 221 §11.1.5-6, ISO
 * 7816-4 §7.3.3). P2 b8-b4 = SFI (0: current EF), b3-b1 = 100 absolute
 * (P1 = record, 00 = current record), 010 next, 011 previous. Absolute
 * and current modes leave the record pointer alone; next and previous
 * move it, starting from the first or last record when none is set, and
 * fail at the ends. On success *rec is the record and *new_ptr the
 * pointer to keep once the command succeeds. */
static uint16_t record_target(struct card_chan *ch, const struct card_apdu *a,
			      struct card_fs_node **ef, uint8_t *rec, uint8_t *new_ptr)
{
	uint8_t sfi = a->p2 >> 3;
	uint8_t mode = a->p2 & 0x07;
	if (sfi > CARD_SFI_MAX || (mode != 0x02 && mode != 0x03 && mode != 0x04) ||
	    (mode != 0x04 && a->p1 != 0) || a->p1 == 0xFF)
		return SW_WRONG_P1P2;
	if (sfi) {
		struct card_fs_node *n = card_fs_child_sfi(ch->df, sfi);
		if (!n)
			return SW_FILE_NOT_FOUND;
		if (n != ch->ef)
			set_current(ch, n);
	}
	if (!ch->ef)
		return SW_NO_CURRENT_EF;
	if (ch->ef->type != CARD_FS_EF_LINEAR_FIXED)
		return SW_INCOMPATIBLE_FILE;
	size_t count = card_fs_record_count(ch->ef);
	uint8_t r;
	*new_ptr = ch->rec;
	switch (mode) {
	case 0x04:
		r = a->p1 ? a->p1 : ch->rec;
		break;
	case 0x02:
		r = ch->rec ? (uint8_t)(ch->rec + 1) : 1;
		*new_ptr = r;
		break;
	default:
		r = ch->rec ? (uint8_t)(ch->rec - 1) : (uint8_t)count;
		*new_ptr = r;
		break;
	}
	if (r == 0 || r > count)
		return SW_RECORD_NOT_FOUND;
	*ef = ch->ef;
	*rec = r;
	return SW_OK;
}

static uint16_t cmd_read_record(struct card *card, struct card_chan *ch, const struct card_apdu *a,
				struct wr *resp)
{
	struct card_fs_node *ef = NULL;
	uint8_t rec = 0, ptr = 0;
	if (a->lc || !a->has_le)
		return SW_WRONG_LENGTH;
	uint16_t sw = record_target(ch, a, &ef, &rec, &ptr);
	if (sw != SW_OK)
		return sw;
	if (!key_satisfied(card, ef->read_key))
		return SW_SECURITY_STATUS;
	if (!is_max_le(a) && a->le != ef->rec_len)
		return SW_WRONG_LE(ef->rec_len);
	ch->rec = ptr;
	wr_mem(resp, ef->data.p + (size_t)(rec - 1) * ef->rec_len, ef->rec_len);
	return resp->failed ? SW_TECHNICAL_PROBLEM : SW_OK;
}

static uint16_t cmd_update_record(struct card *card, struct card_chan *ch,
				  const struct card_apdu *a, struct wr *resp)
{
	struct card_fs_node *ef = NULL;
	uint8_t rec = 0, ptr = 0;
	if (a->lc == 0 || a->has_le)
		return SW_WRONG_LENGTH;
	uint16_t sw = record_target(ch, a, &ef, &rec, &ptr);
	if (sw != SW_OK)
		return sw;
	if (!ef->update_always && !adm_verified(card))
		return SW_SECURITY_STATUS;
	if (a->lc != ef->rec_len)
		return SW_WRONG_LENGTH;
	ch->rec = ptr;
	memcpy(ef->data.p + (size_t)(rec - 1) * ef->rec_len, a->data, a->lc);
	return SW_OK;
}

/* GET RESPONSE (TS 102 221 §11.1.9, ISO 7816-3 §10.3.3): Le = the bytes
 * announced by 61 xx, or less (the rest stays, announced again by 61 xx),
 * or 00 for everything up to 256; a longer Le gets 6C xx. */
static uint16_t cmd_get_response(struct card *card, struct card_chan *ch, const struct card_apdu *a,
				 struct wr *resp)
{
	/* The dispatcher keeps pending data only for a GET RESPONSE on the
	 * channel that produced it. */
	size_t avail = card->pending.len;
	if (a->p1 || a->p2)
		return SW_WRONG_P1P2;
	if (a->lc)
		return SW_WRONG_LENGTH;
	if (avail == 0)
		return SW_CONDITIONS_NOT_SATISFIED;
	/* Without Le (a case 1 GET RESPONSE, impossible over T=0) the card
	 * says how many bytes to ask for. */
	if (!a->has_le)
		return SW_WRONG_LE(avail > 0xFF ? 0 : avail);
	size_t n = a->le;
	if (is_max_le(a)) {
		n = avail < a->le ? avail : a->le;
	} else if (a->le > avail) {
		if (avail <= APDU_SHORT_RESP_MAX)
			return SW_WRONG_LE(avail);
		n = avail;
	}
	wr_mem(resp, card->pending.p, n);
	if (resp->failed)
		return SW_TECHNICAL_PROBLEM;
	buf_consume(&card->pending, n);
	if (card->pending.len)
		return SW_BYTES_AVAILABLE(card->pending.len > 0xFF ? 0 : card->pending.len);
	return SW_OK;
}

/* STATUS (TS 102 221 §11.1.2): P1 00/01/02 tell the card about the
 * application (ignored here); P2 00 FCP of the current DF, 01 the current
 * application's DF name, 0C nothing. */
static uint16_t cmd_status(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			   struct wr *resp)
{
	if (a->p1 > 0x02)
		return SW_WRONG_P1P2;
	if (a->lc)
		return SW_WRONG_LENGTH;
	switch (a->p2) {
	case 0x00:
		return put_fcp(card, ch->df, resp);
	case 0x01:
		/* Without a current application there is no DF name: no data. */
		if (ch->adf) {
			wr_u8(resp, 0x84);
			wr_u8(resp, (uint8_t)ch->adf->aid_len);
			wr_mem(resp, ch->adf->aid, ch->adf->aid_len);
		}
		return resp->failed ? SW_TECHNICAL_PROBLEM : SW_OK;
	case 0x0C:
		return SW_OK;
	default:
		return SW_WRONG_P1P2;
	}
}

/* MANAGE CHANNEL (TS 102 221 §11.1.17, ISO 7816-4 §11.1.2), within the
 * configured channels: open with P2 00 when all are in use, 6A 81; a
 * channel number at or beyond the count, 68 81. A channel
 * opened from the basic channel starts at the MF with no application; one
 * opened from another channel inherits that channel's current DF and
 * application (ISO 7816-4 §5.4.1). */
static uint16_t cmd_manage_channel(struct card *card, struct card_chan *ch,
				   const struct card_apdu *a, struct wr *resp)
{
	if (a->lc)
		return SW_WRONG_LENGTH;
	if (a->p1 == 0x00) {
		unsigned n = a->p2;
		unsigned max = card->opts.channels;
		if (n == 0) {
			for (n = 1; n < max && card->ch[n].is_open; n++)
				;
			if (n >= max)
				return SW_FUNC_NOT_SUPPORTED;
		} else if (n >= max) {
			return SW_LOGICAL_CHANNEL_NOT_SUPPORTED;
		} else if (card->ch[n].is_open) {
			return SW_FUNC_NOT_SUPPORTED;
		}
		struct card_chan *nc = &card->ch[n];
		nc->is_open = true;
		nc->ef = NULL;
		nc->rec = 0;
		if (ch == &card->ch[0]) {
			nc->df = card->fs->mf;
			nc->adf = NULL;
		} else {
			nc->df = ch->df;
			nc->adf = ch->adf;
		}
		/* Only P2 = 00 asks the card for the number (ISO 7816-4). */
		if (a->p2 == 0)
			wr_u8(resp, (uint8_t)n);
		return SW_OK;
	}
	if (a->p1 == 0x80) {
		/* P2 00 closes the channel of CLA; the basic channel stays. */
		unsigned n = a->p2 ? a->p2 : (unsigned)(ch - card->ch);
		if (n == 0)
			return SW_WRONG_P1P2;
		if (n >= card->opts.channels || !card->ch[n].is_open)
			return SW_LOGICAL_CHANNEL_NOT_SUPPORTED;
		memset(&card->ch[n], 0, sizeof(card->ch[n]));
		return SW_OK;
	}
	return SW_WRONG_P1P2;
}

static uint16_t cmd_toolkit(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			    struct wr *resp)
{
	int (*fn)(void *, const struct card_apdu *, struct wr *, uint16_t *) = NULL;
	if (card->tk) {
		switch (a->ins) {
		case 0x10:
			fn = card->tk->terminal_profile;
			break;
		case 0x12:
			fn = card->tk->fetch;
			break;
		case 0x14:
			fn = card->tk->terminal_response;
			break;
		case 0xC2:
			fn = card->tk->envelope;
			break;
		default:
			break;
		}
	}
	if (!fn)
		return SW_INS_NOT_SUPPORTED;
	uint16_t sw = SW_OK;
	int rc = fn(card->tk_arg, a, resp, &sw);
	if (rc < 0) {
		resp->len = 0;
		return errno_to_sw(rc);
	}
	if (resp->failed)
		return SW_TECHNICAL_PROBLEM;
	return sw;
}

/* ---- GSM class (3GPP TS 51.011 §9) ---- */

/* Access condition nibble of TS 51.011 §9.3: 0 ALW, 1 CHV1, 2 CHV2,
 * 4-E ADM, F NEV. */
static uint8_t gsm_ac(uint8_t key)
{
	switch (key) {
	case CARD_AC_ALW:
		return 0x0;
	case CARD_KEY_PIN1:
	case CARD_KEY_UPIN:
		return 0x1;
	case CARD_KEY_PIN2:
		return 0x2;
	default:
		return (key & 0x0F) >= 0x4 && (key & 0x0F) <= 0xE ? (key & 0x0F) : 0xF;
	}
}

/* CHV status byte (§9.2.1 bytes 19-22): b8 secret code initialised,
 * b4-b1 false presentations left. 00 when the card has no such key. */
static uint8_t gsm_chv_status(struct card *card, uint8_t ref, bool puk)
{
	const struct card_pin_config *cfg;
	const struct card_pin *p = pin_of(card, ref, &cfg);
	if (!p || (puk && cfg->puk_len == 0))
		return 0x00;
	return (uint8_t)(0x80 | ((puk ? p->puk_left : p->left) & 0x0F));
}

/* The response to a GSM SELECT or STATUS (§9.2.1): 23 bytes for the MF
 * or a DF (memory 0000, type 01/02, 10 bytes of GSM data: file
 * characteristics with b8 = CHV1 disabled, DF and EF counts, the number of
 * codes, CHV1/UNBLOCK CHV1/CHV2/UNBLOCK CHV2 status), 15 for an EF (size,
 * type 04, access conditions READ|UPDATE, INCREASE|RFU, REHABILITATE|
 * INVALIDATE, status 01 not invalidated, structure 00 transparent / 01
 * linear fixed, record length). */
static void gsm_response(struct card *card, const struct card_fs_node *n, struct wr *w)
{
	wr_u16be(w, 0x0000);
	if (card_fs_is_df(n)) {
		unsigned dfs = 0, efs = 0, codes = 0;
		for (const struct card_fs_node *c = n->child; c; c = c->next) {
			if (card_fs_is_df(c))
				dfs++;
			else
				efs++;
		}
		for (size_t i = 0; i < card->opts.n_pins; i++)
			codes += card->opts.pins[i].puk_len ? 2 : 1;
		const struct card_pin *chv1 = pin_of(card, CARD_KEY_PIN1, NULL);
		wr_u16be(w, 0x0000); /* memory not allocated */
		wr_u16be(w, n->fid);
		wr_u8(w, n->type == CARD_FS_MF ? 0x01 : 0x02);
		wr_mem(w, "\0\0\0\0\0", 5);
		wr_u8(w, 10); /* bytes 14-23 */
		wr_u8(w, (uint8_t)((chv1 && !chv1->enabled ? 0x80 : 0x00) | 0x01));
		wr_u8(w, (uint8_t)dfs);
		wr_u8(w, (uint8_t)efs);
		wr_u8(w, (uint8_t)codes);
		wr_u8(w, 0x00);
		wr_u8(w, gsm_chv_status(card, CARD_KEY_PIN1, false));
		wr_u8(w, gsm_chv_status(card, CARD_KEY_PIN1, true));
		wr_u8(w, gsm_chv_status(card, CARD_KEY_PIN2, false));
		wr_u8(w, gsm_chv_status(card, CARD_KEY_PIN2, true));
		wr_u8(w, 0x00);
		return;
	}
	wr_u16be(w, (uint16_t)n->data.len);
	wr_u16be(w, n->fid);
	wr_u8(w, 0x04);
	wr_u8(w, 0x00);
	wr_u8(w, (uint8_t)(gsm_ac(n->read_key) << 4 | (n->update_always ? 0x0 : 0xA)));
	wr_u8(w, 0xFF);
	wr_u8(w, 0xAA);
	wr_u8(w, 0x01);
	wr_u8(w, 0x02);
	wr_u8(w, n->type == CARD_FS_EF_LINEAR_FIXED ? 0x01 : 0x00);
	wr_u8(w, n->type == CARD_FS_EF_LINEAR_FIXED ? n->rec_len : 0x00);
}

/* SELECT (§9.2.1): P1 P2 00 00, a FID (the same reach as a UICC SELECT
 * by FID); the response waits for GET RESPONSE, announced by 9F xx. */
static uint16_t gsm_select(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			   struct wr *resp)
{
	if (a->p1 || a->p2)
		return SW_WRONG_P1P2;
	if (a->lc != 2 || a->has_le)
		return SW_WRONG_LENGTH;
	struct card_fs_node *n = find_fid(card, ch, (uint16_t)((a->data[0] << 8) | a->data[1]));
	if (!n)
		return SW_FILE_NOT_FOUND;
	set_current(ch, n);
	gsm_response(card, n, resp);
	return resp->failed ? SW_TECHNICAL_PROBLEM : SW_OK;
}

/* STATUS (§9.2.2): the current DF's response, up to P3 bytes. */
static uint16_t gsm_status(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			   struct wr *resp)
{
	if (a->p1 || a->p2)
		return SW_WRONG_P1P2;
	if (a->lc || !a->has_le)
		return SW_WRONG_LENGTH;
	gsm_response(card, ch->df, resp);
	if (resp->failed)
		return SW_TECHNICAL_PROBLEM;
	if (resp->len > a->le && !is_max_le(a))
		resp->len = a->le;
	return SW_OK;
}

/* READ BINARY (§9.2.3, offset in P1 P2 up to 7FFF) and READ RECORD
 * (§9.2.5): the UICC commands without SFI addressing. */
static uint16_t gsm_read_binary(struct card *card, struct card_chan *ch, const struct card_apdu *a,
				struct wr *resp)
{
	if (a->p1 & 0x80)
		return SW_WRONG_P1P2;
	return cmd_read_binary(card, ch, a, resp);
}

static uint16_t gsm_read_record(struct card *card, struct card_chan *ch, const struct card_apdu *a,
				struct wr *resp)
{
	if (a->p2 & 0xF8)
		return SW_WRONG_P1P2;
	return cmd_read_record(card, ch, a, resp);
}

/* VERIFY CHV (§9.2.9): P2 01 CHV1 (key 01), 02 CHV2 (key 81), 8 bytes.
 * 90 00; 98 04 wrong, tries left; 98 40 blocked (now or before); 98 08
 * the CHV is disabled. */
static uint16_t gsm_verify_chv(struct card *card, struct card_chan *ch, const struct card_apdu *a,
			       struct wr *resp)
{
	if (a->p1 || (a->p2 != 0x01 && a->p2 != 0x02))
		return SW_WRONG_P1P2;
	if (a->lc != CARD_PIN_LEN || a->has_le)
		return SW_WRONG_LENGTH;
	const struct card_pin_config *cfg;
	struct card_pin *p = pin_of(card, a->p2 == 0x01 ? CARD_KEY_PIN1 : CARD_KEY_PIN2, &cfg);
	if (!p)
		return SW_GSM_NO_CHV;
	if (p->left == 0)
		return SW_GSM_CHV_BLOCKED;
	if (!p->enabled)
		return SW_GSM_CHV_CONTRADICTION;
	if (!present_pin(cfg, p, a->data)) {
		p->verified = false;
		return p->left ? SW_GSM_ACCESS : SW_GSM_CHV_BLOCKED;
	}
	p->verified = true;
	return SW_OK;
}

static uint16_t gsm_get_response(struct card *card, struct card_chan *ch, const struct card_apdu *a,
				 struct wr *resp)
{
	return cmd_get_response(card, ch, a, resp);
}

/* UICC status words as TS 51.011 §9.4 words them; the others pass. */
static uint16_t gsm_sw(uint16_t sw)
{
	static const struct {
		uint16_t uicc, gsm;
	} map[] = {
		{ SW_WRONG_P1P2, 0x6B00 },
		{ SW_WRONG_OFFSET, 0x9402 },
		{ SW_RECORD_NOT_FOUND, 0x9402 },
		{ SW_FILE_NOT_FOUND, 0x9404 },
		{ SW_NO_CURRENT_EF, 0x9400 },
		{ SW_INCOMPATIBLE_FILE, 0x9408 },
		{ SW_SECURITY_STATUS, SW_GSM_ACCESS },
		{ SW_EOF_BEFORE_LE, 0x9402 },
		{ SW_CONDITIONS_NOT_SATISFIED, 0x9400 },
	};
	switch (sw & 0xFF00) {
	case 0x6100:
		return (uint16_t)(0x9F00 | (sw & 0xFF));
	case 0x6C00:
		return (uint16_t)(0x6700 | (sw & 0xFF));
	default:
		break;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].uicc == sw)
			return map[i].gsm;
	return sw;
}

static const struct card_cmd commands[] = {
	{ 0xFF, 0x00, 0xA4, cmd_select },          { 0xFF, 0x00, 0xB0, cmd_read_binary },
	{ 0xFF, 0x00, 0xB1, cmd_read_binary_odd }, { 0xFF, 0x00, 0xB2, cmd_read_record },
	{ 0xFF, 0x00, 0xD6, cmd_update_binary },   { 0xFF, 0x00, 0xDC, cmd_update_record },
	{ 0xFF, 0x00, 0xC0, cmd_get_response },    { 0xFF, 0x00, 0x70, cmd_manage_channel },
	{ 0xFF, 0x00, 0x20, cmd_verify },          { 0xFF, 0x00, 0x24, cmd_change_pin },
	{ 0xFF, 0x00, 0x26, cmd_disable_pin },     { 0xFF, 0x00, 0x28, cmd_enable_pin },
	{ 0xFF, 0x00, 0x2C, cmd_unblock_pin },     { 0xFF, 0x80, 0xF2, cmd_status },
	{ 0xFF, 0x80, 0x10, cmd_toolkit },         { 0xFF, 0x80, 0x12, cmd_toolkit },
	{ 0xFF, 0x80, 0x14, cmd_toolkit },         { 0xFF, 0x80, 0xC2, cmd_toolkit },
	{ 0xFF, 0xA0, 0xA4, gsm_select },          { 0xFF, 0xA0, 0xC0, gsm_get_response },
	{ 0xFF, 0xA0, 0xF2, gsm_status },          { 0xFF, 0xA0, 0xB0, gsm_read_binary },
	{ 0xFF, 0xA0, 0xB2, gsm_read_record },     { 0xFF, 0xA0, 0x20, gsm_verify_chv },
};

static const struct card_cmd *find_cmd(const struct card *card, uint8_t cla, uint8_t ins,
				       bool *cla_known)
{
	uint8_t base = card_apdu_cla_base(cla);
	*cla_known = false;
	/* The GSM class is A0 itself: no channels, no secure messaging. */
	if (base == 0xA0 && (cla != 0xA0 || !card->opts.gsm_class))
		return NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if ((base & commands[i].cla_mask) != commands[i].cla_value)
			continue;
		*cla_known = true;
		if (commands[i].ins == ins)
			return &commands[i];
	}
	return NULL;
}

static bool is_success(uint16_t sw)
{
	return sw == SW_OK || (sw & 0xFF00) == 0x9100;
}

/* Warnings 62 xx / 63 xx may come with data (ISO 7816-4 §5.1.3), and so
 * does a partial GET RESPONSE (61 xx: more to come). */
static bool has_data(uint16_t sw)
{
	switch (sw & 0xFF00) {
	case 0x6100:
	case 0x6200:
	case 0x6300:
		return true;
	default:
		return is_success(sw);
	}
}

/* Runs one command; the response data is in card->resp, its length in
 * *data_len. Pending GET RESPONSE data survives only this call. */
static uint16_t process(struct card *card, const uint8_t *capdu, size_t len, size_t *data_len)
{
	struct card_apdu a;
	struct wr resp;
	bool cla_known = false;
	*data_len = 0;

	bool had_pending = card->pending.len > 0;
	unsigned pending_ch = card->pending_ch;
	bool keep_pending = false;
	const struct card_cmd *cmd = NULL;
	uint16_t sw;

	if (len < 4) {
		sw = SW_WRONG_LENGTH;
		goto out;
	}
	int chan = card_apdu_channel(capdu[0]);
	cmd = chan < 0 ? NULL : find_cmd(card, capdu[0], capdu[1], &cla_known);
	if (chan < 0 || (!cmd && !cla_known)) {
		sw = SW_CLA_NOT_SUPPORTED;
		goto out;
	}
	if (!cmd) {
		sw = SW_INS_NOT_SUPPORTED;
		goto out;
	}
	if (card_apdu_parse(capdu, len, &a)) {
		sw = SW_WRONG_LENGTH;
		goto out;
	}
	if (card_apdu_has_sm(a.cla)) {
		sw = SW_SECURE_MESSAGING_NOT_SUPPORTED;
		goto out;
	}
	struct card_chan *ch = &card->ch[chan];
	if ((unsigned)chan >= card->opts.channels || !ch->is_open) {
		sw = SW_LOGICAL_CHANNEL_NOT_SUPPORTED;
		goto out;
	}
	if (cmd->ins == 0xC0) {
		if (!had_pending || pending_ch != (unsigned)chan)
			buf_reset(&card->pending);
		keep_pending = true;
	} else {
		buf_reset(&card->pending);
	}

	wr_init(&resp, card->resp, APDU_EXT_RESP_MAX);
	sw = cmd->fn(card, ch, &a, &resp);
	size_t n = resp.len;
	if (!has_data(sw) || n == 0)
		goto out;

	/* Response data that the C-APDU has no room for waits for GET
	 * RESPONSE: all of it for case 3 (T=0, TS 102 221 §7.3.1.1.4), the
	 * part beyond Le otherwise. */
	size_t give = a.has_le ? (n < a.le ? n : a.le) : 0;
	if (give < n && is_success(sw)) {
		buf_reset(&card->pending);
		if (buf_append(&card->pending, card->resp + give, n - give)) {
			sw = SW_TECHNICAL_PROBLEM;
			goto out;
		}
		card->pending_ch = (unsigned)chan;
		keep_pending = true;
		size_t left = card->pending.len;
		sw = SW_BYTES_AVAILABLE(left > 0xFF ? 0 : left);
	}
	*data_len = give < n ? give : n;
out:
	if (!keep_pending)
		buf_reset(&card->pending);
	if (cmd && cmd->cla_value == 0xA0)
		sw = gsm_sw(sw);
	/* STATUS is the terminal's poll: the toolkit may have become due. */
	if (sw == SW_OK && cmd && cmd->ins == 0xF2 && card->tk && card->tk->status)
		card->tk->status(card->tk_arg);
	/* TS 102 221 §7.4.2.2: a pending proactive command turns 90 00 into
	 * 91 xx, whatever the command was. */
	if (sw == SW_OK && card->tk && card->tk->pending) {
		size_t p = card->tk->pending(card->tk_arg);
		if (p)
			sw = SW_PROACTIVE(p > 0xFF ? 0 : p);
	}
	return sw;
}

int card_transmit(struct card *card, const uint8_t *capdu, size_t len, uint8_t *out, size_t cap,
		  size_t *out_len)
{
	size_t n = 0;
	if (!card || !out || !out_len || (len && !capdu))
		return -EINVAL;
	uint16_t sw;
	if (card->sw_fault && len >= 2 && card->sw_fault(card->sw_fault_arg, capdu[1], &sw))
		buf_reset(&card->pending);
	else
		sw = process(card, capdu, len, &n);
	card->apdus++;
	if (cap < 2 || n > cap - 2)
		return -EMSGSIZE;
	if (n)
		memcpy(out, card->resp, n);
	out[n] = (uint8_t)(sw >> 8);
	out[n + 1] = (uint8_t)sw;
	*out_len = n + 2;
	return 0;
}

void card_set_sw_fault(struct card *card, card_sw_fault_fn *fn, void *arg)
{
	card->sw_fault = fn;
	card->sw_fault_arg = arg;
}

void card_reset(struct card *card)
{
	if (!card)
		return;
	memset(card->ch, 0, sizeof(card->ch));
	card->ch[0].is_open = true;
	card->ch[0].df = card->fs->mf;
	buf_reset(&card->pending);
	card->pending_ch = 0;
	for (size_t i = 0; i < CARD_PINS_MAX; i++)
		card->pin[i].verified = false;
	if (card->tk && card->tk->reset)
		card->tk->reset(card->tk_arg);
}

struct card *card_new(struct card_fs *fs, const uint8_t *atr, size_t atr_len)
{
	if (!fs || !fs->mf || !atr || atr_len == 0 || atr_len > CARD_ATR_MAX)
		return NULL;
	struct card *card = calloc(1, sizeof(*card));
	if (!card)
		return NULL;
	card->resp = malloc(APDU_EXT_RESP_MAX);
	if (!card->resp) {
		free(card);
		return NULL;
	}
	card->fs = fs;
	card_options_init(&card->opts);
	memcpy(card->atr, atr, atr_len);
	card->atr_len = atr_len;
	buf_init(&card->pending, APDU_EXT_RESP_MAX);
	card_reset(card);
	return card;
}

void card_options_init(struct card_options *o)
{
	memset(o, 0, sizeof(*o));
	o->channels = CARD_LOGICAL_CHANNELS;
	o->gsm_class = true;
}

int card_configure(struct card *card, const struct card_options *o)
{
	if (!card || !o || o->channels < 1 || o->channels > CARD_LOGICAL_CHANNELS ||
	    o->n_pins > CARD_PINS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < o->n_pins; i++) {
		const struct card_pin_config *c = &o->pins[i];
		if (c->ref == 0x00 || c->ref == 0xFF || c->tries < 1 ||
		    c->tries > CARD_PIN_TRIES_MAX || c->puk_len > CARD_PIN_LEN ||
		    (c->puk_len && (c->puk_tries < 1 || c->puk_tries > CARD_PIN_TRIES_MAX)))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (o->pins[j].ref == c->ref)
				return -EINVAL;
	}
	card->opts = *o;
	memset(card->pin, 0, sizeof(card->pin));
	for (size_t i = 0; i < o->n_pins; i++) {
		memcpy(card->pin[i].pin, o->pins[i].pin, CARD_PIN_LEN);
		card->pin[i].left = o->pins[i].tries;
		card->pin[i].puk_left = o->pins[i].puk_tries;
		card->pin[i].enabled = o->pins[i].enabled;
	}
	card_reset(card);
	return 0;
}

void card_free(struct card *card)
{
	if (!card)
		return;
	buf_cleanup(&card->pending);
	free(card->resp);
	free(card);
}

const uint8_t *card_atr(const struct card *card, size_t *len)
{
	*len = card->atr_len;
	return card->atr;
}

void card_set_toolkit(struct card *card, const struct card_toolkit_ops *ops, void *arg)
{
	card->tk = ops;
	card->tk_arg = ops ? arg : NULL;
}

static const struct card_chan *chan_at(const struct card *card, unsigned channel)
{
	if (!card || channel >= card->opts.channels || !card->ch[channel].is_open)
		return NULL;
	return &card->ch[channel];
}

bool card_channel_is_open(const struct card *card, unsigned channel)
{
	return chan_at(card, channel) != NULL;
}

const struct card_fs_node *card_current_df(const struct card *card, unsigned channel)
{
	const struct card_chan *ch = chan_at(card, channel);
	return ch ? ch->df : NULL;
}

const struct card_fs_node *card_current_ef(const struct card *card, unsigned channel)
{
	const struct card_chan *ch = chan_at(card, channel);
	return ch ? ch->ef : NULL;
}

const struct card_fs_node *card_current_adf(const struct card *card, unsigned channel)
{
	const struct card_chan *ch = chan_at(card, channel);
	return ch ? ch->adf : NULL;
}

unsigned long card_apdu_count(const struct card *card)
{
	return card ? card->apdus : 0;
}
