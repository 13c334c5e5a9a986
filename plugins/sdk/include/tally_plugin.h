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
#define TALLY_STATUS_OK 0    /* the out buffer holds the documented result */
#define TALLY_STATUS_ERROR 1 /* the out buffer holds an error object {"message": ...} */

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

/* The host's callbacks, passed to every check and pull. Valid only while that
 * call runs. Each callback blocks until the host has answered; callbacks may be
 * called from any thread during the call. */
typedef struct TallyHost {
    uint32_t abi_version; /* TALLY_PLUGIN_ABI_VERSION of the host */
    uint32_t struct_size; /* sizeof(TallyHost) as the host was compiled */
    void *host_data;      /* opaque: pass back as the first argument of every callback */

    /* Sends one HTTP request through the host's rate limiter, quota, auth and
     * retries: `head` is its JSON head (README "HTTP request"), `body` its raw
     * body (body_len 0: none). On TALLY_STATUS_OK `*response` holds the final
     * response's JSON head and `*response_body` its raw body; on
     * TALLY_STATUS_ERROR `*response` holds an error object and `*response_body`
     * stays empty. Free both. */
    int32_t (*http)(void *host_data, const uint8_t *head, size_t head_len,
                    const uint8_t *body, size_t body_len, TallyBuffer *response,
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

    /* Releases a buffer that http (either out buffer), emit, read_state or
     * save_state wrote. */
    void (*free_buffer)(void *host_data, uint8_t *ptr, size_t len);
} TallyHost;

/* The plugin's table, returned by tally_plugin_entry. Must stay valid for the
 * life of the process (the host never unloads a plugin). */
typedef struct TallyPlugin {
    uint32_t abi_version;    /* TALLY_PLUGIN_ABI_VERSION; read first */
    uint32_t struct_size;    /* sizeof(TallyPlugin) */
    const char *sdk_version; /* static NUL-terminated version string, e.g. "0.1.0" */

    /* Writes the connector's description (JSON) to `*out`. */
    int32_t (*describe)(TallyBuffer *out);

    /* Verifies a source's settings and credentials with one cheap call. `context`
     * (JSON, borrowed) describes the source. On TALLY_STATUS_OK `*out` holds a JSON
     * string saying what was found ("\"@alice.test (12 followers)\""). */
    int32_t (*check)(const TallyHost *host, const uint8_t *context, size_t context_len,
                     TallyBuffer *out);

    /* Pulls a source: emits points through host->emit. On TALLY_STATUS_OK `*out`
     * may stay empty; anything written is freed and ignored. */
    int32_t (*pull)(const TallyHost *host, const uint8_t *context, size_t context_len,
                    TallyBuffer *out);

    /* Releases a buffer that describe, check or pull wrote to `*out`. */
    void (*free_buffer)(uint8_t *ptr, size_t len);
} TallyPlugin;

/* The one symbol a plugin exports. */
typedef const TallyPlugin *(*TallyPluginEntryFn)(void);

#ifdef __cplusplus
}
#endif

#endif /* TALLY_PLUGIN_H */
