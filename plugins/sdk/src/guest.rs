//! The plugin side: what [`crate::export_connector!`] expands to calls into here.
//!
//! A check or pull is the connector's future, kept inside the plugin between
//! calls. `start` builds it and polls it once; whenever it waits for a response
//! it has asked the host for, the plugin returns `PENDING` and the host, which
//! does the I/O on its own runtime, calls `resume` once a response is in, to
//! poll again. Every `.await` inside a connector ends in a host request
//! ([`HostHttpClient`]), so no reactor is needed here, no thread ever blocks on
//! the host, and a plugin costs the host no more threads than a built-in
//! connector. A connector that awaited a tokio timer or socket would never be
//! resumed; it does not get a reactor, because connectors never do I/O themselves.
//!
//! Every exported function runs inside `catch_unwind`: a panic in the connector
//! becomes an error object for that call, never an unwind into the host.

use crate::abi::{
    self, borrow_bytes, free_boxed, TallyBuffer, TallyCall, TallyHost, ABI_VERSION, CALL_CHECK,
    CALL_PULL, STATUS_ERROR, STATUS_OK, STATUS_PENDING,
};
use crate::points::encode_batch;
use crate::wire::{to_json, WireContext, WireError, WireRequestHead, WireResponseHead};
use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use tally_model::{
    Connector, ConnectorError, Emitter, HttpClient, HttpError, HttpRequest, HttpResponse, Point,
    SourceContext, StatedQuota,
};

/// Points sent to the host per `emit` call.
const EMIT_BATCH: usize = 256;

/// Polls in a row a future may wake itself (a `yield_now`) before the call is
/// handed back to the host as waiting.
const MAX_SELF_WAKES: u32 = 1000;

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
    /// The host table of the `start` or `resume` running on this thread: the
    /// only one the connector's requests, points and logs may use.
    static CURRENT_HOST: Cell<Option<HostRef>> = const { Cell::new(None) };
}

/// The host table of the running call, or an error saying there is none.
fn current_host() -> Result<HostRef, String> {
    CURRENT_HOST
        .with(Cell::get)
        .ok_or_else(|| "the connector used the host outside a check or pull".to_string())
}

/// Logs through the host (tagged with the source and plugin) while a `check` or
/// `pull` runs on this thread; does nothing otherwise (for example in a static build).
pub fn log(level: Level, message: &str) {
    if let Some(host) = CURRENT_HOST.with(Cell::get) {
        host.log(level.code(), message);
    }
}

