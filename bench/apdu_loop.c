/* apdu_loop.c - APDUs per second through pcscd (PC/SC, libpcsclite) for
 * bench/run.py: SELECT MF without FCI (00 A4 00 0C 02 3F 00) then READ BINARY
 * by SFI 02 (00 B0 82 00 0A), in a loop for a time or a count. Every answer
 * must equal the first answer to the same command, whatever that was, so the
 * same loop runs against a card that answers 90 00 to all (the ceiling),
 * vicc and scwsemu.
 *
 *   apdu_loop -l                               list the readers, one a line
 *   apdu_loop -r READER [-s SECONDS | -n PAIRS] [-w WAIT_SECONDS]
 *   apdu_loop -r READER -e WAIT_SECONDS        wait until the reader is empty
 *
 * The result is one JSON object on stdout. Exit 0, 1 on a failure (said on
 * stderr), 2 on bad usage. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

#define ANSWER_MAX 258

struct cmd {
	const BYTE *c;
	DWORD clen;
	BYTE want[ANSWER_MAX];
	DWORD want_len;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A positive decimal number (fractions allowed when frac), or -1. */
static double number(const char *s, bool frac)
{
	char *end = NULL;
	double v;
	if (frac) {
		v = strtod(s, &end);
	} else {
		long l = strtol(s, &end, 10);
		v = (double)l;
	}
	return (end && end != s && *end == '\0' && v > 0) ? v : -1;
}

static int list_readers(SCARDCONTEXT ctx)
{
	DWORD len = 0;
	char *list;
	LONG rc = SCardListReaders(ctx, NULL, NULL, &len);
	if (rc != SCARD_S_SUCCESS || len == 0) {
		fprintf(stderr, "apdu_loop: no readers: %s\n", pcsc_stringify_error(rc));
		return 1;
	}
	list = malloc(len);
	if (!list)
		return 1;
	rc = SCardListReaders(ctx, NULL, list, &len);
	if (rc == SCARD_S_SUCCESS)
		for (char *r = list; *r; r += strlen(r) + 1)
			printf("%s\n", r);
	free(list);
	return rc == SCARD_S_SUCCESS ? 0 : 1;
}

/* Waits until a card is in reader, or with want_present false until none
 * is (vpcd polls its cards every 0.4 s, so a card that has gone can still
 * show for a while). */
static bool wait_card(SCARDCONTEXT ctx, const char *reader, double wait_s, bool want_present)
{
	SCARD_READERSTATE st = { .szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE };
	double until = now_s() + wait_s;
	for (;;) {
		LONG rc = SCardGetStatusChange(ctx, 200, &st, 1);
		if (rc == SCARD_S_SUCCESS) {
			if (!!(st.dwEventState & SCARD_STATE_PRESENT) == want_present)
				return true;
			st.dwCurrentState = st.dwEventState;
		} else if (rc != SCARD_E_TIMEOUT) {
			fprintf(stderr, "apdu_loop: SCardGetStatusChange(\"%s\"): %s\n", reader,
				pcsc_stringify_error(rc));
			return false;
		}
		if (now_s() >= until)
			return false;
	}
}

/* Sends cmd; with check, the answer must equal cmd->want, else it becomes
 * cmd->want. */
static bool transmit(SCARDHANDLE h, const SCARD_IO_REQUEST *pci, struct cmd *cmd, bool check)
{
	BYTE r[ANSWER_MAX];
	DWORD rlen = sizeof(r);
	LONG rc = SCardTransmit(h, pci, cmd->c, cmd->clen, NULL, r, &rlen);
	if (rc != SCARD_S_SUCCESS) {
		fprintf(stderr, "apdu_loop: SCardTransmit: %s\n", pcsc_stringify_error(rc));
		return false;
	}
	if (!check) {
		memcpy(cmd->want, r, rlen);
		cmd->want_len = rlen;
		return rlen >= 2;
	}
	if (rlen != cmd->want_len || memcmp(r, cmd->want, rlen) != 0) {
		fprintf(stderr, "apdu_loop: the answer changed (%lu bytes, SW %02X%02X)\n",
			(unsigned long)rlen, rlen >= 2 ? r[rlen - 2] : 0,
			rlen >= 2 ? r[rlen - 1] : 0);
		return false;
	}
	return true;
}

