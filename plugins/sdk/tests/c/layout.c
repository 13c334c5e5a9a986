/* Prints the size and field offsets of every struct in tally_plugin.h, one
 * `name value` pair per line, for tests/layout.rs to compare with abi.rs. */
#include <stddef.h>
#include <stdio.h>

#include "tally_plugin.h"

#define SIZE(T) printf("sizeof(%s) %zu\n", #T, sizeof(T))
#define OFF(T, f) printf("%s.%s %zu\n", #T, #f, offsetof(T, f))

int main(void) {
    SIZE(TallyBuffer);
    OFF(TallyBuffer, ptr);
    OFF(TallyBuffer, len);

    SIZE(TallyHost);
    OFF(TallyHost, abi_version);
    OFF(TallyHost, struct_size);
    OFF(TallyHost, host_data);
    OFF(TallyHost, http_send);
    OFF(TallyHost, http_take);
    OFF(TallyHost, log);
    OFF(TallyHost, emit);
    OFF(TallyHost, read_state);
    OFF(TallyHost, save_state);
    OFF(TallyHost, free_buffer);
    OFF(TallyHost, report_quota);

    SIZE(TallyPlugin);
    OFF(TallyPlugin, abi_version);
    OFF(TallyPlugin, struct_size);
    OFF(TallyPlugin, sdk_version);
    OFF(TallyPlugin, describe);
    OFF(TallyPlugin, start);
    OFF(TallyPlugin, resume);
    OFF(TallyPlugin, cancel);
    OFF(TallyPlugin, free_buffer);

    printf("TALLY_PLUGIN_ABI_VERSION %u\n", TALLY_PLUGIN_ABI_VERSION);
    printf("TALLY_STATUS_OK %d\n", TALLY_STATUS_OK);
    printf("TALLY_STATUS_ERROR %d\n", TALLY_STATUS_ERROR);
    printf("TALLY_STATUS_PENDING %d\n", TALLY_STATUS_PENDING);
    printf("TALLY_CALL_CHECK %u\n", TALLY_CALL_CHECK);
    printf("TALLY_CALL_PULL %u\n", TALLY_CALL_PULL);
    printf("TALLY_LOG_ERROR %u\n", TALLY_LOG_ERROR);
    printf("TALLY_LOG_TRACE %u\n", TALLY_LOG_TRACE);
    printf("TALLY_PLUGIN_ENTRY_SYMBOL %s\n", TALLY_PLUGIN_ENTRY_SYMBOL);
    return 0;
}
