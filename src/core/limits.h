/* limits.h - every size limit of the emulator, in one place. */
#ifndef SCWS_CORE_LIMITS_H
#define SCWS_CORE_LIMITS_H

/* APDUs (ISO 7816-4 §5.1). */
#define APDU_SHORT_DATA_MAX 255u /* Lc of a short APDU */
#define APDU_SHORT_RESP_MAX 256u /* Le of a short APDU (Le=00) */
#define APDU_EXT_DATA_MAX 65535u /* Lc of an extended APDU */
#define APDU_EXT_RESP_MAX 65536u /* Le of an extended APDU (Le=0000) */
#define APDU_CMD_MAX (7u + APDU_EXT_DATA_MAX + 3u)
#define APDU_RESP_MAX (APDU_EXT_RESP_MAX + 2u)

/* Card file system. */
#define CARD_FS_DEPTH_MAX 8u      /* MF + 7 levels of DF */
#define CARD_EF_SIZE_MAX 65535u   /* transparent EF size in FCP tag 80 */
#define CARD_RECORD_LEN_MAX 255u  /* linear fixed record length */
#define CARD_RECORDS_MAX 254u     /* records per linear fixed EF */
#define CARD_AID_MAX 16u          /* ISO 7816-4: 5..16 bytes */
#define CARD_LOGICAL_CHANNELS 20u /* basic + 19 (TS 102 221 §11.1.17) */
#define CARD_SFI_MAX 30u          /* SFI 1..30 (ISO 7816-4 §7.2.2) */
#define CARD_FCP_MAX 96u          /* FCP template body (62 LL excluded), C6 included */
#define CARD_PINS_MAX 4u          /* PINs/ADM keys of one card (TS 102 221 §9.5.1) */
#define CARD_PIN_LEN 8u           /* PIN block: digits padded with FF (§9.5.2) */
#define CARD_PIN_TRIES_MAX 15u    /* retry counter fits SW2 of 63 Cx */
#define CARD_ATR_MAX 33u          /* ISO 7816-3 §8.2.1: TS + 32 */

/* BER-TLV / DER and PKCS#15 (PKCS #15 v1.1, doc/protocol.md §4). */
#define CODEC_OID_ARCS_MAX 32u                   /* arcs of one OBJECT IDENTIFIER */
#define CODEC_OID_TEXT_MAX 128u                  /* dotted text of one OID, with the NUL */
#define CODEC_XML_OPEN_NAMED 32u                 /* open elements an XML error can name */
#define CODEC_XML_NAME_MAX 64u                   /* element name bytes an XML error quotes */
#define PKCS15_LABEL_MAX 64u                     /* label bytes kept by decoders (longer: cut) */
#define PKCS15_OID_MAX 32u                       /* OID content bytes kept by decoders */
#define PKCS15_PATH_MAX (2u * CARD_FS_DEPTH_MAX) /* Path.path bytes */
#define PKCS15_ODF_ENTRIES_MAX 32u
#define PKCS15_DODF_ENTRIES_MAX 32u
#define PKCS15_EF_READ_MAX 0x7FFFu /* ODF/DODF read by the walk (READ BINARY offset) */
#define PKCS15_WALK_DODFS_MAX 8u   /* DODFs the walk searches */
#define PKCS15_WALK_RESP_MAX 4096u /* one command's response data, GET RESPONSE chains included */

/* CAT / BIP (ETSI TS 102 223). */
#define CAT_BIP_CHANNELS_MAX 7u    /* channel ids 1..7 */
#define CAT_RECEIVE_DATA_MAX 0xEDu /* 237: fits one TERMINAL RESPONSE */
#define CAT_SEND_DATA_MAX 0xF0u    /* fits one FETCH with room to spare */
#define CAT_BUFFER_SIZE_DEFAULT 1400u
#define CAT_BUFFER_SIZE_MAX 0xFFFFu /* Buffer size object: 2 bytes (§8.55) */
#define CAT_PROACTIVE_MAX 256u      /* one proactive command: a FETCH with Le=00 */
#define CAT_TR_MAX 255u             /* TERMINAL RESPONSE data: short Lc */
#define CAT_ENVELOPE_MAX 255u       /* ENVELOPE data: short Lc */
#define CAT_CTLV_VALUE_MAX 255u     /* a C-TLV value: length 00-7F or 81 xx */
#define CAT_PROFILE_LEN 17u         /* TERMINAL PROFILE written by our encoder (to byte 17) */
#define CAT_PORTS_MAX CAT_BIP_CHANNELS_MAX /* {port, count} entries of a BIP server config */
#define CAT_CMD_OBJECTS_MAX \
	32u /* objects of one proactive command besides details and
				      * devices; more is data not understood */