static void print_sw(const char *name, const struct cmd *cmd)
{
	printf("\"%s\": {\"length\": %lu, \"sw\": \"%02X%02X\"}", name,
	       (unsigned long)cmd->want_len, cmd->want[cmd->want_len - 2],
	       cmd->want[cmd->want_len - 1]);
}

int main(int argc, char **argv)
{
	static const BYTE select_mf[] = { 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00 };
	static const BYTE read_sfi2[] = { 0x00, 0xB0, 0x82, 0x00, 0x0A };
	struct cmd cmds[2] = {
		{ .c = select_mf, .clen = sizeof(select_mf) },
		{ .c = read_sfi2, .clen = sizeof(read_sfi2) },
	};
	const char *reader = NULL;
	double seconds = -1, pairs = -1, wait_s = 10, empty_s = -1;
	bool list = false, bad = false;
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto = 0;
	LONG rc;
	int ret = 1;

	for (int i = 1; i < argc && !bad; i++) {
		if (strcmp(argv[i], "-l") == 0)
			list = true;
		else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			reader = argv[++i];
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			bad = (seconds = number(argv[++i], true)) < 0;
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			bad = (pairs = number(argv[++i], false)) < 0;
		else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
			bad = (wait_s = number(argv[++i], true)) < 0;
		else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
			bad = (empty_s = number(argv[++i], true)) < 0;
		else
			bad = true;
	}
	if (bad || (!list && !reader) || (seconds > 0 && pairs > 0)) {
		fprintf(stderr, "usage: apdu_loop -l\n"
				"       apdu_loop -r READER [-s SECONDS | -n PAIRS] "
				"[-w WAIT_SECONDS]\n"
				"       apdu_loop -r READER -e WAIT_SECONDS\n");
		return 2;
	}
	if (seconds < 0 && pairs < 0)
		seconds = 1;
	rc = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rc != SCARD_S_SUCCESS) {
		fprintf(stderr, "apdu_loop: SCardEstablishContext: %s\n", pcsc_stringify_error(rc));
		return 1;
	}
	if (list) {
		ret = list_readers(ctx);
		SCardReleaseContext(ctx);
		return ret;
	}
	if (empty_s > 0) {
		ret = wait_card(ctx, reader, empty_s, false) ? 0 : 1;
		if (ret)
			fprintf(stderr, "apdu_loop: still a card in \"%s\" after %g s\n", reader,
				empty_s);
		SCardReleaseContext(ctx);
		return ret;
	}
	if (!wait_card(ctx, reader, wait_s, true)) {
		fprintf(stderr, "apdu_loop: no card in \"%s\" after %g s\n", reader, wait_s);
		SCardReleaseContext(ctx);
		return 1;
	}
	rc = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
			  &h, &proto);
	if (rc != SCARD_S_SUCCESS) {
		fprintf(stderr, "apdu_loop: SCardConnect(\"%s\"): %s\n", reader,
			pcsc_stringify_error(rc));
		SCardReleaseContext(ctx);
		return 1;
	}
	const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	if (!transmit(h, pci, &cmds[0], false) || !transmit(h, pci, &cmds[1], false)) {
		fprintf(stderr, "apdu_loop: no answer to SELECT MF + READ BINARY\n");
		goto out;
	}
	long done = 0;
	double t0 = now_s(), t = t0, until = t0 + seconds;
	while (pairs > 0 ? (double)done < pairs : t < until) {
		if (!transmit(h, pci, &cmds[0], true) || !transmit(h, pci, &cmds[1], true)) {
			fprintf(stderr, "apdu_loop: failed at pair %ld\n", done);
			goto out;
		}
		done++;
		t = now_s();
	}
	double dt = t - t0;
	printf("{\"reader\": \"%s\", \"protocol\": \"T=%d\", \"apdus\": %ld, \"seconds\": %.4f, "
	       "\"apdus_per_second\": %.1f, ",
	       reader, proto == SCARD_PROTOCOL_T0 ? 0 : 1, 2 * done, dt,
	       dt > 0 ? (double)(2 * done) / dt : 0.0);
	print_sw("select", &cmds[0]);
	printf(", ");
	print_sw("read_binary", &cmds[1]);
	printf("}\n");
	ret = 0;
out:
	SCardDisconnect(h, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return ret;
}
