/* link.c - the APDU link wrapper: one place that traces every exchange
 * (ETSI TS 102 221 §10; trace records per doc/protocol.md §7). */
#include "transport/link.h"

#include <errno.h>

int transport_link_transmit(struct card_link *l, const uint8_t *capdu, size_t len, uint8_t *rapdu,
			    size_t cap, size_t *rlen)
{
	if (!l || !l->ops || !l->ops->transmit || !capdu || !rapdu || !rlen)
		return -EINVAL;
	*rlen = 0;
	int rc = l->ops->transmit(l->ctx, capdu, len, rapdu, cap, rlen);
	if (rc)
		return rc;
	/* A link that claims more than it was given room for is broken. */
	if (*rlen > cap)
		return -EIO;
	if (l->trace)
		l->trace(l->trace_arg, capdu, len, rapdu, *rlen);
	if (*rlen < 2)
		return -EPROTO;
	return 0;
}

int transport_link_reset(struct card_link *l, uint8_t *atr, size_t cap, size_t *atr_len)
{
	if (!l || !l->ops || !l->ops->reset || !atr || !atr_len)
		return -EINVAL;
	*atr_len = 0;
	int rc = l->ops->reset(l->ctx, atr, cap, atr_len);
	if (rc)
		return rc;
	if (*atr_len > cap)
		return -EIO;
	if (l->trace)
		l->trace(l->trace_arg, NULL, 0, atr, *atr_len);
	return 0;
}
