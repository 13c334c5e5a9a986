//! The C ABI itself: the `#[repr(C)]` tables, function-pointer types and constants
//! that both sides of the boundary agree on. `include/tally_plugin.h` is the same
//! thing written in C; `tests/layout.rs` proves the two agree field by field.
//!
//! Nothing here is Rust-specific on purpose: only fixed-size integers, raw
//! pointers, `(pointer, length)` byte buffers and `extern "C"` function pointers
//! cross the boundary. Every function pointer is an `Option` so that a NULL in a
//! table written in C is detected instead of called.

use std::ffi::{c_char, c_void};

/// The ABI version this SDK speaks. The host compares it with the plugin's
/// [`TallyPlugin::abi_version`] before reading anything else and refuses any
/// other value: a layout or encoding change bumps it.
pub const ABI_VERSION: u32 = 2;

/// The one symbol a plugin exports: `const TallyPlugin *tally_plugin_entry(void)`.
pub const ENTRY_SYMBOL: &str = "tally_plugin_entry";

/// [`ENTRY_SYMBOL`] with its terminating NUL, as the dynamic loader wants it.
pub const ENTRY_SYMBOL_NUL: &[u8] = b"tally_plugin_entry\0";

/// The version of this SDK crate, written into every plugin's table.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// [`SDK_VERSION`] NUL-terminated, for [`TallyPlugin::sdk_version`].
pub(crate) const SDK_VERSION_NUL: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Status of a call: success; the output buffer holds the documented result.
pub const STATUS_OK: i32 = 0;
/// Status of a call: failure; the output buffer holds an error object (`wire::WireError`).
pub const STATUS_ERROR: i32 = 1;
/// Status of `start`/`resume`: the call waits for an HTTP response it asked for;
/// the host resumes it once one of its requests has finished. Of `http_take`:
/// that request has not finished yet.
pub const STATUS_PENDING: i32 = 2;

/// `start`'s `function`: verify a source's settings and credentials.
pub const CALL_CHECK: u32 = 1;
/// `start`'s `function`: pull a source.
pub const CALL_PULL: u32 = 2;

/// A check or pull in progress, owned by the plugin; the host only passes the
/// pointer back to `resume` or `cancel`.
#[repr(C)]
pub struct TallyCall {
    _private: [u8; 0],
}

/// Log level for [`TallyHost::log`]: something failed.
pub const LOG_ERROR: u32 = 1;
/// Log level: something is suspicious.
pub const LOG_WARN: u32 = 2;
/// Log level: a milestone worth seeing by default.
pub const LOG_INFO: u32 = 3;
/// Log level: detail for debugging a connector.
pub const LOG_DEBUG: u32 = 4;
/// Log level: very verbose detail.
pub const LOG_TRACE: u32 = 5;

/// A byte buffer handed from one side to the other: `len` bytes at `ptr`.
///
/// An empty buffer may have a NULL `ptr`. A buffer returned through an out
/// parameter is owned by the side that allocated it and must be given back to
/// that side's `free_buffer` with the same `ptr` and `len`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TallyBuffer {
    /// First byte, or NULL when `len` is 0.
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
}

impl TallyBuffer {
    /// The empty buffer (`{NULL, 0}`), what out parameters are initialised to.
    pub const EMPTY: TallyBuffer = TallyBuffer {
        ptr: std::ptr::null_mut(),
        len: 0,
    };

    /// Hands `bytes` over as a buffer that [`free_boxed`] releases.
    pub fn from_vec(bytes: Vec<u8>) -> TallyBuffer {
        if bytes.is_empty() {
            return TallyBuffer::EMPTY;
        }
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        let ptr = Box::into_raw(boxed).cast::<u8>();
        TallyBuffer { ptr, len }
    }
}

/// Releases a buffer made by [`TallyBuffer::from_vec`] in this same binary.
///
/// # Safety
/// `ptr` and `len` must come from one `TallyBuffer::from_vec` of this binary
/// (each side frees only what it allocated) and must not be freed twice.
/// A NULL `ptr` is ignored.
pub unsafe fn free_boxed(ptr: *mut u8, len: usize) {
    if ptr.is_null() || len == 0 {
        return;
    }
    let slice = std::ptr::slice_from_raw_parts_mut(ptr, len);
    // SAFETY: the caller guarantees `ptr`/`len` came from `Box::<[u8]>::into_raw`
    // in `from_vec` of this binary and are released exactly once.
    drop(unsafe { Box::from_raw(slice) });
}

/// Borrows `len` bytes at `ptr` (an empty slice for NULL or 0).
///
/// # Safety
/// When `ptr` is not NULL it must point to `len` readable bytes that stay valid
/// and unchanged for `'a`.
pub unsafe fn borrow_bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: non-null and valid for `len` bytes for `'a`, per the caller.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// `tally_plugin_entry`: returns the plugin's static table (never NULL for a
/// working plugin). The host calls it once, right after loading the library.
pub type EntryFn = unsafe extern "C" fn() -> *const TallyPlugin;

