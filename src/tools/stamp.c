/* stamp.c - per-card substitutions and PSK keys for scwsemu-card new --count. */
#include "tools/stamp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/limits.h"

unsigned stamp_width(unsigned count)
{
	unsigned w = 1;
	for (unsigned v = count; v >= 10; v /= 10)
		w++;
	return w < STAMP_WIDTH_MIN ? STAMP_WIDTH_MIN : w;
}

/* The variables, longest first where one is a prefix of another. */
static const struct {
	const char *name;
	bool padded;
} vars[] = {
	{ "${NNN}", true },
	{ "${N}", false },
};

int stamp_subst(const char *in, size_t len, unsigned n, unsigned width, struct buf *out)
{
	size_t before = out->len;
	size_t i = 0, from = 0;
	int rc = 0;
	while (i < len && !rc) {
		size_t k = 0, vlen = 0;
		if (in[i] == '$') {
			for (k = 0; k < sizeof(vars) / sizeof(vars[0]); k++) {
				vlen = strlen(vars[k].name);
				if (len - i >= vlen && memcmp(in + i, vars[k].name, vlen) == 0)
					break;
			}
		}
		if (in[i] != '$' || k == sizeof(vars) / sizeof(vars[0])) {
			i++;
			continue;
		}
		char num[16];
		int w = vars[k].padded ? snprintf(num, sizeof(num), "%0*u", (int)width, n)
				       : snprintf(num, sizeof(num), "%u", n);
		rc = buf_append(out, in + from, i - from);
		if (!rc)
			rc = buf_append(out, num, (size_t)w);
		i += vlen;
		from = i;
	}
	if (!rc)
		rc = buf_append(out, in + from, len - from);
	if (rc) {
		out->len = before;
		return -EMSGSIZE;
	}
	return 0;
}

bool stamp_has_var(const char *s)
{
	for (size_t k = 0; k < sizeof(vars) / sizeof(vars[0]); k++)
		if (strstr(s, vars[k].name))
			return true;
	return false;
}

int stamp_psk_key(const uint8_t *master, size_t master_len, const char *identity, uint8_t *out,
		  size_t key_len)
{
	if (!master || !master_len || !identity || !out || !key_len || key_len > TLS_PSK_KEY_MAX)
		return -EINVAL;
	size_t id_len = strlen(identity);
	if (id_len > TLS_PSK_IDENTITY_MAX)
		return -EINVAL;
	uint8_t msg[TLS_PSK_IDENTITY_MAX + 1], block[EVP_MAX_MD_SIZE];
	memcpy(msg, identity, id_len);
	size_t done = 0;
	for (uint8_t ctr = 1; done < key_len; ctr++) {
		unsigned blen = 0;
		msg[id_len] = ctr;
		if (!HMAC(EVP_sha256(), master, (int)master_len, msg, id_len + 1, block, &blen))
			return -EINVAL;
		size_t take = key_len - done < blen ? key_len - done : blen;
		memcpy(out + done, block, take);
		done += take;
	}
	OPENSSL_cleanse(block, sizeof(block));
	return 0;
}
