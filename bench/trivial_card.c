/* trivial_card.c - the ceiling of the PC/SC path: a card on vsmartcard's vpcd
 * (virtualsmartcard/src/vpcd/vpcd.c) that answers every C-APDU with 90 00 at
 * once, for bench/run.py. Not a card: nothing is parsed, nothing is kept.
 *
 *   trivial_card [--vpcd HOST:PORT]     (default 127.0.0.1:35963)
 *
 * vpcd frames every message with a 2-byte big-endian length. A 1-byte message
 * is a control: 00 power off, 01 power on, 02 reset (none answered), 04 get
 * ATR (answered by the ATR). Anything longer is a C-APDU. Runs until SIGTERM
 * or SIGINT, reconnecting when vpcd is not there (yet) or drops the link;
 * prints the counters on the way out. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* vpcd's longest message: an extended APDU fits in the 16-bit length. */
#define MSG_MAX 65535u
#define RETRY_MS 20

/* The default card's ATR (cards/default/card.conf), so that pcscd picks
 * the same protocol for this card as for scwsemu's. */
static const uint8_t atr[] = { 0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7, 0x80, 0x31, 0xE0, 0x73, 0xFE,
			       0x21, 0x1B, 0x63, 0x3A, 0x20, 0x4E, 0x83, 0x00, 0x90, 0x00, 0x93 };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void sleep_ms(long ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

/* Splits "HOST:PORT" (IPv6 as "[V6]:PORT") into host and port; 0 or -EINVAL. */
static int parse_spec(const char *spec, char *host, size_t host_cap, char *port, size_t port_cap)
{
	const char *colon = strrchr(spec, ':');
	const char *h = spec;
	size_t hlen;
	char *end = NULL;
	unsigned long v;

	if (!colon)
		return -EINVAL;
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		h = spec + 1;
		hlen -= 2;
	}
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (hlen == 0 || hlen >= host_cap || errno || !end || *end || end == colon + 1 || v == 0 ||
	    v > 65535)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, port_cap, "%lu", v);
	return 0;
}

static void set_opt(int fd, int level, int name)
{
	int one = 1;
	/* Best effort: a socket without it is only slower. */
	(void)setsockopt(fd, level, name, &one, sizeof(one));
}

/* A connected socket, or -1 when vpcd does not answer (yet). */
static int connect_vpcd(const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL;
	int fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd >= 0)
		set_opt(fd, IPPROTO_TCP, TCP_NODELAY);
	return fd;
}

/* Reads exactly len bytes; 0, or -1 on EOF, error or a stop signal. */
static int read_full(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR && !stop)
				continue;
			return -1;
		}
		/* vpcd writes a request's length and body in two send()s without
		 * TCP_NODELAY: the body waits for our ACK, 40 ms when the ACK is
		 * delayed. Linux leaves quick-ACK mode by itself, so re-arm it
		 * after every read (src/transport/vpcd.c says the same). */
		set_opt(fd, IPPROTO_TCP, TCP_QUICKACK);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_frame(int fd, const uint8_t *msg, size_t len)
{
	uint8_t frame[2 + sizeof(atr)];
	size_t off = 0;

	if (len > sizeof(frame) - 2)
		return -1;
	frame[0] = (uint8_t)(len >> 8);
	frame[1] = (uint8_t)len;
	memcpy(frame + 2, msg, len);
	len += 2;
	while (off < len) {
		ssize_t n = send(fd, frame + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR && !stop)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Serves one connection until vpcd closes it or a signal comes. */
static void serve(int fd, uint8_t *msg, unsigned long *apdus, unsigned long *controls)
{
	static const uint8_t sw_ok[] = { 0x90, 0x00 };
	uint8_t hdr[2];

	while (!stop) {
		if (read_full(fd, hdr, 2) != 0)
			return;
		size_t len = (size_t)hdr[0] << 8 | hdr[1];
		if (len == 0 || read_full(fd, msg, len) != 0)
			return;
		if (len > 1) {
			(*apdus)++;
			if (write_frame(fd, sw_ok, sizeof(sw_ok)) != 0)
				return;
		} else {
			(*controls)++;
			if (msg[0] == 0x04 && write_frame(fd, atr, sizeof(atr)) != 0)
				return;
		}
	}
}

int main(int argc, char **argv)
{
	const char *spec = "127.0.0.1:35963";
	char host[256], port[8];
	unsigned long apdus = 0, controls = 0, connects = 0;
	struct sigaction sa;
	uint8_t *msg;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--vpcd") == 0 && i + 1 < argc) {
			spec = argv[++i];
		} else {
			fprintf(stderr, "usage: trivial_card [--vpcd HOST:PORT]\n");
			return 2;
		}
	}
	if (parse_spec(spec, host, sizeof(host), port, sizeof(port)) != 0) {
		fprintf(stderr, "trivial_card: --vpcd '%s': expected HOST:PORT\n", spec);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: a blocked recv() must return */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	msg = malloc(MSG_MAX);
	if (!msg)
		return 1;
	while (!stop) {
		int fd = connect_vpcd(host, port);
		if (fd < 0) {
			sleep_ms(RETRY_MS);
			continue;
		}
		connects++;
		serve(fd, msg, &apdus, &controls);
		close(fd);
	}
	free(msg);
	printf("trivial_card: %lu connections, %lu APDUs, %lu controls\n", connects, apdus,
	       controls);
	return 0;
}
