/* ctl_main.c - scwsemu-ctl: one request to a running scwsemu's control
 * socket (lab/control.h), the reply on stdout.
 *
 * Exit: 0 the reply says ok, 1 it says why not, 2 bad usage (nothing
 * sent), 3 the socket cannot be reached (or the daemon hung up). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lab/control.h"

#define EXIT_REPLY_ERROR 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define CTL_TIMEOUT_MS_DEFAULT 30000

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: scwsemu-ctl [--control PATH | --ready-file FILE] [--card NAME] [--text]\n"
		"                   [--timeout S] COMMAND [ARGS]\n"
		"Sends one command to a running scwsemu (started with --control PATH) and\n"
		"prints its JSON reply (a readable form with --text).\n\n"
		"  --control PATH     the daemon's control socket (default: $SCWSEMU_CONTROL)\n"
		"  --ready-file FILE  take the socket from the daemon's ready file (\"control\")\n"
		"  --card NAME        the card of a rack the command is for (default: the only\n"
		"                     card; status without it summarises every card)\n"
		"  --text             print the reply as text and tables, not JSON\n"
		"  --timeout S        wait at most S seconds for the reply (default 30)\n"
		"  -h, --help         this text;  --version  the version\n\n"
		"Commands:\n%s\n"
		"Exit status: 0 ok, 1 the daemon refused (its reason on stderr), 2 bad usage,\n"
		"3 the socket cannot be reached.\n",
		lab_control_usage());
}

/* The "control" member of a ready file: 0, or EXIT_UNREACHABLE after saying why. */
static int socket_from_ready(const char *file, char *out, size_t cap)
{
	json_error_t jerr;
	json_t *v = json_load_file(file, 0, &jerr);
	if (!v) {
		fprintf(stderr, "scwsemu-ctl: %s: %s\n", file, jerr.text);
		return EXIT_UNREACHABLE;
	}
	const char *p = json_string_value(json_object_get(v, "control"));
	if (!p || !*p) {
		fprintf(stderr,
			"scwsemu-ctl: %s names no control socket: start scwsemu with --control "
			"PATH\n",
			file);
		json_decref(v);
		return EXIT_UNREACHABLE;
	}
	snprintf(out, cap, "%s", p);
	json_decref(v);
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "scwsemu-ctl: %s: path too long for a UNIX socket\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr,
			"scwsemu-ctl: cannot reach %s: %s (is scwsemu running with "
			"--control %s?)\n",
			path, strerror(errno), path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends the line, reads one reply line into *reply (malloc'd, without the
 * newline). 0 or EXIT_UNREACHABLE after saying why. */
static int exchange(int fd, const struct buf *req, unsigned timeout_ms, char **reply)
{
	size_t off = 0;
	while (off < req->len) {
		ssize_t n = send(fd, req->p + off, req->len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "scwsemu-ctl: send: %s\n", strerror(errno));
			return EXIT_UNREACHABLE;
		}
		off += (size_t)n;
	}
	struct buf in;
	buf_init(&in, 64u * 1024u * 1024u);
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		uint8_t *nl = in.len ? memchr(in.p, '\n', in.len) : NULL;
		if (nl) {
			*nl = '\0';
			*reply = (char *)buf_take(&in, &off);
			return 0;
		}
		long long left = deadline - now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			fprintf(stderr, "scwsemu-ctl: no reply within %u s\n", timeout_ms / 1000);
			break;
		}
		uint8_t tmp[16384];
		ssize_t n = pr > 0 ? recv(fd, tmp, sizeof(tmp), 0) : -1;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr,
				"scwsemu-ctl: the daemon closed the connection without a "
				"reply%s%s\n",
				n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			break;
		}
		if (buf_append(&in, tmp, (size_t)n) != 0) {
			fprintf(stderr, "scwsemu-ctl: reply too long\n");
			break;
		}
	}
	buf_cleanup(&in);
	return EXIT_UNREACHABLE;
}

/* ---- --text */

static void print_scalar(const json_t *v)
{
	if (json_is_string(v))
		fputs(json_string_value(v), stdout);
	else if (json_is_null(v))
		fputs("-", stdout);
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		fputs(s ? s : "?", stdout);
		free(s);
	}
}

/* An array of objects as a table: the columns are the first object's keys. */
static void print_table(const char *name, const json_t *arr)
{
	printf("%s:\n", name);
	if (json_array_size(arr) == 0) {
		puts("  (none)");
		return;
	}
	const json_t *first = json_array_get(arr, 0);
	if (!json_is_object(first)) {
		for (size_t i = 0; i < json_array_size(arr); i++) {
			fputs("  ", stdout);
			print_scalar(json_array_get(arr, i));
			putchar('\n');
		}
		return;
	}
	const char *key;
	const json_t *v;
	size_t width[32] = { 0 };
	size_t ncol = 0;
	json_object_foreach((json_t *)first, key, v)
	{
		if (ncol < 32)
			width[ncol++] = strlen(key);
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		size_t c = 0;
		json_object_foreach((json_t *)first, key, v)
		{
			if (c >= ncol)
				break;
			json_t *cell = json_object_get(json_array_get(arr, i), key);
			char *s = json_is_string(cell) ? strdup(json_string_value(cell))
				  : cell ? json_dumps(cell, JSON_COMPACT | JSON_ENCODE_ANY)
					 : strdup("-");
			if (s && strlen(s) > width[c])
				width[c] = strlen(s);
			free(s);
			c++;
		}
	}
	size_t c = 0;
	fputs(" ", stdout);
	json_object_foreach((json_t *)first, key, v)
	{
		if (c >= ncol)
			break;
		printf(" %-*s", (int)width[c++], key);
	}
	putchar('\n');
	for (size_t i = 0; i < json_array_size(arr); i++) {
		c = 0;
		fputs(" ", stdout);
		json_object_foreach((json_t *)first, key, v)
		{
			if (c >= ncol)
				break;
			json_t *cell = json_object_get(json_array_get(arr, i), key);
			char *s = json_is_string(cell) ? strdup(json_string_value(cell))
				  : cell && !json_is_null(cell)
					  ? json_dumps(cell, JSON_COMPACT | JSON_ENCODE_ANY)
					  : strdup("-");
			printf(" %-*s", (int)width[c++], s ? s : "?");
			free(s);
		}
		putchar('\n');
	}
}