/* SCWS HTTP. */
#define HTTP_HEAD_MAX 8192u                     /* request line + headers: over is 431 */
#define HTTP_HEADERS_MAX 32u                    /* header fields per request */
#define HTTP_BODY_MAX 65536u                    /* request body: over is 413 */
#define HTTP_CHUNK_LINE_MAX 256u                /* chunk-size line with extensions: over is 400 */
#define HTTP_TRAILER_MAX 8192u                  /* chunked trailer section: over is 431 */
#define HTTP_RESP_BODY_MAX (4u * 1024u * 1024u) /* a response body a client buffers */
#define PERR_REASON_MAX 256u       /* one parser error in words: a 4xx body, a log line */
#define HTTP_RESP_INTERIM_MAX 8u   /* 1xx responses a client skips before the final one */
#define MULTIPART_BOUNDARY_MAX 70u /* RFC 2046 §5.1.1 */
#define MULTIPART_PART_HEAD_MAX 1024u
#define MULTIPART_PARTS_MAX 16u
#define SCWS_FIELD_MAX 1024u                   /* one bootstrap form field value: over is 400 */
#define SCWS_CONVERT_MAX (256u * 1024u)        /* a bootstrap converted XML <-> WBXML */
#define SCWS_CONN_OUT_HIGH (64u * 1024u)       /* conn output above this: scws_conn_output_full() */
#define SCWS_CONN_PIPELINE_MAX (1024u * 1024u) /* unsent output at a new request: 503 */
#define SCWS_CONN_OUT_MAX (2u * 1024u * 1024u) /* hard cap of one conn's unsent output */
#define SCWS_PUSH_DEVIDS_MAX 256u              /* devids whose last push-address is kept (LRU) */
#define SCWS_URLS_MAX 64u                      /* URLs the index page lists */
#define SCWS_URL_MAX 256u                      /* one of them, with the NUL */

/* Clients and hostile load (every transport). */
#define CLIENTS_MAX_DEFAULT 1024u    /* --max-clients */
#define CLIENTS_MAX 65536u           /* --max-clients at most */
#define CLIENTS_PER_PEER_DEFAULT 64u /* --max-clients-per-peer */
#define AUTH_FAIL_LIMIT_DEFAULT 10u  /* --auth-fail-limit: failures per window, then 429 */
#define AUTH_FAIL_LIMIT_MAX 100000u
#define AUTH_FAIL_WINDOW_MS_DEFAULT 60000u /* --auth-fail-window */
#define AUTH_FAIL_KEYS_MAX 1024u           /* peers + devids tracked at once (LRU) */
#define EVICT_GRACE_MS 250u                /* a connection stalled less than this is not evicted */
#define SCWS_STALL_QUIET_MS 4000u /* ...and one whose client is silent mid-handshake: this more */
#define EVICT_CHECK_MS 50u        /* clients wait: how often the BIP gateway looks again */

/* TLS. */
#define TLS_RECORD_MAX (16384u + 2048u) /* TLSCiphertext.fragment (RFC 5246 §6.2.3) */
#define TLS_PLAINTEXT_MAX 16384u        /* TLSPlaintext.fragment */
#define TLS_RECORD_HEADER 5u
/* Ciphertext the engine holds, each way: one whole record always fits. */
#define TLS_IN_MAX (TLS_RECORD_HEADER + TLS_RECORD_MAX)
#define TLS_OUT_MAX (4u * (TLS_RECORD_HEADER + TLS_RECORD_MAX))
#define TLS_PSK_IDENTITY_MAX 128u      /* RFC 4279 allows 2^16-1; ours are short */
#define TLS_PSK_KEY_MAX 64u            /* RFC 4279 §5.3: at least 64 octets */
#define SCWS_TLS_SESSIONS_MAX 256u     /* TLS <= 1.2 session cache (session IDs) */
#define SCWS_TLS_TICKETS 2u            /* TLS 1.3 NewSessionTickets per full handshake */
#define TLS_REASON_MAX 1024u           /* a TLS failure in words, for the log */
#define TLS_REASON_LIST_MAX 384u       /* a cipher list inside it (cut with ...) */
#define SCWS_WRONG_PROTO_HOST_MAX 128u /* Host echoed in the 400 to plain HTTP on a TLS port */

