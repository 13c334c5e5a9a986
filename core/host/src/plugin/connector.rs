//! [`PluginConnector`]: a loaded plugin seen as an ordinary [`Connector`].
//!
//! A check or pull of a plugin is a conversation, driven from the connector's
//! own future on whatever runtime thread polls it: `start` runs the plugin until
//! it has queued an HTTP request it must wait for (`PENDING`); this future then
//! sends the queued requests through `ctx.http` (the source's host client, so
//! pacing, quota, credentials, retries and tracing apply exactly as for a
//! built-in connector), awaits the first response, and calls `resume`; and so
//! on until the plugin finishes. No thread is blocked on the plugin and none on
//! the host, so a plugin costs what a built-in connector costs plus the encoding
//! at the boundary.
//!
//! Points go into the `Emitter` (which validates them) and state into
//! `Emitter::save_state` during `start` and `resume`; logging and reading state
//! are answered there too. If this future is dropped (a timeout or shutdown)
//! while the plugin waits, the plugin's `cancel` releases the call at once.

use super::error::PluginError;
use async_trait::async_trait;
use std::ffi::c_void;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::Poll;
use tally_model::error::snippet;
use tally_model::{
    Connector, ConnectorError, Description, Emitter, HttpClient, HttpError, HttpRequest,
    HttpResponse, SourceContext, StatedQuota,
};
use tally_plugin_sdk::abi::{
    borrow_bytes, free_boxed, CancelFn, FreeFn, ResumeFn, StartFn, TallyBuffer, TallyCall,
    TallyHost, ABI_VERSION, CALL_CHECK, CALL_PULL, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN,
    STATUS_ERROR, STATUS_OK, STATUS_PENDING,
};
use tally_plugin_sdk::points::decode_batch;
use tally_plugin_sdk::wire::{to_json, WireContext, WireError, WireRequestHead, WireResponseHead};

/// The plugin functions a connector calls after loading; plain function pointers
/// into a library that is never unloaded.
#[derive(Clone, Copy)]
pub(crate) struct PluginFns {
    pub(crate) start: StartFn,
    pub(crate) resume: ResumeFn,
    pub(crate) cancel: CancelFn,
    pub(crate) free_buffer: FreeFn,
}

/// A connector living in a dynamic plugin, called through the C ABI.
pub struct PluginConnector {
    path: PathBuf,
    /// `path` as shown in logs and messages, formatted once.
    shown: String,
    sdk_version: String,
    description: Description,
    fns: PluginFns,
}

impl std::fmt::Debug for PluginConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginConnector")
            .field("path", &self.path)
            .field("name", &self.description.name)
            .field("sdk_version", &self.sdk_version)
            .finish_non_exhaustive()
    }
}

impl PluginConnector {
    pub(crate) fn new(
        path: PathBuf,
        sdk_version: String,
        description: Description,
        fns: PluginFns,
    ) -> PluginConnector {
        PluginConnector {
            shown: path.display().to_string(),
            path,
            sdk_version,
            description,
            fns,
        }
    }

    /// The shared library this connector lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SDK version the plugin says it was built with.
    pub fn sdk_version(&self) -> &str {
        &self.sdk_version
    }
}

/// Which plugin function a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Check,
    Pull,
}

impl Function {
    fn name(self) -> &'static str {
        match self {
            Function::Check => "check",
            Function::Pull => "pull",
        }
    }

    fn code(self) -> u32 {
        match self {
            Function::Check => CALL_CHECK,
            Function::Pull => CALL_PULL,
        }
    }
}

/// What `host_data` points to during one call.
struct CallState<'o, 'h> {
    /// Saved state of the source, as JSON, for `read_state`.
    state: Option<Vec<u8>>,
    plugin: String,
    source: String,
    /// The source's host client, which keeps the budgets `report_quota` states.
    http: &'h dyn HttpClient,
    exchange: Mutex<Exchange<'o>>,
}

/// The part of a call's state the callbacks change.
struct Exchange<'o> {
    /// The pull's emitter; `None` during a check.
    out: Option<&'o mut dyn Emitter>,
    /// The first point the emitter refused, to give the typed error back.
    emit_error: Option<ConnectorError>,
    /// The last ticket handed out; tickets start at 1.
    last_ticket: u64,
    /// Requests queued by `http_send`, sent once the plugin returns PENDING.
    queued: Vec<(u64, HttpRequest)>,
    /// Tickets queued or in flight (a connector has one or a few at a time).
    waiting: Vec<u64>,
    /// Finished requests not yet taken.
    finished: Vec<(u64, Result<HttpResponse, HttpError>)>,
}