/// `describe(out)`: writes the connector's description (JSON) to `out`.
pub type DescribeFn = unsafe extern "C" fn(out: *mut TallyBuffer) -> i32;

/// `start(host, function, context, context_len, call, out)`: begins a check or
/// pull ([`CALL_CHECK`], [`CALL_PULL`]) of the source `context` describes and runs
/// it until it finishes ([`STATUS_OK`], [`STATUS_ERROR`], result or error in
/// `out`) or waits for HTTP ([`STATUS_PENDING`], the call in `*call`).
pub type StartFn = unsafe extern "C" fn(
    host: *const TallyHost,
    function: u32,
    context: *const u8,
    context_len: usize,
    call: *mut *mut TallyCall,
    out: *mut TallyBuffer,
) -> i32;

/// `resume(host, call, out)`: runs a pending call further, after at least one of
/// its requests finished; returns as `start` does. Once it returns anything but
/// [`STATUS_PENDING`] the call is over and the plugin has released it.
pub type ResumeFn = unsafe extern "C" fn(
    host: *const TallyHost,
    call: *mut TallyCall,
    out: *mut TallyBuffer,
) -> i32;

/// `cancel(call)`: releases a pending call the host gives up on (a timeout or
/// shutdown), without any more callbacks.
pub type CancelFn = unsafe extern "C" fn(call: *mut TallyCall);

/// `free_buffer(ptr, len)`: releases a buffer the plugin returned.
pub type FreeFn = unsafe extern "C" fn(ptr: *mut u8, len: usize);

/// The table a plugin exports through [`ENTRY_SYMBOL`].
///
/// `abi_version` is the first field in every ABI version, so a host can read it
/// from any plugin, old or new, before it relies on the rest of the layout.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TallyPlugin {
    /// Must equal the host's [`ABI_VERSION`]; checked before anything else is read.
    pub abi_version: u32,
    /// `sizeof(TallyPlugin)` as the plugin was compiled; the host refuses a smaller table.
    pub struct_size: u32,
    /// NUL-terminated UTF-8 version of the SDK (or header) the plugin was built with, static.
    pub sdk_version: *const c_char,
    /// Writes the description JSON.
    pub describe: Option<DescribeFn>,
    /// Begins a check or pull.
    pub start: Option<StartFn>,
    /// Runs a pending call further.
    pub resume: Option<ResumeFn>,
    /// Releases a pending call the host gives up on.
    pub cancel: Option<CancelFn>,
    /// Releases any buffer `describe`, `start` or `resume` wrote to `out`.
    pub free_buffer: Option<FreeFn>,
}

// SAFETY: a plugin table is immutable static data: fixed integers, a pointer to a
// static NUL-terminated string and function pointers. Sharing it between threads
// cannot cause a data race.
unsafe impl Sync for TallyPlugin {}
// SAFETY: as above; moving a copy of the table to another thread is harmless.
unsafe impl Send for TallyPlugin {}

impl TallyPlugin {
    /// The table for a plugin built with this SDK: the current ABI and SDK
    /// versions, and the SDK's `resume`, `cancel` and `free_buffer`.
    pub const fn new(describe: DescribeFn, start: StartFn) -> TallyPlugin {
        TallyPlugin {
            abi_version: ABI_VERSION,
            struct_size: std::mem::size_of::<TallyPlugin>() as u32,
            sdk_version: SDK_VERSION_NUL.as_ptr().cast::<c_char>(),
            describe: Some(describe),
            start: Some(start),
            resume: Some(crate::guest::resume),
            cancel: Some(crate::guest::cancel),
            free_buffer: Some(crate::guest::free_buffer),
        }
    }
}

/// `http_send(host_data, head, head_len, body, body_len, ticket, error)`: asks
/// the host to send a request (a JSON head plus raw body bytes) through its
/// client once the plugin returns [`STATUS_PENDING`]; writes its ticket.
pub type HttpSendFn = unsafe extern "C" fn(
    host_data: *mut c_void,
    head: *const u8,
    head_len: usize,
    body: *const u8,
    body_len: usize,
    ticket: *mut u64,
    error: *mut TallyBuffer,
) -> i32;

/// `http_take(host_data, ticket, response, response_body)`: the finished
/// request's response head (or an error) and raw body, or [`STATUS_PENDING`]
/// while it runs. A ticket is taken once.
pub type HttpTakeFn = unsafe extern "C" fn(
    host_data: *mut c_void,
    ticket: u64,
    response: *mut TallyBuffer,
    response_body: *mut TallyBuffer,
) -> i32;