/* Traces (doc/protocol.md §7) and the vpcd link (vsmartcard). */
#define TRACE_IPV4_MAX 65535u  /* IPv4 total length field */
#define TRACE_IPV4_UDP_HDR 28u /* IPv4 header (no options) + UDP header */
#define TRACE_GSMTAP_MAX (TRACE_IPV4_MAX - TRACE_IPV4_UDP_HDR) /* GSMTAP header + APDU */
#define TRACE_PCAP_SNAPLEN 65535u                              /* pcap global header snaplen */
#define VPCD_MSG_MAX 65535u       /* one message after the 2-byte length */
#define VPCD_ADDRS_MAX 8u         /* addresses of --vpcd HOST tried in turn */
#define VPCD_IN_CAP 16384u        /* bytes read from vpcd at a time */
#define VPCD_BACKOFF_MIN_MS 50u   /* vpcd away: reconnect after, doubling... */
#define VPCD_BACKOFF_MAX_MS 1000u /* ...up to this */

/* scwsemu-fetch, the reference handset client. */
#define FETCH_HOST_MAX 256u          /* a host name or address literal, with the NUL */
#define FETCH_TARGET_MAX 2048u       /* the path and query of a URL, with the NUL */
#define FETCH_RESOLVE_MAX 16u        /* --resolve and --connect-to entries */
#define FETCH_ADDRS_MAX 8u           /* addresses tried per connection */
#define FETCH_CONCURRENCY_MAX 1024u  /* load generator workers */
#define FETCH_REQUESTS_MAX 10000000u /* load generator requests in one run */

/* The daemon's command line and its TCP/IP listeners (transport/tcpip.c). */
#define CLI_ADDRS_MAX 16u            /* --tcpip and --bip-listen addresses */
#define CLI_CARDS_MAX 64u            /* --card and --reader options (--cards DIR: RACK_CARDS_MAX) */
#define CLI_PORT_MAPS_MAX 256u       /* --port-map entries, NAME: prefixed ones included */
#define RACK_CARDS_MAX 4096u         /* cards in one process (--cards DIR) */
#define RACK_PORT_STRIDE_DEFAULT 10u /* --port-base: host ports per card */
#define TRANSPORT_HOST_MAX 256u      /* a HOST of --gsmtap/--vpcd, with the NUL */
#define TCPIP_LISTENERS_MAX 16u
#define TCPIP_OUT_HIGH (64u * 1024u) /* output beyond this stops reading from that client */
#define TCPIP_READ_CHUNK 16384u      /* bytes fed to the SCWS at a time */
#define TCPIP_LINGER_READ_MS 2000u   /* after our FIN: the client's rest is read and dropped */
#define TCPIP_HEAP_SETTLE_MS 100u    /* heap trimmed once connections were quiet this long */
#define ADMIT_TRIM_EVERY_MS 1000u    /* the last client leaving trims the heap at most this often */
#define ACCEPT_PAUSE_MS 100u         /* accept() failed (EMFILE...): the listeners rest this long */
#define ACCEPT_LOG_EVERY_MS 10000u   /* ...and the failure is logged at most this often */
#define FD_RESERVE 64u /* descriptors kept beside --max-clients clients (files, control) */

/* Card profiles. */
#define PROFILE_FILE_MAX (1024u * 1024u) /* any file a profile names */
#define PROFILE_NAME_MAX 64u             /* name: [A-Za-z0-9._-], with the NUL */
#define PROFILE_TEXT_MAX 256u            /* description */
#define PROFILE_PSK_IDENTITY_MAX 128u    /* tls.psk_identity bytes */
#define PROFILE_USERNAME_MAX 128u
#define PROFILE_PASSPHRASE_MAX 256u
#define PROFILE_DEVID_MAX 128u   /* one devid_allow entry */
#define PROFILE_DEVIDS_MAX 64u   /* devid_allow entries */
#define PROFILE_FILES_MAX 64u    /* files = ( ... ) entries */
#define PROFILE_PORTS_MAX 4u     /* scws.ports entries */
#define PROFILE_CIPHERS_MAX 512u /* tls.cipher_list / tls.ciphersuites */

