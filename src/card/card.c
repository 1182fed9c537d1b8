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

struct card {
	const struct card_fs *fs;
	unsigned long apdus; /* C-APDUs processed since card_new() */
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

static uint16_t put_fcp(const struct card_fs_node *n, struct wr *resp)
{
	size_t len = 0;
	if (!wr_room(resp, 2 + CARD_FCP_MAX) ||
	    card_fs_fcp(n, resp->p + resp->len, resp->cap - resp->len, &len))
		return SW_TECHNICAL_PROBLEM;
	resp->len += len;
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
	return put_fcp(n, resp);
}

/* The EF a READ/UPDATE BINARY works on: by SFI in P1 (b8 = 1, b7-b6 = 00,
 * b5-b1 = SFI; the EF becomes current) or the current EF. */
static uint16_t binary_target(struct card_chan *ch, const struct card_apdu *a,
			      struct card_fs_node **ef, size_t *offset)
{
	if (a->p1 & 0x80) {
		uint8_t sfi = a->p1 & 0x1F;
		if ((a->p1 & 0x60) || sfi == 0 || sfi > CARD_SFI_MAX)
			return SW_WRONG_P1P2;
		struct card_fs_node *n = card_fs_child_sfi(ch->df, sfi);
		if (!n)
			return SW_FILE_NOT_FOUND;
		if (n != ch->ef)
			set_current(ch, n);
		*offset = a->p2;
	} else {
		*offset = (size_t)((a->p1 << 8) | a->p2);
	}
	if (!ch->ef)
		return SW_NO_CURRENT_EF;
	if (ch->ef->type != CARD_FS_EF_TRANSPARENT)
		return SW_INCOMPATIBLE_FILE;
	*ef = ch->ef;
	return SW_OK;
}

static uint16_t cmd_read_binary(struct card *card, struct card_chan *ch,
				const struct card_apdu *a, struct wr *resp)
{
	struct card_fs_node *ef = NULL;
	size_t offset = 0;
	if (a->lc || !a->has_le)
		return SW_WRONG_LENGTH;
	uint16_t sw = binary_target(ch, a, &ef, &offset);
	if (sw != SW_OK)
		return sw;
	size_t size = ef->data.len;
	if (offset >= size)
		return SW_WRONG_OFFSET;
	size_t left = size - offset;
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

static uint16_t cmd_update_binary(struct card *card, struct card_chan *ch,
				  const struct card_apdu *a, struct wr *resp)
{
	struct card_fs_node *ef = NULL;
	size_t offset = 0;
	if (a->lc == 0 || a->has_le)
		return SW_WRONG_LENGTH;
	uint16_t sw = binary_target(ch, a, &ef, &offset);
	if (sw != SW_OK)
		return sw;
	if (!ef->update_always)
		return SW_SECURITY_STATUS;
	if (offset >= ef->data.len)
		return SW_WRONG_OFFSET;
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

static uint16_t cmd_read_record(struct card *card, struct card_chan *ch,
				const struct card_apdu *a, struct wr *resp)
{
	struct card_fs_node *ef = NULL;
	uint8_t rec = 0, ptr = 0;
	if (a->lc || !a->has_le)
		return SW_WRONG_LENGTH;
	uint16_t sw = record_target(ch, a, &ef, &rec, &ptr);
	if (sw != SW_OK)
		return sw;
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
	if (!ef->update_always)
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
static uint16_t cmd_get_response(struct card *card, struct card_chan *ch,
				 const struct card_apdu *a, struct wr *resp)
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
		return put_fcp(ch->df, resp);
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

/* MANAGE CHANNEL (TS 102 221 §11.1.17, ISO 7816-4 §11.1.2). A channel
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
		if (n == 0) {
			for (n = 1; n < CARD_LOGICAL_CHANNELS && card->ch[n].is_open; n++)
				;
			if (n == CARD_LOGICAL_CHANNELS)
				return SW_FUNC_NOT_SUPPORTED;
		} else if (n >= CARD_LOGICAL_CHANNELS) {
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
		if (n >= CARD_LOGICAL_CHANNELS || !card->ch[n].is_open)
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

static const struct card_cmd commands[] = {
	{ 0xFF, 0x00, 0xA4, cmd_select },
	{ 0xFF, 0x00, 0xB0, cmd_read_binary },
	{ 0xFF, 0x00, 0xB2, cmd_read_record },
	{ 0xFF, 0x00, 0xD6, cmd_update_binary },
	{ 0xFF, 0x00, 0xDC, cmd_update_record },
	{ 0xFF, 0x00, 0xC0, cmd_get_response },
	{ 0xFF, 0x00, 0x70, cmd_manage_channel },
	{ 0xFF, 0x80, 0xF2, cmd_status },
	{ 0xFF, 0x80, 0x10, cmd_toolkit },
	{ 0xFF, 0x80, 0x12, cmd_toolkit },
	{ 0xFF, 0x80, 0x14, cmd_toolkit },
	{ 0xFF, 0x80, 0xC2, cmd_toolkit },
};

static const struct card_cmd *find_cmd(uint8_t cla, uint8_t ins, bool *cla_known)
{
	uint8_t base = card_apdu_cla_base(cla);
	*cla_known = false;
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
	uint16_t sw;

	if (len < 4) {
		sw = SW_WRONG_LENGTH;
		goto out;
	}
	int chan = card_apdu_channel(capdu[0]);
	const struct card_cmd *cmd = chan < 0 ? NULL : find_cmd(capdu[0], capdu[1], &cla_known);
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
	if (!ch->is_open) {
		sw = SW_LOGICAL_CHANNEL_NOT_SUPPORTED;
		goto out;
	}
	if (cmd->fn == cmd_get_response) {
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
	/* TS 102 221 §7.4.2.2: a pending proactive command turns 90 00 into
	 * 91 xx, whatever the command was. */
	if (sw == SW_OK && card->tk && card->tk->pending) {
		size_t p = card->tk->pending(card->tk_arg);
		if (p)
			sw = SW_PROACTIVE(p > 0xFF ? 0 : p);
	}
	return sw;
}

int card_transmit(struct card *card, const uint8_t *capdu, size_t len, uint8_t *out,
		  size_t cap, size_t *out_len)
{
	size_t n = 0;
	if (!card || !out || !out_len || (len && !capdu))
		return -EINVAL;
	uint16_t sw = process(card, capdu, len, &n);
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

void card_reset(struct card *card)
{
	if (!card)
		return;
	memset(card->ch, 0, sizeof(card->ch));
	card->ch[0].is_open = true;
	card->ch[0].df = card->fs->mf;
	buf_reset(&card->pending);
	card->pending_ch = 0;
	if (card->tk && card->tk->reset)
		card->tk->reset(card->tk_arg);
}

struct card *card_new(const struct card_fs *fs, const uint8_t *atr, size_t atr_len)
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
	memcpy(card->atr, atr, atr_len);
	card->atr_len = atr_len;
	buf_init(&card->pending, APDU_EXT_RESP_MAX);
	card_reset(card);
	return card;
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
	if (!card || channel >= CARD_LOGICAL_CHANNELS || !card->ch[channel].is_open)
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