impl<'o> CallState<'o, '_> {
    fn exchange(&self) -> MutexGuard<'_, Exchange<'o>> {
        self.exchange.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A call the plugin left pending: cancelled through the plugin if it is
/// dropped before the plugin finishes it (the pull timed out or was stopped).
struct PendingCall {
    cancel: CancelFn,
    call: *mut TallyCall,
}

// SAFETY: the pointer is an opaque handle the plugin gave us; the ABI lets the
// host resume or cancel a call from any thread, one function at a time, which
// owning the handle in one future guarantees.
unsafe impl Send for PendingCall {}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if !self.call.is_null() {
            // SAFETY: a pending call of this plugin, released exactly once.
            unsafe { (self.cancel)(self.call) };
        }
    }
}

/// A request in flight: its ticket and the host client's future.
type InFlight<'a> = (
    u64,
    Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'a>>,
);

#[async_trait]
impl Connector for PluginConnector {
    fn describe(&self) -> Description {
        self.description.clone()
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let bytes = self.call(Function::Check, ctx, None).await?;
        serde_json::from_slice::<String>(&bytes).map_err(|e| self.decode_error("check", &e, &bytes))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        self.call(Function::Pull, ctx, Some(out)).await.map(drop)
    }
}

impl PluginConnector {
    fn decode_error(
        &self,
        function: &'static str,
        error: &dyn std::fmt::Display,
        bytes: &[u8],
    ) -> ConnectorError {
        ConnectorError::Other(
            PluginError::Decode {
                path: self.path.clone(),
                function,
                message: error.to_string(),
                snippet: snippet(bytes),
            }
            .to_string(),
        )
    }

    fn failed(&self, function: Function, what: &str) -> ConnectorError {
        ConnectorError::Other(format!(
            "plugin {}: `{}` {what}; this is a bug in the plugin: report it to its author",
            self.path.display(),
            function.name()
        ))
    }

    /// Runs one check or pull through `start` and `resume` (see the module
    /// docs) and returns its success buffer.
    async fn call(
        &self,
        function: Function,
        ctx: &SourceContext<'_>,
        out: Option<&mut dyn Emitter>,
    ) -> Result<Vec<u8>, ConnectorError> {
        let context = to_json(&WireContext {
            source_id: ctx.source_id.to_string(),
            base_url: ctx.base_url.to_string(),
            settings: ctx.settings.clone(),
            max_pages: ctx.max_pages,
            now: ctx.now,
            since: ctx.since,
            lookback_days: ctx.lookback_days,
        });
        let call_state = CallState {
            state: ctx.state.map(to_json),
            plugin: self.shown.clone(),
            source: ctx.source_id.to_string(),
            http: ctx.http,
            exchange: Mutex::new(Exchange {
                out,
                emit_error: None,
                last_ticket: 0,
                queued: Vec::new(),
                waiting: Vec::new(),
                finished: Vec::new(),
            }),
        };
        let fns = self.fns;
        let mut pending = PendingCall {
            cancel: fns.cancel,
            call: std::ptr::null_mut(),
        };
        let mut in_flight: Vec<InFlight<'_>> = Vec::new();
        let (mut status, mut bytes) = invoke(fns, function, &call_state, |host, out| {
            // SAFETY: `start` of a validated table of a never-unloaded library;
            // `host`, `context` and both out parameters are valid for the call.
            unsafe {
                (fns.start)(
                    host,
                    function.code(),
                    context.as_ptr(),
                    context.len(),
                    &mut pending.call,
                    out,
                )
            }
        });
        if status != STATUS_PENDING {
            // Only a pending call is the host's to resume or cancel.
            pending.call = std::ptr::null_mut();
        } else if pending.call.is_null() {
            return Err(self.failed(function, "returned PENDING without a call"));
        }
        while status == STATUS_PENDING {
            let queued = std::mem::take(&mut call_state.exchange().queued);
            in_flight.extend(
                queued
                    .into_iter()
                    .map(|(ticket, request)| (ticket, ctx.http.send(request))),
            );
            if in_flight.is_empty() {
                return Err(self.failed(
                    function,
                    "returned PENDING with no HTTP request in flight, so it would never be resumed",
                ));
            }
            let finished = std::future::poll_fn(|cx| {
                let mut finished = Vec::new();
                in_flight.retain_mut(|(ticket, request)| match request.as_mut().poll(cx) {
                    Poll::Ready(result) => {
                        finished.push((*ticket, result));
                        false
                    }
                    Poll::Pending => true,
                });
                if finished.is_empty() {
                    Poll::Pending
                } else {
                    Poll::Ready(finished)
                }
            })
            .await;
            call_state.exchange().finished.extend(finished);
            let call = pending.call;
            (status, bytes) = invoke(fns, function, &call_state, |host, out| {
                // SAFETY: `resume` of a validated table, with the call the plugin
                // left pending; `host` and `out` are valid for the call.
                unsafe { (fns.resume)(host, call, out) }
            });
        }
        // Finished or failed: the plugin has released the call itself.
        pending.call = std::ptr::null_mut();
        let emit_error = call_state.exchange().emit_error.take();
        self.outcome(function, status, bytes, emit_error)
    }