/* Terminal-side BIP gateway (transport/bip_term.c, transport/bip_gw.c). */
#define BIP_GW_BUFFER_MAX 1500u /* largest channel buffer granted; more asked: result 07 */
#define BIP_GW_SOCK_OUT_MAX (64u * 1024u) /* bytes queued to one client beyond the Tx buffer */
#define BIP_GW_PUMP_STEPS_MAX 32u         /* commands + events per pump, then the loop runs again */
#define BIP_GW_START_STEPS_MAX 128u       /* the same for the first proactive session at start-up */
#define BIP_GW_STREAK_MAX 256u            /* proactive commands in a row before a throttle pause */
#define BIP_GW_THROTTLE_MS 10u            /* that pause */
#define SCWS_OBS_FAULT_MAX 48u            /* a fault named for the journal, with its NUL */
#define STAMP_COUNT_MAX 10000u            /* scwsemu-card new --count: cards in one set */
#define STAMP_WIDTH_MIN 3u                /* ... their numbers padded to card-001 at least */
#define CARD_NEW_PSK_KEY_LEN 16u          /* a set's random PSK keys (--psk IDENTITY alone) */
#define CARD_BIP_RETRY_MAX 100u           /* profile scws.open_retry.count */
#define CARD_BIP_RETRY_DELAY_MIN 100u     /* ms: the shortest Duration (1 tenth) */
#define CARD_BIP_RETRY_DELAY_MAX 3600000u /* ms: one hour */
#define PROFILE_OPEN_RETRY_DELAY_DEFAULT 1000u /* ms: scws.open_retry.delay */
#define BIP_GW_POLL_MIN_MS 100u                /* shortest POLL INTERVAL the gateway grants */
#define BIP_GW_BUSY_MIN_MS 20u      /* ENVELOPE answered 93 00: first retry, doubling... */
#define BIP_GW_BUSY_MAX_MS 1000u    /* ...up to this */
#define BIP_GW_GETRESP_MAX 4u       /* GET RESPONSE rounds after a FETCH answered 61 xx */
#define BIP_GW_ADDRS_MAX 16u        /* --bip-listen addresses */
#define BIP_GW_HOST_MAX 64u         /* a numeric listen address, with the NUL */
#define BIP_GW_PEER_MAX 64u         /* a peer's "[addr]:port" text, with the NUL */
#define BIP_GW_PORT_MAP_MAX 16u     /* --port-map entries */
#define BIP_GW_PARKED_MAX 64u       /* accepted clients waiting for a channel, per port */
#define BIP_GW_LINGER_READ_MS 2000u /* after our FIN: the client's rest is read and dropped */
#define BIP_GW_LINGER_MS 5000u      /* a closed channel's client gets its last bytes within */

/* The PC/SC link (transport/link_pcsc.c). */
#define PCSC_READER_NAME_MAX 128u  /* pcsc-lite MAX_READERNAME, with the NUL */
#define PCSC_READERS_BUF_MAX 4096u /* SCardListReaders' multi-string */
#define PCSC_GETRESP_MAX 64u       /* GET RESPONSE rounds after 61 xx, for one T=0 command */
#define PCSC_POLL_MS 250u          /* insertion/removal/reset poll */
#define PCSC_BACKOFF_MAX_MS 2000u  /* pcscd away: re-establish back-off, doubling up to */

/* Fault injection (lab/fault.c). */
#define LAB_FAULTS_MAX 64u            /* faults listed at once (spent ones reused) */
#define LAB_FAULT_ARGS_MAX 32u        /* a fault's normalised argument text, with the NUL */
#define LAB_FAULT_RESULT_MAX 4u       /* bip-open-fail: general result + additional info */
#define LAB_FAULT_COUNT_MAX 1000000u  /* count= and after= */
#define LAB_FAULT_MS_MAX 600000u      /* http-delay, apdu-delay: 10 minutes */
#define LAB_FAULT_RATE_MAX 100000000u /* http-drip, bip-rate: bytes per second */
#define LAB_FAULT_TRUNCATE_MAX HTTP_RESP_BODY_MAX /* http-truncate bytes */
#define BIP_GW_RATE_TICK_MS 20u /* bip-rate: the refill period of the rate limit */
#define SCWS_PACE_TICK_MS 10u   /* a paced answer (http-drip) is released at most this often */

/* The control socket and scenarios (lab/control.c, lab/scenario.c, transport/control.c). */
#define CONTROL_LINE_MAX 65536u /* one request line without its newline: over is an error */
#define CONTROL_ARGS_MAX 16u    /* words after the command */
#define CONTROL_WORD_MAX 1024u  /* the command or one argument, with the NUL */
#define CONTROL_CLIENTS_MAX 64u /* control connections at once; more wait in the backlog */
#define CONTROL_OUT_HIGH (1024u * 1024u) /* unread replies of one client: reading pauses */
#define SCENARIO_STEPS_MAX 1024u         /* lines with a command in a --scenario file */
#define SCENARIO_AT_MAX 86400u           /* at=SECONDS: one day */
/* The client under test (lab/journal.c, lab/verdict.c, --until-fetched). */
#define LAB_JOURNAL_MAX 4096u     /* journal entries kept; the oldest go first (counted) */
#define LAB_CLIENTS_MAX 256u      /* clients judged in one report */
#define LAB_RETRIES_MAX 3u        /* retries after a 404/503 before the retry rule warns */
#define LAB_FETCHED_GRACE_MS 500u /* --until-fetched: wait after the first 200 for the rest */

#endif
