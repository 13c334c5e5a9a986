/*
 * A Tally plugin written in C against include/tally_plugin.h, without the Rust
 * SDK: proof that the README documents the ABI well enough.
 *
 * pull, in two steps: start logs, reads its saved state ({"pulls": N}), queues
 * GET {base_url}/followers with the host and returns PENDING; resume takes the
 * response (whose body is a plain number), emits a batch of one
 * audience.followers point with that value, and saves {"pulls": N + 1}.
 *
 * Compile-time variants, used by core/runtime/tests/plugins.rs:
 *   -DTALLY_C_NAME='"name"'        connector name (default "c-minimal")
 *   -DTALLY_C_METRIC='"metric"'    metric of the emitted point
 *   -DTALLY_C_DECLARED='"metric"'  metric declared in the description
 *   -DTALLY_C_GARBAGE             pull fails with bytes that are not JSON
 *   -DTALLY_C_BAD_BATCH           pull emits a point batch cut short
 *   -DTALLY_C_STALL               pull returns PENDING without queuing a request
 *   -DTALLY_C_STATED_QUOTA        the request is charged to budget "c-budget",
 *                                 and each answer is said to leave nothing of
 *                                 its "requestsPerHour" bucket until 2099
 *
 * String handling is deliberately naive (fixed buffers, strstr): enough for a
 * test plugin; a real one would use a JSON library.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally_plugin.h"

#ifndef TALLY_C_NAME
#define TALLY_C_NAME "c-minimal"
#endif
#ifndef TALLY_C_METRIC
#define TALLY_C_METRIC "audience.followers"
#endif
#ifndef TALLY_C_DECLARED
#define TALLY_C_DECLARED TALLY_C_METRIC
#endif
#ifdef TALLY_C_GARBAGE
#define GARBAGE 1
#else
#define GARBAGE 0
#endif
#ifdef TALLY_C_BAD_BATCH
#define BAD_BATCH 1
#else
#define BAD_BATCH 0
#endif
#ifdef TALLY_C_STALL
#define STALL 1
#else
#define STALL 0
#endif
#ifdef TALLY_C_STATED_QUOTA
#define BUDGET ",\"budget\":\"c-budget\""
#else
#define BUDGET ""
#endif

/* Hands `len` bytes to the host in a buffer this plugin allocated (freed by plugin_free). */
static void give(TallyBuffer *out, const char *bytes, size_t len) {
    out->ptr = malloc(len > 0 ? len : 1);
    out->len = out->ptr != NULL ? len : 0;
    if (out->ptr != NULL) {
        memcpy(out->ptr, bytes, len);
    }
}

static int32_t fail(TallyBuffer *out, const char *message) {
    char json[512];
    int n = snprintf(json, sizeof json, "{\"kind\":\"other\",\"message\":\"%s\"}", message);
    give(out, json, (size_t)n);
    return TALLY_STATUS_ERROR;
}

/* Passes an error the host wrote on unchanged: copied into our own buffer
 * (the host's buffer goes back to the host). */
static int32_t pass_on(const TallyHost *host, TallyBuffer *out, TallyBuffer host_error) {
    give(out, (const char *)host_error.ptr, host_error.len);
    host->free_buffer(host->host_data, host_error.ptr, host_error.len);
    return TALLY_STATUS_ERROR;
}

static void plugin_free(uint8_t *ptr, size_t len) {
    (void)len;
    free(ptr);
}

static void say(const TallyHost *host, uint32_t level, const char *text) {
    host->log(host->host_data, level, (const uint8_t *)text, strlen(text));
}

/* Copies the string value of `"key":"...` (no escapes) from `json` into `dst`. */
static int find_string(const char *json, const char *key, char *dst, size_t cap) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *start = strstr(json, pattern);
    if (start == NULL) {
        return 0;
    }
    start += strlen(pattern);
    const char *end = strchr(start, '"');
    if (end == NULL || (size_t)(end - start) >= cap) {
        return 0;
    }
    memcpy(dst, start, (size_t)(end - start));
    dst[end - start] = '\0';
    return 1;
}

/* Point batch writers (README "Point batch"): little-endian integers, strings
 * as a u32 length and their bytes. `at` advances; the caller sizes `dst`. */
static void put_u32(uint8_t *dst, size_t *at, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        dst[(*at)++] = (uint8_t)(v >> (8 * i));
    }
}