    /// The result of a finished call from its status and buffer.
    fn outcome(
        &self,
        function: Function,
        status: i32,
        bytes: Vec<u8>,
        emit_error: Option<ConnectorError>,
    ) -> Result<Vec<u8>, ConnectorError> {
        let name = function.name();
        match status {
            STATUS_OK => Ok(bytes),
            STATUS_ERROR => {
                let wire: WireError = serde_json::from_slice(&bytes)
                    .map_err(|e| self.decode_error(name, &e, &bytes))?;
                Err(match wire.kind.as_str() {
                    "panic" => ConnectorError::Other(format!(
                        "plugin {} panicked in `{name}`: {}; this is a bug in the plugin: report it to its author",
                        self.path.display(),
                        wire.message
                    )),
                    // The plugin passed on the host's own rejection of a point: keep the typed error.
                    _ => match emit_error {
                        Some(e) if e.to_string() == wire.message => e,
                        _ => wire.into_connector(),
                    },
                })
            }
            other => Err(self.failed(
                function,
                &format!(
                    "returned status {other}, which plugin ABI {ABI_VERSION} does not define (0 = ok, 1 = error, 2 = pending)"
                ),
            )),
        }
    }
}

/// Calls `start` or `resume` through `run` with a host table for this call,
/// copies the plugin's output and frees it with the plugin's `free_buffer`.
fn invoke(
    fns: PluginFns,
    function: Function,
    call_state: &CallState<'_, '_>,
    run: impl FnOnce(*const TallyHost, *mut TallyBuffer) -> i32,
) -> (i32, Vec<u8>) {
    let pulling = function == Function::Pull;
    let host = TallyHost {
        abi_version: ABI_VERSION,
        struct_size: std::mem::size_of::<TallyHost>() as u32,
        host_data: std::ptr::from_ref(call_state).cast_mut().cast::<c_void>(),
        http_send: Some(host_http_send),
        http_take: Some(host_http_take),
        log: Some(host_log),
        emit: if pulling { Some(host_emit) } else { None },
        read_state: Some(host_read_state),
        save_state: if pulling { Some(host_save_state) } else { None },
        free_buffer: Some(host_free),
        report_quota: Some(host_report_quota),
    };
    let mut out = TallyBuffer::EMPTY;
    let status = run(&host, &mut out);
    // SAFETY: the plugin wrote `out` (or left it empty); it stays valid until freed below.
    let bytes = unsafe { borrow_bytes(out.ptr, out.len) }.to_vec();
    if !out.ptr.is_null() {
        // SAFETY: the buffer came from this plugin and is released exactly once, by it.
        unsafe { (fns.free_buffer)(out.ptr, out.len) };
    }
    (status, bytes)
}

/// The call's state behind `host_data`.
///
/// # Safety
/// `host_data` must be the pointer `invoke` put in the table, during that call.
unsafe fn call_state<'a>(host_data: *mut c_void) -> Result<&'a CallState<'a, 'a>, Box<WireError>> {
    if host_data.is_null() {
        return Err(Box::new(WireError::other(
            "a host callback was called with a NULL host_data",
        )));
    }
    // SAFETY: per the caller, it points to the live `CallState` of this call.
    Ok(unsafe { &*host_data.cast::<CallState<'a, 'a>>() })
}

