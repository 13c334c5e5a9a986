//! The plugin side: what [`crate::export_connector!`] expands to calls into here.
//!
//! A plugin function runs on a thread the host lent it and must return with a
//! result; it cannot hand a future back across a C boundary. So the connector's
//! async `check`/`pull` is driven to completion right here by [`block_on`], a
//! single-future executor with a thread-parking waker. No reactor is needed: every
//! `.await` inside a connector ends in a host callback ([`HostHttpClient`]), and
//! those complete synchronously, so each poll makes progress and returns `Ready`.
//! A connector that awaits a tokio timer or socket would need a reactor; it does
//! not get one, because connectors never do I/O themselves.
//!
//! Every exported function runs inside `catch_unwind`: a panic in the connector
//! becomes an error object for that call, never an unwind into the host.

use crate::abi::{
    self, borrow_bytes, free_boxed, TallyBuffer, TallyHost, ABI_VERSION, STATUS_ERROR, STATUS_OK,
};
use crate::points::encode_batch;
use crate::wire::{to_json, WireContext, WireError, WireRequestHead, WireResponseHead};
use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use tally_model::{
    Connector, ConnectorError, Emitter, HttpClient, HttpError, HttpRequest, HttpResponse, Point,
    SourceContext,
};

/// Points sent to the host per `emit` call.
const EMIT_BATCH: usize = 256;

/// Runs a future to completion on the current thread.
///
/// The waker unparks this thread, so a future woken from another thread (a std
/// channel, say) still finishes; a future that is never woken would park forever,
/// which is why connectors must only await host callbacks.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(value) => return value,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Severity of a [`log`] message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something is suspicious.
    Warn,
    /// A milestone.
    Info,
    /// Detail for debugging.
    Debug,
    /// Very verbose detail.
    Trace,
}

impl Level {
    fn code(self) -> u32 {
        match self {
            Level::Error => abi::LOG_ERROR,
            Level::Warn => abi::LOG_WARN,
            Level::Info => abi::LOG_INFO,
            Level::Debug => abi::LOG_DEBUG,
            Level::Trace => abi::LOG_TRACE,
        }
    }
}

thread_local! {
    /// The host table of the call running on this thread, for [`log`].
    static CURRENT_HOST: Cell<Option<HostRef>> = const { Cell::new(None) };
}

/// Logs through the host (tagged with the source and plugin) while a `check` or
/// `pull` runs on this thread; does nothing otherwise (for example in a static build).
pub fn log(level: Level, message: &str) {
    if let Some(host) = CURRENT_HOST.with(Cell::get) {
        host.log(level.code(), message);
    }
}

/// A checked pointer to the host's table for the duration of one call.
#[derive(Clone, Copy)]
struct HostRef(*const TallyHost);

// SAFETY: the ABI requires host callbacks to be callable from any thread during the
// call, and the SDK never keeps a `HostRef` past the call that received it.
unsafe impl Send for HostRef {}
// SAFETY: as above; the table itself is never written through this pointer.
unsafe impl Sync for HostRef {}

impl HostRef {
    /// Checks the table before anything uses it.
    fn new(host: *const TallyHost) -> Result<HostRef, Failure> {
        if host.is_null() {
            return Err(Box::new(WireError::other(
                "the host passed a NULL host table",
            )));
        }
        // SAFETY: non-null, and the host guarantees it points to a table valid for the call;
        // `abi_version` is the first field in every ABI version.
        let version = unsafe { (*host).abi_version };
        if version != ABI_VERSION {
            return Err(Box::new(WireError::other(format!(
                "the host speaks plugin ABI {version}, this plugin ABI {ABI_VERSION}; rebuild the plugin against the host's tally-plugin-sdk"
            ))));
        }
        // SAFETY: as above; the version matches, so the layout is this one.
        let size = unsafe { (*host).struct_size } as usize;
        if size < std::mem::size_of::<TallyHost>() {
            return Err(Box::new(WireError::other(format!(
                "the host table is {size} bytes, smaller than ABI {ABI_VERSION}'s {}",
                std::mem::size_of::<TallyHost>()
            ))));
        }
        Ok(HostRef(host))
    }