/// A checked pointer to the host's table for the duration of one `start` or `resume`.
#[derive(Clone, Copy)]
struct HostRef(*const TallyHost);

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
        if size < abi::HOST_TABLE_BEFORE_REPORT_QUOTA {
            return Err(Box::new(WireError::other(format!(
                "the host table is {size} bytes, smaller than ABI {ABI_VERSION}'s {}",
                abi::HOST_TABLE_BEFORE_REPORT_QUOTA
            ))));
        }
        Ok(HostRef(host))
    }

    /// The host's `report_quota`, when its table is recent enough to have one.
    fn report_quota_fn(&self) -> Option<abi::ReportQuotaFn> {
        let table = self.table();
        if (table.struct_size as usize) < std::mem::size_of::<TallyHost>() {
            return None;
        }
        table.report_quota
    }

    fn table(&self) -> &TallyHost {
        // SAFETY: checked non-null in `new`; a `HostRef` is only used while the
        // `start` or `resume` that received it runs (it is the thread's current host).
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

    /// Queues a request with the host; its ticket collects the response later.
    fn http_send(&self, request: &HttpRequest) -> Result<u64, HttpError> {
        let Some(send) = self.table().http_send else {
            return Err(HttpError::Other(
                "the host provides no HTTP callback".into(),
            ));
        };
        let head = to_json(&WireRequestHead::of(request));
        let body = request.body.as_deref().unwrap_or_default();
        let (mut ticket, mut error) = (0u64, TallyBuffer::EMPTY);
        // SAFETY: `head` and `body` are borrowed for the callback; the out parameters are ours.
        let status = unsafe {
            send(
                self.table().host_data,
                head.as_ptr(),
                head.len(),
                body.as_ptr(),
                body.len(),
                &mut ticket,
                &mut error,
            )
        };
        let error = self.take(error);
        match status {
            STATUS_OK => Ok(ticket),
            _ => Err(decode_error(&error).into_http()),
        }
    }

    /// The response to a queued request, or `None` while the host still runs it.
    fn http_take(&self, ticket: u64) -> Option<Result<HttpResponse, HttpError>> {
        let Some(take) = self.table().http_take else {
            return Some(Err(HttpError::Other(
                "the host provides no HTTP callback".into(),
            )));
        };
        let (mut response, mut response_body) = (TallyBuffer::EMPTY, TallyBuffer::EMPTY);
        // SAFETY: the out buffers are ours to fill.
        let status = unsafe {
            take(
                self.table().host_data,
                ticket,
                &mut response,
                &mut response_body,
            )
        };
        let head = self.take(response);
        let body = self.take(response_body);
        match status {
            STATUS_PENDING => None,
            STATUS_OK => Some(
                serde_json::from_slice::<WireResponseHead>(&head)
                    .map(|head| head.with_body(body))
                    .map_err(|e| {
                        HttpError::Other(format!(
                            "the host's HTTP response head was not the documented JSON: {e}"
                        ))
                    }),
            ),
            _ => Some(Err(decode_error(&head).into_http())),
        }
    }

    fn emit(&self, encoded: &[u8]) -> Result<(), ConnectorError> {
        let Some(emit) = self.table().emit else {
            return Err(ConnectorError::Other(
                "the host does not accept points during this call".into(),
            ));
        };
        let mut out = TallyBuffer::EMPTY;
        // SAFETY: `encoded` is borrowed for the callback; `out` is ours to fill.
        let status = unsafe {
            emit(
                self.table().host_data,
                encoded.as_ptr(),
                encoded.len(),
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

    /// Hands the host a bucket of a stated budget; a host without the
    /// callback keeps no stated budgets, so there is nothing to tell it.
    fn report_quota(&self, stated: &StatedQuota) -> Result<(), HttpError> {
        let Some(report) = self.report_quota_fn() else {
            return Ok(());
        };
        let body = to_json(stated);
        let mut out = TallyBuffer::EMPTY;
        // SAFETY: `body` is borrowed for the callback; `out` is ours to fill.
        let status = unsafe { report(self.table().host_data, body.as_ptr(), body.len(), &mut out) };
        let bytes = self.take(out);
        if status == STATUS_OK {
            Ok(())
        } else {
            Err(decode_error(&bytes).into_http())
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

    /// Makes this table the thread's current host until the guard drops.
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

/// The connector's [`HttpClient`] inside a plugin: every request goes to the
/// host, so the host's limiter, quota, auth and retries apply exactly as they do
/// to a built-in connector.
struct HostHttpClient;

/// One request on its way through the host: queued on its first poll, then
/// collected by ticket once the host has resumed the call.
enum HostRequest {
    Unsent(HttpRequest),
    Sent(u64),
    Finished,
}

impl Future for HostRequest {
    type Output = Result<HttpResponse, HttpError>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let host = match current_host() {
            Ok(host) => host,
            Err(message) => return Poll::Ready(Err(HttpError::Other(message))),
        };
        match std::mem::replace(&mut *self, HostRequest::Finished) {
            HostRequest::Unsent(request) => match host.http_send(&request) {
                Ok(ticket) => {
                    // The host starts it once this call returns PENDING.
                    *self = HostRequest::Sent(ticket);
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e)),
            },
            HostRequest::Sent(ticket) => match host.http_take(ticket) {
                Some(result) => Poll::Ready(result),
                None => {
                    *self = HostRequest::Sent(ticket);
                    Poll::Pending
                }
            },
            HostRequest::Finished => Poll::Ready(Err(HttpError::Other(
                "a host request was polled after it finished".into(),
            ))),
        }
    }
}

/// The boxed future `#[async_trait]` expects from `HttpClient::send`.
type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'a>>;

// Written out rather than with `#[async_trait]`: the SDK needs no macro crate.
impl HttpClient for HostHttpClient {
    fn send<'life0, 'async_trait>(&'life0 self, request: HttpRequest) -> SendFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(HostRequest::Unsent(request))
    }

    fn report_quota(&self, stated: &StatedQuota) -> Result<(), HttpError> {
        current_host()
            .map_err(HttpError::Other)?
            .report_quota(stated)
    }
}

/// The connector's [`Emitter`] inside a plugin: batches points to the host's
/// `emit` callback, which validates each one against the schema.
#[derive(Default)]
struct HostEmitter {
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
        self.encoded.clear();
        encode_batch(&self.batch, &mut self.encoded);
        self.batch.clear();
        current_host()
            .map_err(ConnectorError::Other)?
            .emit(&self.encoded)
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
        let result = self.flush().and_then(|()| {
            current_host()
                .map_err(ConnectorError::Other)?
                .save_state(&state)
        });
        if let Err(e) = result {
            self.deferred.get_or_insert(e);
        }
    }

    fn warn(&mut self, message: &str) {
        log(Level::Warn, message);
    }
}

/// An error on its way out of an exported function (boxed: it is large and rare).
type Failure = Box<WireError>;

fn failure(error: ConnectorError) -> Failure {
    Box::new(WireError::from_connector(&error))
}

/// A call's result: the bytes of a finished call or a failure.
type Outcome = Result<Vec<u8>, ConnectorError>;

/// What a check or pull reads for as long as it runs.
struct CallData {
    wire: WireContext,
    state: Option<serde_json::Value>,
    http: HostHttpClient,
}

/// A check or pull in progress: the connector's future and what it borrows.
/// This is what a `TallyCall` pointer points to on this side of the boundary.
///
/// The future borrows the context, the data and the emitter, so those live in
/// their own heap allocations, held as raw pointers (their addresses never
/// change and nothing else reaches them), and are freed only after the future
/// is dropped.
struct CallTask {
    future: Option<Pin<Box<dyn Future<Output = Outcome>>>>,
    /// The waker every poll of this call uses, and the flag it sets.
    woken: Arc<WakeFlag>,
    waker: Waker,
    context: *mut SourceContext<'static>,
    data: *mut CallData,
    emitter: *mut HostEmitter,
}

impl Drop for CallTask {
    fn drop(&mut self) {
        // The future first: it borrows everything below.
        self.future = None;
        // SAFETY: each pointer came from `Box::into_raw` in `CallTask::new` and is
        // freed once, here, after the only borrower (the future) is gone.
        unsafe {
            drop(Box::from_raw(self.context));
            drop(Box::from_raw(self.emitter));
            drop(Box::from_raw(self.data));
        }
    }
}

impl CallTask {
    /// Decodes the context, reads the state and builds the connector's future.
    fn new(
        connector: &'static dyn Connector,
        host: HostRef,
        function: u32,
        context: &[u8],
    ) -> Result<CallTask, Failure> {
        if function != CALL_CHECK && function != CALL_PULL {
            return Err(Box::new(WireError::other(format!(
                "the host asked for function {function}, which plugin ABI {ABI_VERSION} does not define (1 = check, 2 = pull)"
            ))));
        }
        let wire: WireContext = serde_json::from_slice(context).map_err(|e| {
            Box::new(WireError::other(format!(
                "the host's call context is not the documented JSON: {e}"
            )))
        })?;
        let state = host.read_state().map_err(failure)?;
        let data = Box::into_raw(Box::new(CallData {
            wire,
            state,
            http: HostHttpClient,
        }));
        // SAFETY: `data` stays allocated until `CallTask::drop`, after the future.
        let d: &'static CallData = unsafe { &*data };
        let context = Box::into_raw(Box::new(SourceContext {
            source_id: &d.wire.source_id,
            base_url: d.wire.base_url.trim_end_matches('/'),
            settings: &d.wire.settings,
            http: &d.http,
            state: d.state.as_ref(),
            max_pages: d.wire.max_pages,
            now: d.wire.now,
            since: d.wire.since,
            lookback_days: d.wire.lookback_days,
        }));
        let emitter = Box::into_raw(Box::new(HostEmitter::default()));
        // SAFETY: as for `data`; the future is the only user of either.
        let (ctx, out): (&'static SourceContext<'static>, &'static mut HostEmitter) =
            unsafe { (&*context, &mut *emitter) };
        let future: Pin<Box<dyn Future<Output = Outcome>>> = if function == CALL_CHECK {
            Box::pin(async move { connector.check(ctx).await.map(|m| to_json(&m)) })
        } else {
            Box::pin(async move {
                connector.pull(ctx, out).await?;
                out.flush()?;
                Ok(Vec::new())
            })
        };
        let woken = Arc::new(WakeFlag(AtomicBool::new(false)));
        Ok(CallTask {
            future: Some(future),
            waker: Waker::from(Arc::clone(&woken)),
            woken,
            context,
            data,
            emitter,
        })
    }

    /// Polls the connector's future until it finishes or waits on the host.
    fn poll(&mut self) -> Option<Outcome> {
        let mut cx = Context::from_waker(&self.waker);
        let future = self.future.as_mut()?;
        for _ in 0..MAX_SELF_WAKES {
            if let Poll::Ready(outcome) = future.as_mut().poll(&mut cx) {
                return Some(outcome);
            }
            if !self.woken.0.swap(false, Ordering::AcqRel) {
                return None;
            }
        }
        None
    }
}

/// A waker that only records that it was woken: a future that wakes itself is
/// polled again at once; one waiting on the host is resumed by the host.
struct WakeFlag(AtomicBool);

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// How one `start` or `resume` ended.
enum Step {
    Finished(Vec<u8>),
    Pending,
}

/// Runs `body` with panics caught and writes its result (or error) to `out`.
fn guarded(out: *mut TallyBuffer, body: impl FnOnce() -> Result<Step, Failure>) -> i32 {
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
        Ok(Step::Finished(bytes)) => (STATUS_OK, bytes),
        Ok(Step::Pending) => (STATUS_PENDING, Vec::new()),
        Err(error) => (STATUS_ERROR, to_json(&*error)),
    };
    // Writing the out parameter cannot panic, so nothing unwinds past this point.
    // SAFETY: `out` is non-null and points to a buffer the host owns for the call.
    unsafe { *out = TallyBuffer::from_vec(bytes) };
    status
}

/// Drops a task whose poll panicked or that the host cancelled; a panic in its
/// drop is caught too (the task is gone either way).
fn discard(task: Box<CallTask>) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(task)));
}