/// Runs a callback body with panics caught, writes its bytes to `out` and
/// returns its status.
fn respond(
    out: *mut TallyBuffer,
    body: impl FnOnce() -> Result<(i32, Vec<u8>), Box<WireError>>,
) -> i32 {
    if out.is_null() {
        return STATUS_ERROR;
    }
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(Box::new(WireError::other(
            "the host failed while answering the plugin (a bug in Tally)",
        )))
    });
    let (status, bytes) = result.unwrap_or_else(|error| (STATUS_ERROR, to_json(&*error)));
    // SAFETY: `out` is non-null and the plugin passed it for us to fill.
    unsafe { *out = TallyBuffer::from_vec(bytes) };
    status
}

/// [`respond`] for callbacks that either succeed with a buffer or fail.
fn answer(out: *mut TallyBuffer, body: impl FnOnce() -> Result<Vec<u8>, Box<WireError>>) -> i32 {
    respond(out, || body().map(|bytes| (STATUS_OK, bytes)))
}

unsafe extern "C" fn host_http_send(
    host_data: *mut c_void,
    head: *const u8,
    head_len: usize,
    body: *const u8,
    body_len: usize,
    ticket: *mut u64,
    error: *mut TallyBuffer,
) -> i32 {
    answer(error, || {
        // SAFETY: the plugin passes back the `host_data` of this call.
        let state = unsafe { call_state(host_data) }?;
        if ticket.is_null() {
            return Err(Box::new(WireError::other(format!(
                "plugin {} passed a NULL `ticket` to `http_send`",
                state.plugin
            ))));
        }
        // SAFETY: the plugin lends `head_len` bytes at `head` for this callback.
        let head = unsafe { borrow_bytes(head, head_len) };
        let request = serde_json::from_slice::<WireRequestHead>(head).map_err(|e| {
            Box::new(WireError::from_http(&HttpError::Other(format!(
                "plugin {} sent an HTTP request head that is not the documented JSON ({e}): {}",
                state.plugin,
                snippet(head)
            ))))
        })?;
        // SAFETY: the plugin lends `body_len` bytes at `body` for this callback.
        let request = request.with_body(unsafe { borrow_bytes(body, body_len) });
        let mut exchange = state.exchange();
        exchange.last_ticket += 1;
        let number = exchange.last_ticket;
        exchange.queued.push((number, request));
        exchange.waiting.push(number);
        // SAFETY: checked non-null above; the plugin passed it for us to fill.
        unsafe { *ticket = number };
        Ok(Vec::new())
    })
}

unsafe extern "C" fn host_http_take(
    host_data: *mut c_void,
    ticket: u64,
    response: *mut TallyBuffer,
    response_body: *mut TallyBuffer,
) -> i32 {
    if !response_body.is_null() {
        // SAFETY: the plugin passed it for us to fill; it stays empty but on success.
        unsafe { *response_body = TallyBuffer::EMPTY };
    }
    respond(response, || {
        // SAFETY: the plugin passes back the `host_data` of this call.
        let state = unsafe { call_state(host_data) }?;
        if response_body.is_null() {
            return Err(Box::new(WireError::other(format!(
                "plugin {} passed a NULL `response_body` to `http_take`",
                state.plugin
            ))));
        }
        let mut exchange = state.exchange();
        let done = exchange.finished.iter().position(|(t, _)| *t == ticket);
        let Some((_, result)) = done.map(|i| exchange.finished.swap_remove(i)) else {
            return if exchange.waiting.contains(&ticket) {
                Ok((STATUS_PENDING, Vec::new()))
            } else {
                Err(Box::new(WireError::other(format!(
                    "plugin {} asked for HTTP ticket {ticket}, which was never sent or was already taken",
                    state.plugin
                ))))
            };
        };
        exchange.waiting.retain(|t| *t != ticket);
        match result {
            Ok(answer) => {
                let (head, body) = WireResponseHead::split(answer);
                // SAFETY: checked non-null above; the plugin passed it for us to fill.
                unsafe { *response_body = TallyBuffer::from_vec(body) };
                Ok((STATUS_OK, to_json(&head)))
            }
            Err(error) => Err(Box::new(WireError::from_http(&error))),
        }
    })
}