/// `log(host_data, level, message, message_len)`: logs a UTF-8 message.
pub type LogFn = unsafe extern "C" fn(
    host_data: *mut c_void,
    level: u32,
    message: *const u8,
    message_len: usize,
);

/// `emit(host_data, points, points_len, error)`: hands over a batch of points
/// ([`crate::points`]); on failure writes an error to `error`.
pub type EmitFn = unsafe extern "C" fn(
    host_data: *mut c_void,
    points: *const u8,
    points_len: usize,
    error: *mut TallyBuffer,
) -> i32;

/// `read_state(host_data, state)`: writes the source's saved state (JSON) to
/// `state`, or leaves it empty when there is none.
pub type ReadStateFn = unsafe extern "C" fn(host_data: *mut c_void, state: *mut TallyBuffer) -> i32;

/// `save_state(host_data, state, state_len, error)`: replaces the state stored
/// with this pull's points.
pub type SaveStateFn = unsafe extern "C" fn(
    host_data: *mut c_void,
    state: *const u8,
    state_len: usize,
    error: *mut TallyBuffer,
) -> i32;

/// `report_quota(host_data, stated, stated_len, error)`: hands the host one
/// bucket of a budget the platform stated in an answer (JSON, the model's
/// `StatedQuota`), which it keeps for every source charging requests to that
/// budget; on failure writes an error to `error`.
pub type ReportQuotaFn = unsafe extern "C" fn(
    host_data: *mut c_void,
    stated: *const u8,
    stated_len: usize,
    error: *mut TallyBuffer,
) -> i32;

/// `free_buffer(host_data, ptr, len)`: releases a buffer a host callback wrote.
pub type HostFreeFn = unsafe extern "C" fn(host_data: *mut c_void, ptr: *mut u8, len: usize);

/// The host's callbacks, passed to every `start` and `resume`.
///
/// Valid only while that function runs. No callback blocks: HTTP is queued with
/// `http_send` and collected with `http_take` after a later `resume`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TallyHost {
    /// The host's [`ABI_VERSION`].
    pub abi_version: u32,
    /// `sizeof(TallyHost)` as the host was compiled.
    pub struct_size: u32,
    /// Opaque; pass it back as the first argument of every callback.
    pub host_data: *mut c_void,
    /// Queues an HTTP request for the host's limiter, quota, auth and retries.
    pub http_send: Option<HttpSendFn>,
    /// Collects a queued request's response.
    pub http_take: Option<HttpTakeFn>,
    /// Logs a message under the source and plugin.
    pub log: Option<LogFn>,
    /// Emits a batch of points (only during `pull`).
    pub emit: Option<EmitFn>,
    /// Reads the state saved by the source's last successful pull.
    pub read_state: Option<ReadStateFn>,
    /// Saves state for the next pull (only during `pull`).
    pub save_state: Option<SaveStateFn>,
    /// Releases a buffer written by `http_send`, `http_take` (both of its out
    /// buffers), `emit`, `read_state`, `save_state` or `report_quota`.
    pub free_buffer: Option<HostFreeFn>,
    /// Records a bucket of a budget the platform stated. Added after the
    /// fields above within ABI 2: a host table whose `struct_size` ends
    /// before it ([`HOST_TABLE_BEFORE_REPORT_QUOTA`]) does not have it.
    pub report_quota: Option<ReportQuotaFn>,
}

/// `struct_size` of a host table of ABI 2 as first published, before
/// `report_quota` was appended: the smallest table a plugin accepts.
pub const HOST_TABLE_BEFORE_REPORT_QUOTA: usize = std::mem::offset_of!(TallyHost, report_quota);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_first_field_and_tables_have_fixed_layouts() {
        assert_eq!(std::mem::offset_of!(TallyPlugin, abi_version), 0);
        assert_eq!(std::mem::offset_of!(TallyHost, abi_version), 0);
        let word = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<TallyBuffer>(), 2 * word);
        assert_eq!(std::mem::size_of::<TallyPlugin>(), 8 + 6 * word);
        assert_eq!(std::mem::size_of::<TallyHost>(), 8 + 9 * word);
        assert_eq!(HOST_TABLE_BEFORE_REPORT_QUOTA, 8 + 8 * word);
    }

    #[test]
    fn buffers_round_trip_and_empty_is_null() {
        let b = TallyBuffer::from_vec(b"hello".to_vec());
        // SAFETY: `b` was just made by `from_vec` and is freed once below.
        let copy = unsafe { borrow_bytes(b.ptr, b.len) }.to_vec();
        assert_eq!(copy, b"hello");
        // SAFETY: as above.
        unsafe { free_boxed(b.ptr, b.len) };
        let e = TallyBuffer::from_vec(Vec::new());
        assert!(e.ptr.is_null() && e.len == 0);
    }
}