/// Polls `task` once as the body of `start` or `resume`. A finished or
/// panicking task is dropped; a waiting one is handed to the host in `*call`.
fn run(mut task: Box<CallTask>, call: *mut *mut TallyCall) -> Result<Step, Failure> {
    match catch_unwind(AssertUnwindSafe(|| task.poll())) {
        Ok(Some(outcome)) => {
            drop(task);
            outcome.map(Step::Finished).map_err(failure)
        }
        Ok(None) => {
            // SAFETY: the host passes a writable `call` (checked non-null by the callers).
            unsafe { *call = Box::into_raw(task).cast::<TallyCall>() };
            Ok(Step::Pending)
        }
        Err(payload) => {
            discard(task);
            std::panic::resume_unwind(payload)
        }
    }
}

/// `describe` for an exported connector.
///
/// # Safety
/// `out` must be NULL or writable, as the ABI requires of the host.
#[doc(hidden)]
pub unsafe fn describe(connector: fn() -> &'static dyn Connector, out: *mut TallyBuffer) -> i32 {
    guarded(out, || Ok(Step::Finished(to_json(&connector().describe()))))
}

/// `start` for an exported connector.
///
/// # Safety
/// Called by the host per the ABI: `host` valid for the call, `context` readable
/// for `context_len` bytes, `call` and `out` writable.
#[doc(hidden)]
pub unsafe fn start(
    connector: fn() -> &'static dyn Connector,
    host: *const TallyHost,
    function: u32,
    context: *const u8,
    context_len: usize,
    call: *mut *mut TallyCall,
    out: *mut TallyBuffer,
) -> i32 {
    guarded(out, || {
        if call.is_null() {
            return Err(Box::new(WireError::other(
                "the host passed a NULL `call` to `start`",
            )));
        }
        let host = HostRef::new(host)?;
        let _current = host.enter();
        // SAFETY: the caller guarantees `context` is valid for `context_len` bytes.
        let context = unsafe { borrow_bytes(context, context_len) };
        let task = CallTask::new(connector(), host, function, context)?;
        run(Box::new(task), call)
    })
}

