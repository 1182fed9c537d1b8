/* fault.h - the fault registry: faults armed by the control socket
 * ("fault add KIND [ARGS] [count=N] [after=N] [port=P] [target=...]") and
 * consulted by the layers that own each fact (scws responses, TLS
 * handshakes, card APDUs, BIP channels). Sans-I/O: no clock, no socket.
 *
 * A fault matches an event of its kind when its port (if given) equals the
 * event's port and its target (if given) equals the event's target; an
 * apdu-sw fault also needs the event's INS. A matching fault first skips
 * `after` events, then fires `count` times (count=0: until cleared). Every
 * matching fault counts every event towards its `after`; an event fires at
 * most one fault: the first in id order that is past its `after`. A spent
 * fault stays listed (left 0) until cleared; its
 * slot is reused by a later add when the table is full. */
#ifndef SCWS_LAB_FAULT_H
#define SCWS_LAB_FAULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

enum lab_fault_kind {
	LAB_FAULT_HTTP_STATUS,
	LAB_FAULT_HTTP_DELAY,
	LAB_FAULT_HTTP_DRIP,
	LAB_FAULT_HTTP_TRUNCATE,
	LAB_FAULT_HTTP_BODY,
	LAB_FAULT_TLS_CERT,
	LAB_FAULT_TLS_ALERT,
	LAB_FAULT_APDU_SW,
	LAB_FAULT_APDU_DELAY,
	LAB_FAULT_BIP_RATE,
	LAB_FAULT_BIP_DROP,
	LAB_FAULT_BIP_OPEN_FAIL
};
#define LAB_FAULT_KINDS (LAB_FAULT_BIP_OPEN_FAIL + 1)

/* Who a fault applies to: the emulated card (its SCWS over TCP/IP or BIP,
 * its APDUs, its channels) or the emulated Bootstrap Server. ANY: both. */
enum lab_fault_target { LAB_TARGET_ANY, LAB_TARGET_SERVER, LAB_TARGET_CARD };

enum lab_fault_body { LAB_BODY_WBXML_GARBAGE, LAB_BODY_WRONG_TYPE };
enum lab_fault_cert {
	LAB_CERT_WRONG_NAME,
	LAB_CERT_EXPIRED,
	LAB_CERT_UNTRUSTED,
	LAB_CERT_SELF_SIGNED
};
#define LAB_CERT_VARIANTS (LAB_CERT_SELF_SIGNED + 1)

/* One armed fault with its parsed arguments. */
struct lab_fault {
	unsigned id; /* > 0 */
	enum lab_fault_kind kind;
	/* http-status: the code; http-delay, apdu-delay: milliseconds;
	 * http-drip, bip-rate: bytes per second; http-truncate: bytes. */
	uint32_t value;
	enum lab_fault_body body;             /* http-body */
	enum lab_fault_cert cert;             /* tls-cert */
	uint8_t ins;                          /* apdu-sw */
	uint16_t sw;                          /* apdu-sw */
	uint8_t result[LAB_FAULT_RESULT_MAX]; /* bip-open-fail: general result + info */
	size_t result_len;
	unsigned count;   /* 0: until cleared */
	unsigned left;    /* fires left when count > 0 */
	unsigned after;   /* matching events to skip */
	unsigned skipped; /* of them, skipped so far */
	unsigned fired;
	uint16_t port; /* 0: any */
	enum lab_fault_target target;
	char args[LAB_FAULT_ARGS_MAX]; /* the kind's arguments, normalised ("B0 6F00") */
};

/* What happened, as the hooking layer sees it. port: the local port the
 * client connected to (the card's BIP port for a channel; 0 when none, and
 * then only faults without port= match). ins: apdu-sw only. */
struct lab_fault_event {
	enum lab_fault_target target; /* SERVER or CARD */
	uint16_t port;
	uint8_t ins;
};

struct lab_faults;

struct lab_faults *lab_faults_new(void);
void lab_faults_free(struct lab_faults *f);

/* argv: the tokens after "fault add": KIND [ARGS] [count=N] [after=N]
 * [port=P] [target=server|card]. Returns the new fault's id (> 0), or
 * -EINVAL with a one-line reason in err (NUL-terminated, cut to errcap),
 * -ENOSPC when LAB_FAULTS_MAX faults are armed and none is spent. */
int lab_faults_add(struct lab_faults *f, size_t argc, const char *const *argv, char *err,
		   size_t errcap);

/* id 0 clears every fault; -ENOENT for an unknown id. */
int lab_faults_clear(struct lab_faults *f, unsigned id);

/* New reference: a JSON array, one object per armed fault: id, kind, args,
 * count, left (null when count=0), after, port (null when any), target
 * ("any", "server", "card"), fired. */
json_t *lab_faults_list(const struct lab_faults *f);

/* Counts an event of that kind: returns the fault that fires for it, or
 * NULL. The pointer stays valid until the next lab_faults_add or
 * lab_faults_clear on f. f NULL: NULL (no registry, no faults). */
const struct lab_fault *lab_faults_fire(struct lab_faults *f, enum lab_fault_kind kind,
					const struct lab_fault_event *ev);

/* Faults listed (spent ones included). */
size_t lab_faults_count(const struct lab_faults *f);

/* "http-status", ...; "?" for a value out of range. */
const char *lab_fault_kind_name(enum lab_fault_kind kind);
const char *lab_fault_target_name(enum lab_fault_target t);
const char *lab_fault_cert_name(enum lab_fault_cert c);

#endif