static void put_u64(uint8_t *dst, size_t *at, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        dst[(*at)++] = (uint8_t)(v >> (8 * i));
    }
}

static void put_str(uint8_t *dst, size_t *at, const char *text) {
    size_t len = strlen(text);
    put_u32(dst, at, (uint32_t)len);
    memcpy(dst + *at, text, len);
    *at += len;
}

/* Writes a batch of one account gauge at 2026-06-01T12:00:00Z; returns its length. */
static size_t follower_batch(uint8_t *dst, const char *metric, double value) {
    size_t at = 0;
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    put_u32(dst, &at, 1);                 /* one point */
    dst[at++] = 0;                        /* repeat flags (u16): the first point */
    dst[at++] = 0;                        /* repeats nothing */
    put_str(dst, &at, "c-test");          /* platform */
    put_str(dst, &at, "account");         /* entity kind */
    put_str(dst, &at, "c-account");       /* entity id */
    dst[at++] = 0;                        /* no entity name */
    put_str(dst, &at, metric);            /* metric */
    put_u64(dst, &at, bits);              /* value, f64 */
    put_str(dst, &at, "count");           /* unit */
    put_str(dst, &at, "gauge");           /* kind */
    dst[at++] = 0;                        /* time: an instant */
    put_u64(dst, &at, 1780315200u);       /* seconds since 1970 */
    put_u32(dst, &at, 0);                 /* nanoseconds */
    put_u32(dst, &at, 0);                 /* no dimensions */
    put_str(dst, &at, "followers");       /* raw name */
    return at;
}

/* A NUL-terminated copy of a buffer, for the string helpers above. */
static char *terminated(const uint8_t *bytes, size_t len) {
    char *text = malloc(len + 1);
    if (text != NULL) {
        memcpy(text, bytes, len);
        text[len] = '\0';
    }
    return text;
}

static int32_t describe(TallyBuffer *out) {
    static const char json[] =
        "{\"name\":\"" TALLY_C_NAME "\",\"platform\":\"c-test\","
        "\"summary\":\"A connector written in C against tally_plugin.h\","
        "\"default_base_url\":\"http://127.0.0.1:9\","
        "\"metrics\":[\"" TALLY_C_DECLARED "\"],"
        "\"settings\":[],\"auth\":[{\"kind\":\"none\"}],"
        "\"rate_limit\":{\"requests\":100,\"per_seconds\":1,\"burst\":10}}";
    give(out, json, sizeof json - 1);
    return TALLY_STATUS_OK;
}

/* A pull in progress: the call handle this plugin gives the host. */
struct TallyCall {
    uint64_t ticket; /* the GET /followers request */
    long pulls;      /* from the saved state */
};

/* The first half of a pull: read the state, queue GET /followers, and wait. */
static int32_t pull_start(const TallyHost *host, const uint8_t *context, size_t context_len,
                          TallyCall **call, TallyBuffer *out) {
    if (GARBAGE) {
        static const char garbage[] = "\xff\xfe this is not JSON";
        give(out, garbage, sizeof garbage - 1);
        return TALLY_STATUS_ERROR;
    }
    say(host, TALLY_LOG_INFO, "C plugin pull started");

    long pulls = 0;
    TallyBuffer state = {NULL, 0};
    if (host->read_state(host->host_data, &state) != TALLY_STATUS_OK) {
        return pass_on(host, out, state);
    }
    if (state.len > 0) {
        char *text = terminated(state.ptr, state.len);
        const char *n = text != NULL ? strstr(text, "\"pulls\":") : NULL;
        if (n != NULL) {
            pulls = strtol(n + strlen("\"pulls\":"), NULL, 10);
        }
        free(text);
    }
    host->free_buffer(host->host_data, state.ptr, state.len);

    char *ctx = terminated(context, context_len);
    char base_url[256];
    int found = ctx != NULL && find_string(ctx, "base_url", base_url, sizeof base_url);
    free(ctx);
    if (!found) {
        return fail(out, "the context has no base_url");
    }

    char request[512];
    int n = snprintf(request, sizeof request,
                     "{\"method\":\"GET\",\"url\":\"%s/followers\","
                     "\"headers\":[[\"accept\",\"text/plain\"]]" BUDGET "}",
                     base_url);
    uint64_t ticket = 0;
    TallyBuffer error = {NULL, 0};
    if (STALL) {
        *call = calloc(1, sizeof **call); /* waits, but for nothing */
        return *call != NULL ? TALLY_STATUS_PENDING : fail(out, "out of memory");
    }
    if (host->http_send(host->host_data, (const uint8_t *)request, (size_t)n, NULL, 0, &ticket,
                        &error) != TALLY_STATUS_OK) {
        return pass_on(host, out, error);
    }
    *call = malloc(sizeof **call);
    if (*call == NULL) {
        return fail(out, "out of memory");
    }
    (*call)->ticket = ticket;
    (*call)->pulls = pulls;
    return TALLY_STATUS_PENDING;
}