    fn table(&self) -> &TallyHost {
        // SAFETY: checked non-null in `new`; valid for the call, which outlives every use.
        unsafe { &*self.0 }
    }

    /// Copies a buffer the host wrote and gives it back to the host.
    fn take(&self, buffer: TallyBuffer) -> Vec<u8> {
        // SAFETY: the host wrote `buffer` for us; it stays valid until we free it below.
        let bytes = unsafe { borrow_bytes(buffer.ptr, buffer.len) }.to_vec();
        if !buffer.ptr.is_null() {
            if let Some(free) = self.table().free_buffer {
                // SAFETY: the buffer came from this host and is released exactly once.
                unsafe { free(self.table().host_data, buffer.ptr, buffer.len) };
            }
        }
        bytes
    }

    fn log(&self, level: u32, message: &str) {
        if let Some(log) = self.table().log {
            // SAFETY: the message is borrowed for the duration of the callback only.
            unsafe {
                log(
                    self.table().host_data,
                    level,
                    message.as_ptr(),
                    message.len(),
                )
            };
        }
    }

    fn http(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let Some(http) = self.table().http else {
            return Err(HttpError::Other(
                "the host provides no HTTP callback".into(),
            ));
        };
        let head = to_json(&WireRequestHead::of(request));
        let body = request.body.as_deref().unwrap_or_default();
        let (mut response, mut response_body) = (TallyBuffer::EMPTY, TallyBuffer::EMPTY);
        // SAFETY: `head` and `body` are borrowed for the callback; the out buffers are ours to fill.
        let status = unsafe {
            http(
                self.table().host_data,
                head.as_ptr(),
                head.len(),
                body.as_ptr(),
                body.len(),
                &mut response,
                &mut response_body,
            )
        };
        let head = self.take(response);
        let body = self.take(response_body);
        if status == STATUS_OK {
            serde_json::from_slice::<WireResponseHead>(&head)
                .map(|head| head.with_body(body))
                .map_err(|e| {
                    HttpError::Other(format!(
                        "the host's HTTP response head was not the documented JSON: {e}"
                    ))
                })
        } else {
            Err(decode_error(&head).into_http())
        }
    }

    fn emit(&self, points: &[Point], scratch: &mut Vec<u8>) -> Result<(), ConnectorError> {
        let Some(emit) = self.table().emit else {
            return Err(ConnectorError::Other(
                "the host does not accept points during this call".into(),
            ));
        };
        scratch.clear();
        encode_batch(points, scratch);
        let mut out = TallyBuffer::EMPTY;
        // SAFETY: `scratch` is borrowed for the callback; `out` is ours to fill.
        let status = unsafe {
            emit(
                self.table().host_data,
                scratch.as_ptr(),
                scratch.len(),
                &mut out,
            )
        };
        let bytes = self.take(out);
        if status == STATUS_OK {
            Ok(())
        } else {
            Err(decode_error(&bytes).into_connector())
        }
    }

    fn read_state(&self) -> Result<Option<serde_json::Value>, ConnectorError> {
        let Some(read) = self.table().read_state else {
            return Ok(None);
        };
        let mut out = TallyBuffer::EMPTY;
        // SAFETY: `out` is ours to fill.
        let status = unsafe { read(self.table().host_data, &mut out) };
        let bytes = self.take(out);
        if status != STATUS_OK {
            return Err(decode_error(&bytes).into_connector());
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ConnectorError::Other(format!("the host's saved state is not JSON: {e}")))
    }

    fn save_state(&self, state: &serde_json::Value) -> Result<(), ConnectorError> {
        let Some(save) = self.table().save_state else {
            return Err(ConnectorError::Other(
                "the host does not accept state during this call".into(),
            ));
        };
        let body = to_json(state);
        let mut out = TallyBuffer::EMPTY;
        // SAFETY: `body` is borrowed for the callback; `out` is ours to fill.
        let status = unsafe { save(self.table().host_data, body.as_ptr(), body.len(), &mut out) };
        let bytes = self.take(out);
        if status == STATUS_OK {
            Ok(())
        } else {
            Err(decode_error(&bytes).into_connector())
        }
    }

    /// Makes this table the one [`log`] uses until the guard drops.
    fn enter(self) -> CurrentGuard {
        let previous = CURRENT_HOST.with(|c| c.replace(Some(self)));
        CurrentGuard(previous)
    }
}

