/*
 * tally_plugin.h: the Tally connector plugin ABI, version 2.
 *
 * A Tally plugin is a shared library exporting one symbol, `tally_plugin_entry`,
 * that returns a pointer to a static TallyPlugin table. The host reads
 * `abi_version` (the first field, in every version of this ABI) before anything
 * else and refuses the plugin unless it equals TALLY_PLUGIN_ABI_VERSION.
 *
 * Data crosses as (pointer, length) byte buffers: UTF-8 JSON for descriptions,
 * contexts, HTTP heads, state and errors; raw bytes for HTTP bodies; a
 * little-endian point batch for emitted points. See plugins/sdk/README.md for
 * every encoding. Ownership rule: a buffer is freed by
 * the side that allocated it. Buffers the plugin writes to an `out` parameter are
 * released by the host with the plugin's `free_buffer`; buffers a host callback
 * writes are released by the plugin with the host's `free_buffer`. Input buffers
 * are only borrowed for the duration of the call.
 *
 * Keep in sync with plugins/sdk/src/abi.rs (plugins/sdk/tests/layout.rs checks).
 */
#ifndef TALLY_PLUGIN_H
#define TALLY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define TALLY_PLUGIN_ABI_VERSION 2u

/* The name of the one exported symbol. */
#define TALLY_PLUGIN_ENTRY_SYMBOL "tally_plugin_entry"

/* Status codes returned by plugin functions and host callbacks. */
#define TALLY_STATUS_OK 0      /* the out buffer holds the documented result */
#define TALLY_STATUS_ERROR 1   /* the out buffer holds an error object {"message": ...} */
#define TALLY_STATUS_PENDING 2 /* start/resume: waiting for a requested response;
                                  http_take: that response is not in yet */

/* What start runs. */
#define TALLY_CALL_CHECK 1u /* verify a source's settings and credentials */
#define TALLY_CALL_PULL 2u  /* pull a source */

/* Log levels for TallyHost.log. */
#define TALLY_LOG_ERROR 1u
#define TALLY_LOG_WARN 2u
#define TALLY_LOG_INFO 3u
#define TALLY_LOG_DEBUG 4u
#define TALLY_LOG_TRACE 5u

/* A byte buffer: `len` bytes at `ptr`. An empty buffer may have ptr == NULL. */
typedef struct TallyBuffer {
    uint8_t *ptr;
    size_t len;
} TallyBuffer;

/* A check or pull in progress. The plugin defines it; the host only passes the
 * pointer back to resume or cancel. */
typedef struct TallyCall TallyCall;

/* The host's callbacks, passed to every start and resume. The table and its
 * host_data are valid only until that function returns. No callback blocks:
 * a request is queued with http_send and its response collected with
 * http_take after a later resume. */
typedef struct TallyHost {
    uint32_t abi_version; /* TALLY_PLUGIN_ABI_VERSION of the host */
    uint32_t struct_size; /* sizeof(TallyHost) as the host was compiled */
    void *host_data;      /* opaque: pass back as the first argument of every callback */

    /* Queues one HTTP request for the host's rate limiter, quota, auth and
     * retries: `head` is its JSON head (README "HTTP request"), `body` its raw
     * body (body_len 0: none). On TALLY_STATUS_OK `*ticket` names it; the host
     * sends it once start or resume returns TALLY_STATUS_PENDING. On
     * TALLY_STATUS_ERROR `*error` holds an error object. */
    int32_t (*http_send)(void *host_data, const uint8_t *head, size_t head_len,
                         const uint8_t *body, size_t body_len, uint64_t *ticket,
                         TallyBuffer *error);

    /* Collects a queued request. TALLY_STATUS_PENDING: not finished yet (return
     * TALLY_STATUS_PENDING; the host resumes the call when a response is in).
     * TALLY_STATUS_OK: `*response` holds the final response's JSON head and
     * `*response_body` its raw body. TALLY_STATUS_ERROR: `*response` holds an
     * error object. Free both; a finished ticket cannot be taken again. */
    int32_t (*http_take)(void *host_data, uint64_t ticket, TallyBuffer *response,
                         TallyBuffer *response_body);

    /* Logs a UTF-8 message at a TALLY_LOG_* level. */
    void (*log)(void *host_data, uint32_t level, const uint8_t *message, size_t message_len);

    /* Emits a point batch (README "Point batch"; pull only). Each point is
     * validated against the canonical schema; on TALLY_STATUS_ERROR `*error`
     * says which and why. */
    int32_t (*emit)(void *host_data, const uint8_t *points, size_t points_len,
                    TallyBuffer *error);

    /* Writes the state saved by the source's last successful pull (JSON) to
     * `*state`, or leaves it empty ({NULL, 0}) when there is none. */
    int32_t (*read_state)(void *host_data, TallyBuffer *state);

    /* Replaces the state stored with this pull's points (pull only). */
    int32_t (*save_state)(void *host_data, const uint8_t *state, size_t state_len,
                          TallyBuffer *error);

    /* Releases a buffer that http_send, http_take (either out buffer), emit,
     * read_state, save_state or report_quota wrote. */
    void (*free_buffer)(void *host_data, uint8_t *ptr, size_t len);

    /* Hands the host one bucket of a budget the platform stated in an answer
     * (README "Stated quota"); the host refuses, unsent, later requests
     * charged to that budget while it cannot pay for them. Appended within
     * ABI 2: present only when struct_size > offsetof(TallyHost, report_quota). */
    int32_t (*report_quota)(void *host_data, const uint8_t *stated, size_t stated_len,
                            TallyBuffer *error);
} TallyHost;

/* The plugin's table, returned by tally_plugin_entry. Must stay valid for the
 * life of the process (the host never unloads a plugin). */
typedef struct TallyPlugin {
    uint32_t abi_version;    /* TALLY_PLUGIN_ABI_VERSION; read first */
    uint32_t struct_size;    /* sizeof(TallyPlugin) */
    const char *sdk_version; /* static NUL-terminated version string, e.g. "0.1.0" */

    /* Writes the connector's description (JSON) to `*out`. */
    int32_t (*describe)(TallyBuffer *out);

    /* Begins a check or pull (`function`: TALLY_CALL_*) of the source `context`
     * (JSON, borrowed) describes, and runs it as far as it can without waiting.
     * TALLY_STATUS_OK: done; for a check `*out` holds a JSON string saying what
     * was found ("\"@alice.test (12 followers)\""), for a pull nothing (anything
     * written is freed and ignored). TALLY_STATUS_ERROR: done; `*out` holds an
     * error object. TALLY_STATUS_PENDING: `*call` holds the call, which waits for
     * a response it queued with http_send. */
    int32_t (*start)(const TallyHost *host, uint32_t function, const uint8_t *context,
                     size_t context_len, TallyCall **call, TallyBuffer *out);

    /* Runs a pending call further once at least one of its requests finished;
     * returns as start does. After any status but TALLY_STATUS_PENDING the call
     * is over and the plugin has released it. */
    int32_t (*resume)(const TallyHost *host, TallyCall *call, TallyBuffer *out);

    /* Releases a pending call the host gives up on (timeout, shutdown), making
     * no callbacks. */
    void (*cancel)(TallyCall *call);

    /* Releases a buffer that describe, start or resume wrote to `*out`. */
    void (*free_buffer)(uint8_t *ptr, size_t len);
} TallyPlugin;

/* The one symbol a plugin exports. */
typedef const TallyPlugin *(*TallyPluginEntryFn)(void);

#ifdef __cplusplus
}
#endif

#endif /* TALLY_PLUGIN_H */