unsafe extern "C" fn host_emit(
    host_data: *mut c_void,
    points: *const u8,
    points_len: usize,
    error: *mut TallyBuffer,
) -> i32 {
    answer(error, || {
        // SAFETY: the plugin passes back the `host_data` of this call.
        let state = unsafe { call_state(host_data) }?;
        // SAFETY: the plugin lends `points_len` bytes at `points` for this callback.
        let bytes = unsafe { borrow_bytes(points, points_len) };
        let points = decode_batch(bytes).map_err(|e| {
            Box::new(WireError::other(format!(
                "plugin {} emitted a point batch that does not decode ({e}); rebuild it against tally-plugin-sdk {} or fix its encoder (plugins/sdk/README.md, \"Point batch\")",
                state.plugin,
                tally_plugin_sdk::SDK_VERSION
            )))
        })?;
        let mut exchange = state.exchange();
        let result = match exchange.out.as_deref_mut() {
            Some(out) => points.into_iter().try_for_each(|p| out.emit(p)),
            None => Err(ConnectorError::Other(
                "points can only be emitted during a pull".into(),
            )),
        };
        match result {
            Ok(()) => Ok(Vec::new()),
            Err(e) => {
                let wire = WireError::from_connector(&e);
                exchange.emit_error.get_or_insert(e);
                Err(Box::new(wire))
            }
        }
    })
}

unsafe extern "C" fn host_read_state(host_data: *mut c_void, out: *mut TallyBuffer) -> i32 {
    answer(out, || {
        // SAFETY: the plugin passes back the `host_data` of this call.
        let state = unsafe { call_state(host_data) }?;
        Ok(state.state.clone().unwrap_or_default())
    })
}

unsafe extern "C" fn host_save_state(
    host_data: *mut c_void,
    saved: *const u8,
    saved_len: usize,
    error: *mut TallyBuffer,
) -> i32 {
    answer(error, || {
        // SAFETY: the plugin passes back the `host_data` of this call.
        let state = unsafe { call_state(host_data) }?;
        // SAFETY: the plugin lends `saved_len` bytes at `saved` for this callback.
        let bytes = unsafe { borrow_bytes(saved, saved_len) };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            Box::new(WireError::other(format!(
                "plugin {} saved state that is not JSON ({e}); it starts with: {}",
                state.plugin,
                snippet(bytes)
            )))
        })?;
        if let Some(out) = state.exchange().out.as_deref_mut() {
            out.save_state(value);
        }
        Ok(Vec::new())
    })
}

unsafe extern "C" fn host_report_quota(
    host_data: *mut c_void,
    stated: *const u8,
    stated_len: usize,
    error: *mut TallyBuffer,
) -> i32 {
    answer(error, || {
        // SAFETY: the plugin passes back the `host_data` of this call.
        let state = unsafe { call_state(host_data) }?;
        // SAFETY: the plugin lends `stated_len` bytes at `stated` for this callback.
        let bytes = unsafe { borrow_bytes(stated, stated_len) };
        let stated: StatedQuota = serde_json::from_slice(bytes).map_err(|e| {
            Box::new(WireError::other(format!(
                "plugin {} reported a stated quota that is not the documented JSON ({e}; plugins/sdk/README.md, \"Stated quota\"): {}",
                state.plugin,
                snippet(bytes)
            )))
        })?;
        state
            .http
            .report_quota(&stated)
            .map(|()| Vec::new())
            .map_err(|e| Box::new(WireError::from_http(&e)))
    })
}

unsafe extern "C" fn host_log(
    host_data: *mut c_void,
    level: u32,
    message: *const u8,
    message_len: usize,
) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the plugin passes back the `host_data` of this call.
        let Ok(state) = (unsafe { call_state(host_data) }) else {
            return;
        };
        // SAFETY: the plugin lends `message_len` bytes at `message` for this callback.
        let text = String::from_utf8_lossy(unsafe { borrow_bytes(message, message_len) });
        let (plugin, source) = (state.plugin.as_str(), state.source.as_str());
        match level {
            LOG_ERROR => tracing::error!(plugin, source, "{text}"),
            LOG_WARN => tracing::warn!(plugin, source, "{text}"),
            LOG_INFO => tracing::info!(plugin, source, "{text}"),
            LOG_DEBUG => tracing::debug!(plugin, source, "{text}"),
            _ => tracing::trace!(plugin, source, "{text}"),
        }
    }));
}

unsafe extern "C" fn host_free(_host_data: *mut c_void, ptr: *mut u8, len: usize) {
    let _ = catch_unwind(|| {
        // SAFETY: per the ABI the plugin gives back a buffer a host callback wrote, once.
        unsafe { free_boxed(ptr, len) }
    });
}