struct CurrentGuard(Option<HostRef>);

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT_HOST.with(|c| c.set(self.0));
    }
}

fn decode_error(bytes: &[u8]) -> WireError {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        WireError::other(format!(
            "the host answered with an error that is not the documented JSON ({e}): {}",
            tally_model::error::snippet(bytes)
        ))
    })
}

/// The connector's [`HttpClient`] inside a plugin: every request goes to the host's
/// `http` callback, so the host's limiter, quota, auth and retries apply exactly as
/// they do to a built-in connector.
pub struct HostHttpClient {
    host: HostRef,
}

/// The boxed future `#[async_trait]` expects from `HttpClient::send`.
type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'a>>;

// Written out rather than with `#[async_trait]`: the callback completes before
// `send` returns, so the future is already `Ready` (and the SDK needs no macro crate).
impl HttpClient for HostHttpClient {
    fn send<'life0, 'async_trait>(&'life0 self, request: HttpRequest) -> SendFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(std::future::ready(self.host.http(&request)))
    }
}

/// The connector's [`Emitter`] inside a plugin: batches points to the host's `emit`
/// callback, which validates each one against the schema.
struct HostEmitter {
    host: HostRef,
    batch: Vec<Point>,
    /// The encoded batch, reused from one `emit` call to the next.
    encoded: Vec<u8>,
    /// A failure of `save_state` (which cannot return one), reported by the next call.
    deferred: Option<ConnectorError>,
}

impl HostEmitter {
    fn flush(&mut self) -> Result<(), ConnectorError> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        let result = self.host.emit(&self.batch, &mut self.encoded);
        self.batch.clear();
        result
    }
}

impl Emitter for HostEmitter {
    fn emit(&mut self, point: Point) -> Result<(), ConnectorError> {
        self.batch.push(point);
        if self.batch.len() >= EMIT_BATCH {
            self.flush()?;
        }
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        Ok(())
    }

    fn save_state(&mut self, state: serde_json::Value) {
        // Points emitted before the state must reach the host before it.
        let result = self.flush().and_then(|()| self.host.save_state(&state));
        if let Err(e) = result {
            self.deferred.get_or_insert(e);
        }
    }
}

/// An error on its way out of an exported function (boxed: it is large and rare).
type Failure = Box<WireError>;

fn failure(error: ConnectorError) -> Failure {
    Box::new(WireError::from_connector(&error))
}

/// Runs `body` with panics caught and writes its result (or error) to `out`.
fn guarded(out: *mut TallyBuffer, body: impl FnOnce() -> Result<Vec<u8>, Failure>) -> i32 {
    if out.is_null() {
        return STATUS_ERROR;
    }
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        Err(Box::new(WireError::panic(message)))
    });
    let (status, bytes) = match result {
        Ok(bytes) => (STATUS_OK, bytes),
        Err(error) => (STATUS_ERROR, to_json(&*error)),
    };
    // Writing the out parameter cannot panic, so nothing unwinds past this point.
    // SAFETY: `out` is non-null and points to a buffer the host owns for the call.
    unsafe { *out = TallyBuffer::from_vec(bytes) };
    status
}