static void print_object(const char *prefix, const json_t *o)
{
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)o, key, v)
	{
		char name[256];
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", key);
		if (!*prefix && (!strcmp(key, "ok") || !strcmp(key, "id")))
			continue;
		if (json_is_object(v) && json_object_size(v)) {
			print_object(name, v);
		} else if (json_is_array(v)) {
			print_table(name, v);
		} else {
			printf("%s: ", name);
			print_scalar(v);
			putchar('\n');
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "text", no_argument, NULL, 't' },
		{ "card", required_argument, NULL, 'C' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *control = NULL, *ready = NULL, *card = NULL;
	bool text = false;
	unsigned timeout_ms = CTL_TIMEOUT_MS_DEFAULT;
	int c;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			control = optarg;
			break;
		case 'r':
			ready = optarg;
			break;
		case 't':
			text = true;
			break;
		case 'C':
			card = optarg;
			break;
		case 'T': {
			char *end;
			unsigned long s = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || s == 0 || s > 3600) {
				fprintf(stderr, "scwsemu-ctl: --timeout %s: seconds, 1 to 3600\n",
					optarg);
				return EXIT_USAGE;
			}
			timeout_ms = (unsigned)s * 1000u;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("scwsemu-ctl " PACKAGE_VERSION);
			return 0;
		default:
			fputs("Try 'scwsemu-ctl --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (control && ready) {
		fputs("scwsemu-ctl: --control and --ready-file both name the socket: give one\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (!control && !ready)
		control = getenv("SCWSEMU_CONTROL");
	if (!control && !ready) {
		fputs("scwsemu-ctl: which daemon? give --control PATH or --ready-file FILE "
		      "(or set SCWSEMU_CONTROL)\nTry 'scwsemu-ctl --help'.\n",
		      stderr);
		return EXIT_USAGE;
	}
	/* bootstrap set FILE [target=...]: the daemon may run in another directory. */
	char abs[4096];
	if (argc - optind >= 3 && !strcmp(argv[optind], "bootstrap") &&
	    !strcmp(argv[optind + 1], "set") && argv[optind + 2][0] != '/') {
		char cwd[2048];
		if (getcwd(cwd, sizeof(cwd)) && (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd,
								 argv[optind + 2]) < sizeof(abs))
			argv[optind + 2] = abs;
	}
	struct lab_request r;
	char err[512];
	if (lab_request_from_argv(&r, (size_t)(argc - optind), (const char *const *)argv + optind,
				  err, sizeof(err)) != 0 ||
	    lab_control_check(&r, err, sizeof(err)) != 0 ||
	    (card && lab_request_set_card(&r, card, err, sizeof(err)) != 0)) {
		fprintf(stderr, "scwsemu-ctl: %s\nTry 'scwsemu-ctl --help'.\n", err);
		lab_request_cleanup(&r);
		return EXIT_USAGE;
	}
	struct buf line;
	buf_init(&line, CONTROL_LINE_MAX + 1);
	int rc = lab_request_to_line(&r, &line);
	lab_request_cleanup(&r);
	if (rc) {
		fprintf(stderr, "scwsemu-ctl: the request is over %u bytes\n", CONTROL_LINE_MAX);
		buf_cleanup(&line);
		return EXIT_USAGE;
	}
	char path[4096];
	if (ready && (rc = socket_from_ready(ready, path, sizeof(path))) != 0) {
		buf_cleanup(&line);
		return rc;
	}
	if (!ready)
		snprintf(path, sizeof(path), "%s", control);
	int fd = connect_to(path);
	if (fd < 0) {
		buf_cleanup(&line);
		return EXIT_UNREACHABLE;
	}
	char *reply = NULL;
	rc = exchange(fd, &line, timeout_ms, &reply);
	close(fd);
	buf_cleanup(&line);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *v = json_loads(reply, 0, &jerr);
	json_t *ok = v ? json_object_get(v, "ok") : NULL;
	if (!json_is_boolean(ok)) {
		fprintf(stderr, "scwsemu-ctl: not a reply: %.200s\n", reply);
		free(reply);
		json_decref(v);
		return EXIT_UNREACHABLE;
	}
	bool good = json_is_true(ok);
	if (!good)
		fprintf(stderr, "scwsemu-ctl: %s\n",
			json_string_value(json_object_get(v, "error"))
				? json_string_value(json_object_get(v, "error"))
				: "refused");
	if (!text)
		puts(reply);
	else if (good && json_object_size(v) > (json_object_get(v, "id") ? 2u : 1u))
		print_object("", v);
	else if (good)
		puts("ok");
	free(reply);
	json_decref(v);
	return good ? 0 : EXIT_REPLY_ERROR;
}