/* The second half: take the response, emit the point, save the state. */
static int32_t pull_finish(const TallyHost *host, const TallyCall *call, TallyBuffer *out) {
    TallyBuffer response = {NULL, 0};
    TallyBuffer response_body = {NULL, 0};
    int32_t taken = host->http_take(host->host_data, call->ticket, &response, &response_body);
    if (taken == TALLY_STATUS_PENDING) {
        return TALLY_STATUS_PENDING;
    }
    if (taken != TALLY_STATUS_OK) {
        host->free_buffer(host->host_data, response_body.ptr, response_body.len);
        return pass_on(host, out, response);
    }
    char *head = terminated(response.ptr, response.len);
    char *body = terminated(response_body.ptr, response_body.len);
    host->free_buffer(host->host_data, response.ptr, response.len);
    host->free_buffer(host->host_data, response_body.ptr, response_body.len);
    int status_ok = head != NULL && strstr(head, "\"status\":200") != NULL;
    long followers = body != NULL ? strtol(body, NULL, 10) : 0;
    free(head);
    free(body);
    if (!status_ok) {
        return fail(out, "GET /followers did not answer 200");
    }

    uint8_t batch[256];
    size_t batch_len = follower_batch(batch, TALLY_C_METRIC, (double)followers);
    if (BAD_BATCH) {
        batch_len -= 3; /* the raw name is cut short */
    }
    TallyBuffer error = {NULL, 0};
    if (host->emit(host->host_data, batch, batch_len, &error) != TALLY_STATUS_OK) {
        return pass_on(host, out, error);
    }
    host->free_buffer(host->host_data, error.ptr, error.len);

#ifdef TALLY_C_STATED_QUOTA
    /* report_quota was appended to ABI 2's host table: only a table that
     * reaches past it has it. */
    if (host->struct_size > offsetof(TallyHost, report_quota) && host->report_quota != NULL) {
        static const char stated[] =
            "{\"budget\":\"c-budget\",\"bucket\":\"requestsPerHour\",\"remaining\":0,"
            "\"cost\":1,\"resets_at\":\"2099-01-01T00:00:00Z\"}";
        if (host->report_quota(host->host_data, (const uint8_t *)stated, sizeof stated - 1,
                               &error) != TALLY_STATUS_OK) {
            return pass_on(host, out, error);
        }
        host->free_buffer(host->host_data, error.ptr, error.len);
    }
#endif

    char saved[64];
    int n = snprintf(saved, sizeof saved, "{\"pulls\":%ld}", call->pulls + 1);
    if (host->save_state(host->host_data, (const uint8_t *)saved, (size_t)n, &error) !=
        TALLY_STATUS_OK) {
        return pass_on(host, out, error);
    }
    host->free_buffer(host->host_data, error.ptr, error.len);
    return TALLY_STATUS_OK;
}

static int32_t start(const TallyHost *host, uint32_t function, const uint8_t *context,
                     size_t context_len, TallyCall **call, TallyBuffer *out) {
    if (function == TALLY_CALL_CHECK) {
        static const char ok[] = "\"a plugin written in C\"";
        give(out, ok, sizeof ok - 1);
        return TALLY_STATUS_OK;
    }
    return pull_start(host, context, context_len, call, out);
}

static int32_t resume(const TallyHost *host, TallyCall *call, TallyBuffer *out) {
    int32_t status = pull_finish(host, call, out);
    if (status != TALLY_STATUS_PENDING) {
        free(call); /* the call is over */
    }
    return status;
}

static void cancel(TallyCall *call) {
    free(call);
}

const TallyPlugin *tally_plugin_entry(void) {
    static const TallyPlugin table = {
        TALLY_PLUGIN_ABI_VERSION,
        (uint32_t)sizeof(TallyPlugin),
        "c-minimal 1.0",
        describe,
        start,
        resume,
        cancel,
        plugin_free,
    };
    return &table;
}
