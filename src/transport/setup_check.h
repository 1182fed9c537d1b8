/* setup_check.h - scwsemu --check-setup: what serving a client that cannot
 * be told otherwise (https://localuicc:443 built in) needs of this machine.
 *
 * One line per requirement on out, "ok:  WHAT" or "fix: WHAT: COMMAND",
 * where COMMAND is the exact command that fixes it:
 *   - localuicc resolves to a loopback address, IPv4 and IPv6 (/etc/hosts);
 *   - the IPv6 loopback ::1 exists;
 *   - every --tcpip address (default 127.0.0.1:443 and [::1]:443) can be
 *     bound by this user (setcap on the binary, or the sysctl), and no
 *     other process holds it;
 *   - the card's CA file is readable, and OpenSSL's default trust store
 *     (what curl and Python use; SSL_CERT_FILE is honoured) trusts it;
 *     then how to trust it in curl, Python, the system store, Android;
 *   - with --vpcd or --reader: pcscd answers, has the vpcd driver
 *     (--vpcd), or lists the reader (--reader).
 * Nothing is left open or changed. Returns the number of "fix:" lines. */
#ifndef SCWS_TRANSPORT_SETUP_CHECK_H
#define SCWS_TRANSPORT_SETUP_CHECK_H

#include <stdio.h>

#include "config/cli.h"

/* exe: the binary setcap should name; ca_file: the card's CA. */
unsigned transport_check_setup(const struct cli_options *opt, const char *exe, const char *ca_file,
			       FILE *out);

#endif