/// The plugin's `resume`, shared by every connector this SDK exports.
///
/// # Safety
/// Called by the host per the ABI with a call `start` or `resume` left pending.
#[doc(hidden)]
pub unsafe extern "C" fn resume(
    host: *const TallyHost,
    call: *mut TallyCall,
    out: *mut TallyBuffer,
) -> i32 {
    guarded(out, || {
        if call.is_null() {
            return Err(Box::new(WireError::other(
                "the host passed a NULL `call` to `resume`",
            )));
        }
        // SAFETY: a pending call is a `CallTask` this SDK boxed in `run`; the host
        // hands it back exactly once per pending result.
        let task = unsafe { Box::from_raw(call.cast::<CallTask>()) };
        let host = match HostRef::new(host) {
            Ok(host) => host,
            Err(e) => {
                discard(task);
                return Err(e);
            }
        };
        let _current = host.enter();
        let mut again = call;
        run(task, &mut again)
    })
}

/// The plugin's `cancel`: drops a pending call's future without polling it again.
///
/// # Safety
/// Only for a call `start` or `resume` left pending, once.
#[doc(hidden)]
pub unsafe extern "C" fn cancel(call: *mut TallyCall) {
    if !call.is_null() {
        // SAFETY: as in `resume`.
        discard(unsafe { Box::from_raw(call.cast::<CallTask>()) });
    }
}

/// The plugin's `free_buffer`: releases what `describe`, `start` and `resume` wrote.
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

    #[test]
    fn a_request_outside_a_call_is_an_error_not_a_hang() {
        let waker = Waker::from(Arc::new(WakeFlag(AtomicBool::new(false))));
        let mut cx = Context::from_waker(&waker);
        let mut request = HostHttpClient.send(HttpRequest::get("http://127.0.0.1:9/x"));
        match request.as_mut().poll(&mut cx) {
            Poll::Ready(Err(HttpError::Other(message))) => {
                assert!(message.contains("outside a check or pull"), "{message}")
            }
            _ => panic!("expected an error"),
        }
    }
}
