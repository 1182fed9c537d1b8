/* pcsc_loop.c - times APDUs through pcscd (PC/SC, libpcsclite): SELECT MF
 * (00 A4 00 0C 02 3F 00) then READ BINARY of EF.ICCID by SFI 02
 * (00 B0 82 00 0A), in a loop; every answer is checked. For measuring the
 * vpcd link (tests/tools/vpcd_card), not a test.
 *
 *   pcsc_loop [-r READER] [-n PAIRS] [-w WAIT_SECONDS]
 * READER defaults to the first reader whose name starts "Virtual PCD". */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long number(const char *s)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	return (end && *end == '\0' && v > 0) ? v : -1;
}

/* The first reader whose name starts with prefix, into out. */
static bool find_reader(SCARDCONTEXT ctx, const char *prefix, char *out, size_t cap)
{
	DWORD len = 0;
	char *list;
	bool found = false;
	if (SCardListReaders(ctx, NULL, NULL, &len) != SCARD_S_SUCCESS || len == 0)
		return false;
	list = malloc(len);
	if (!list)
		return false;
	if (SCardListReaders(ctx, NULL, list, &len) == SCARD_S_SUCCESS) {
		for (char *r = list; *r; r += strlen(r) + 1) {
			if (strncmp(r, prefix, strlen(prefix)) == 0 && strlen(r) < cap) {
				memcpy(out, r, strlen(r) + 1);
				found = true;
				break;
			}
		}
	}
	free(list);
	return found;
}

static bool transmit(SCARDHANDLE h, DWORD proto, const BYTE *c, DWORD clen, const BYTE *want,
		     DWORD wlen)
{
	BYTE r[258];
	DWORD rlen = sizeof(r);
	const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	LONG rc = SCardTransmit(h, pci, c, clen, NULL, r, &rlen);
	if (rc != SCARD_S_SUCCESS) {
		fprintf(stderr, "pcsc_loop: SCardTransmit: %s\n", pcsc_stringify_error(rc));
		return false;
	}
	if (rlen != wlen || memcmp(r, want, wlen) != 0) {
		fprintf(stderr, "pcsc_loop: unexpected answer (%lu bytes, SW %02X%02X)\n",
			(unsigned long)rlen, rlen >= 2 ? r[rlen - 2] : 0,
			rlen >= 2 ? r[rlen - 1] : 0);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static const BYTE select_mf[] = { 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00 };
	static const BYTE read_iccid[] = { 0x00, 0xB0, 0x82, 0x00, 0x0A };
	static const BYTE sw_ok[] = { 0x90, 0x00 };
	BYTE iccid[12];
	DWORD iccid_len = sizeof(iccid);
	const char *reader = NULL;
	char name[256];
	long pairs = 10000, wait_s = 10;
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto = 0;
	LONG rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			reader = argv[++i];
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			pairs = number(argv[++i]);
		else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
			wait_s = number(argv[++i]);
		else
			pairs = -1;
		if (pairs < 0 || wait_s < 0) {
			fprintf(stderr,
				"usage: pcsc_loop [-r READER] [-n PAIRS] [-w WAIT_SECONDS]\n");
			return 2;
		}
	}
	rc = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rc != SCARD_S_SUCCESS) {
		fprintf(stderr, "pcsc_loop: SCardEstablishContext: %s\n", pcsc_stringify_error(rc));
		return 1;
	}
	if (!reader) {
		if (!find_reader(ctx, "Virtual PCD", name, sizeof(name))) {
			fprintf(stderr, "pcsc_loop: no \"Virtual PCD\" reader\n");
			SCardReleaseContext(ctx);
			return 1;
		}
		reader = name;
	}
	/* Wait for the card to be in the reader (vpcd polls every 0.4 s). */
	SCARD_READERSTATE st = { .szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE };
	double until = now_s() + (double)wait_s;
	for (;;) {
		rc = SCardGetStatusChange(ctx, 500, &st, 1);
		if (rc == SCARD_S_SUCCESS) {
			if (st.dwEventState & SCARD_STATE_PRESENT)
				break;
			st.dwCurrentState = st.dwEventState;
		} else if (rc != SCARD_E_TIMEOUT) {
			break;
		}
		if (now_s() >= until)
			break;
	}
	if (!(st.dwEventState & SCARD_STATE_PRESENT)) {
		fprintf(stderr, "pcsc_loop: no card in \"%s\" after %ld s\n", reader, wait_s);
		SCardReleaseContext(ctx);
		return 1;
	}
	rc = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
			  &h, &proto);
	if (rc != SCARD_S_SUCCESS) {
		fprintf(stderr, "pcsc_loop: SCardConnect: %s\n", pcsc_stringify_error(rc));
		SCardReleaseContext(ctx);
		return 1;
	}
	/* The expected READ BINARY answer is whatever the first one says. */
	if (!transmit(h, proto, select_mf, sizeof(select_mf), sw_ok, 2) ||
	    SCardTransmit(h, proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1, read_iccid,
			  sizeof(read_iccid), NULL, iccid, &iccid_len) != SCARD_S_SUCCESS ||
	    iccid_len != 12 || iccid[10] != 0x90 || iccid[11] != 0x00) {
		fprintf(stderr, "pcsc_loop: the card does not answer SELECT MF + READ BINARY\n");
		goto fail;
	}
	double t0 = now_s();
	for (long i = 0; i < pairs; i++) {
		if (!transmit(h, proto, select_mf, sizeof(select_mf), sw_ok, 2) ||
		    !transmit(h, proto, read_iccid, sizeof(read_iccid), iccid, iccid_len)) {
			fprintf(stderr, "pcsc_loop: failed at pair %ld\n", i);
			goto fail;
		}
	}
	double dt = now_s() - t0;
	printf("pcsc_loop: %ld APDUs in %.3f s: %.0f APDUs/s (%.1f us each) via \"%s\"\n",
	       2 * pairs, dt, (double)(2 * pairs) / dt, dt * 1e6 / (double)(2 * pairs), reader);
	SCardDisconnect(h, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return 0;
fail:
	SCardDisconnect(h, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return 1;
}