/// Decodes the context and state, and runs `call` with a ready [`SourceContext`].
///
/// # Safety
/// `context` must point to `context_len` readable bytes for the call.
unsafe fn with_context<T>(
    host: *const TallyHost,
    context: *const u8,
    context_len: usize,
    call: impl FnOnce(&SourceContext<'_>, HostRef) -> Result<T, ConnectorError>,
) -> Result<T, Failure> {
    let host = HostRef::new(host)?;
    let _current = host.enter();
    // SAFETY: the caller guarantees `context` is valid for `context_len` bytes.
    let bytes = unsafe { borrow_bytes(context, context_len) };
    let wire: WireContext = serde_json::from_slice(bytes).map_err(|e| {
        Box::new(WireError::other(format!(
            "the host's call context is not the documented JSON: {e}"
        )))
    })?;
    let state = host.read_state().map_err(failure)?;
    let http = HostHttpClient { host };
    let ctx = SourceContext {
        source_id: &wire.source_id,
        base_url: wire.base_url.trim_end_matches('/'),
        settings: &wire.settings,
        http: &http,
        state: state.as_ref(),
        max_pages: wire.max_pages,
        now: wire.now,
        since: wire.since,
        lookback_days: wire.lookback_days,
    };
    call(&ctx, host).map_err(failure)
}

/// `describe` for an exported connector.
///
/// # Safety
/// `out` must be NULL or writable, as the ABI requires of the host.
#[doc(hidden)]
pub unsafe fn describe(connector: fn() -> &'static dyn Connector, out: *mut TallyBuffer) -> i32 {
    guarded(out, || Ok(to_json(&connector().describe())))
}

/// `check` for an exported connector.
///
/// # Safety
/// Called by the host per the ABI: `host` valid for the call, `context` readable
/// for `context_len` bytes, `out` writable.
#[doc(hidden)]
pub unsafe fn check(
    connector: fn() -> &'static dyn Connector,
    host: *const TallyHost,
    context: *const u8,
    context_len: usize,
    out: *mut TallyBuffer,
) -> i32 {
    guarded(out, || {
        // SAFETY: forwarded from the caller's guarantees.
        let message = unsafe {
            with_context(host, context, context_len, |ctx, _| {
                block_on(connector().check(ctx))
            })
        }?;
        Ok(to_json(&message))
    })
}

/// `pull` for an exported connector.
///
/// # Safety
/// As for [`check`].
#[doc(hidden)]
pub unsafe fn pull(
    connector: fn() -> &'static dyn Connector,
    host: *const TallyHost,
    context: *const u8,
    context_len: usize,
    out: *mut TallyBuffer,
) -> i32 {
    guarded(out, || {
        // SAFETY: forwarded from the caller's guarantees.
        unsafe {
            with_context(host, context, context_len, |ctx, host| {
                let mut emitter = HostEmitter {
                    host,
                    batch: Vec::with_capacity(EMIT_BATCH),
                    encoded: Vec::new(),
                    deferred: None,
                };
                block_on(connector().pull(ctx, &mut emitter))?;
                emitter.flush()
            })
        }?;
        Ok(Vec::new())
    })
}

/// The plugin's `free_buffer`: releases what `describe`, `check` and `pull` wrote.
///
/// # Safety
/// Only for buffers this plugin returned, each once.
#[doc(hidden)]
pub unsafe extern "C" fn free_buffer(ptr: *mut u8, len: usize) {
    // A panic must not unwind into the host; freeing a boxed slice cannot panic,
    // but the guard costs nothing.
    let _ = catch_unwind(|| {
        // SAFETY: per the ABI the host passes back exactly what we returned, once.
        unsafe { free_boxed(ptr, len) }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn block_on_runs_ready_and_cross_thread_woken_futures() {
        assert_eq!(block_on(async { 41 + 1 }), 42);

        /// Pending on the first poll; a thread sets the flag and wakes the waker.
        struct WokenLater(Arc<std::sync::atomic::AtomicBool>, bool);
        impl Future for WokenLater {
            type Output = u32;
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
                if self.0.load(std::sync::atomic::Ordering::SeqCst) {
                    return Poll::Ready(7);
                }
                if !self.1 {
                    self.1 = true;
                    let (flag, waker) = (Arc::clone(&self.0), cx.waker().clone());
                    std::thread::spawn(move || {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        waker.wake();
                    });
                }
                Poll::Pending
            }
        }
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        assert_eq!(block_on(WokenLater(flag, false)), 7);
    }

    #[test]
    fn a_panic_becomes_an_error_object() {
        let mut out = TallyBuffer::EMPTY;
        let status = guarded(&mut out, || panic!("boom"));
        assert_eq!(status, STATUS_ERROR);
        // SAFETY: `guarded` filled `out` via `from_vec` in this binary.
        let bytes = unsafe { borrow_bytes(out.ptr, out.len) }.to_vec();
        // SAFETY: freed once.
        unsafe { free_buffer(out.ptr, out.len) };
        let e: WireError = serde_json::from_slice(&bytes).unwrap();
        assert_eq!((e.kind.as_str(), e.message.as_str()), ("panic", "boom"));
    }
}
