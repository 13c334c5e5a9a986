//! [`PluginConnector`]: a loaded plugin seen as an ordinary [`Connector`].
//!
//! A plugin call is synchronous and may block for as long as the pull takes.
//! Callbacks reach the host in one of two ways ([`Route`]):
//!
//! - **Inline**, on a multi-threaded runtime (the `tally` binary's): the call runs
//!   on the current worker thread under `block_in_place`, and each callback drives
//!   the host's future to completion right there with `Handle::block_on`. The
//!   plugin then costs no thread hand-off per request or batch of points, which is
//!   what keeps a plugin within a few percent of the same connector built in.
//! - **Channel**, on a current-thread runtime (where `block_in_place` is not
//!   allowed): the call runs on tokio's blocking pool, each callback sends a
//!   [`HostCall`] over a channel and blocks on a one-shot reply, and the `pull`
//!   future serves the calls.
//!
//! Either way HTTP goes through `ctx.http` (the source's host client, so pacing,
//! quota, credentials, retries and tracing apply exactly as for a built-in
//! connector), points into the `Emitter` (which validates them), state into
//! `Emitter::save_state`. Logging and reading state are answered on the plugin's
//! thread.
//!
//! On the channel route, if the pull future is dropped (a timeout), the plugin
//! keeps running on its thread until it returns, but every further callback fails
//! at once with "cancelled". On the inline route the future cannot be dropped
//! while the plugin runs, so a cancellation takes effect when the plugin returns.

use super::error::PluginError;
use async_trait::async_trait;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Mutex;
use tally_model::error::snippet;
use tally_model::{
    Connector, ConnectorError, Description, Emitter, HttpError, HttpRequest, HttpResponse, Point,
    SourceContext,
};
use tally_plugin_sdk::abi::{
    borrow_bytes, free_boxed, CallFn, FreeFn, TallyBuffer, TallyHost, ABI_VERSION, LOG_DEBUG,
    LOG_ERROR, LOG_INFO, LOG_WARN, STATUS_ERROR, STATUS_OK,
};
use tally_plugin_sdk::points::decode_batch;
use tally_plugin_sdk::wire::{to_json, WireContext, WireError, WireRequestHead, WireResponseHead};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

/// The plugin functions a connector calls after loading; plain function pointers
/// into a library that is never unloaded.
#[derive(Clone, Copy)]
pub(crate) struct PluginFns {
    pub(crate) check: CallFn,
    pub(crate) pull: CallFn,
    pub(crate) free_buffer: FreeFn,
}

/// A connector living in a dynamic plugin, called through the C ABI.
pub struct PluginConnector {
    path: PathBuf,
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
}

/// A callback's request to the async side, with where to send the answer.
enum HostCall {
    Http(HttpRequest, SyncSender<Result<HttpResponse, HttpError>>),
    Emit(Vec<Point>, SyncSender<Result<(), ConnectorError>>),
    SaveState(serde_json::Value, SyncSender<()>),
}

/// How a call's callbacks reach the host's async side.
enum Route<'a, 'o> {
    /// The plugin runs on the blocking pool; the `call` future serves callbacks.
    Channel(UnboundedSender<HostCall>),
    /// The plugin runs on this worker thread; callbacks block on host futures here.
    Inline(Inline<'a, 'o>),
}

/// What an inline call's callbacks use directly.
struct Inline<'a, 'o> {
    handle: Handle,
    ctx: &'a SourceContext<'a>,
    out: Mutex<Option<&'o mut dyn Emitter>>,
    emit_error: Mutex<Option<ConnectorError>>,
}

/// What `host_data` points to during one call.
struct CallState<'a, 'o> {
    route: Route<'a, 'o>,
    state: Option<Vec<u8>>,
    plugin: String,
    source: String,
}

impl CallState<'_, '_> {
    /// Sends one HTTP request through the source's host client.
    fn http(
        &self,
        request: HttpRequest,
    ) -> Result<Result<HttpResponse, HttpError>, Box<WireError>> {
        match &self.route {
            Route::Channel(calls) => ask(calls, |reply| HostCall::Http(request, reply)),
            Route::Inline(inline) => Ok(inline.handle.block_on(inline.ctx.http.send(request))),
        }
    }

    /// Hands points to the pull's emitter, which validates them.
    fn emit(&self, points: Vec<Point>) -> Result<Result<(), ConnectorError>, Box<WireError>> {
        match &self.route {
            Route::Channel(calls) => ask(calls, |reply| HostCall::Emit(points, reply)),
            Route::Inline(inline) => {
                let mut out = inline.out.lock().unwrap_or_else(|e| e.into_inner());
                let result = match out.as_deref_mut() {
                    Some(out) => points.into_iter().try_for_each(|p| out.emit(p)),
                    None => Err(ConnectorError::Other(
                        "points can only be emitted during a pull".into(),
                    )),
                };
                if let Err(e) = &result {
                    let mut first = inline.emit_error.lock().unwrap_or_else(|e| e.into_inner());
                    first.get_or_insert_with(|| e.clone());
                }
                Ok(result)
            }
        }
    }

    /// Replaces the state saved with the pull's points.
    fn save_state(&self, value: serde_json::Value) -> Result<(), Box<WireError>> {
        match &self.route {
            Route::Channel(calls) => ask(calls, |reply| HostCall::SaveState(value, reply)),
            Route::Inline(inline) => {
                let mut out = inline.out.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(out) = out.as_deref_mut() {
                    out.save_state(value);
                }
                Ok(())
            }
        }
    }
}

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

    /// The channel route: runs the call on the blocking pool and serves its
    /// callbacks from this future until it returns.
    async fn call_on_blocking_pool(
        &self,
        function: Function,
        ctx: &SourceContext<'_>,
        mut out: Option<&mut dyn Emitter>,
        state: Option<Vec<u8>>,
        plugin: String,
        context: Vec<u8>,
    ) -> (
        Result<(i32, Vec<u8>), tokio::task::JoinError>,
        Option<ConnectorError>,
    ) {
        let (calls, mut requests) = unbounded_channel();
        let call_state = CallState {
            route: Route::Channel(calls),
            state,
            plugin,
            source: ctx.source_id.to_string(),
        };
        let fns = self.fns;
        let mut job =
            tokio::task::spawn_blocking(move || run_call(fns, function, &call_state, context));

        let mut emit_error: Option<ConnectorError> = None;
        let joined = loop {
            tokio::select! {
                biased;
                Some(call) = requests.recv() => match call {
                    HostCall::Http(request, reply) => {
                        let _ = reply.send(ctx.http.send(request).await);
                    }
                    HostCall::Emit(points, reply) => {
                        let result = match out.as_deref_mut() {
                            Some(out) => points.into_iter().try_for_each(|p| out.emit(p)),
                            None => Err(ConnectorError::Other("points can only be emitted during a pull".into())),
                        };
                        if let Err(e) = &result {
                            emit_error.get_or_insert_with(|| e.clone());
                        }
                        let _ = reply.send(result);
                    }
                    HostCall::SaveState(state, reply) => {
                        if let Some(out) = out.as_deref_mut() {
                            out.save_state(state);
                        }
                        let _ = reply.send(());
                    }
                },
                joined = &mut job => break joined,
            }
        };
        (joined, emit_error)
    }

    /// Runs one plugin function (inline or on the blocking pool, see the module
    /// docs) and serves its callbacks until it returns; returns its success buffer.
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
        let state = ctx.state.map(to_json);
        let plugin = self.path.display().to_string();
        let fns = self.fns;
        let inline = Handle::try_current()
            .ok()
            .filter(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
        let (joined, emit_error) = match inline {
            Some(handle) => {
                let call_state = CallState {
                    route: Route::Inline(Inline {
                        handle,
                        ctx,
                        out: Mutex::new(out),
                        emit_error: Mutex::new(None),
                    }),
                    state,
                    plugin,
                    source: ctx.source_id.to_string(),
                };
                let joined = tokio::task::block_in_place(|| {
                    catch_unwind(AssertUnwindSafe(|| {
                        run_call(fns, function, &call_state, context)
                    }))
                })
                .map_err(|_| "the host panicked while calling the plugin".to_string());
                let emit_error = match call_state.route {
                    Route::Inline(inline) => inline
                        .emit_error
                        .into_inner()
                        .unwrap_or_else(|e| e.into_inner()),
                    Route::Channel(_) => None,
                };
                (joined, emit_error)
            }
            None => {
                let (joined, emit_error) = self
                    .call_on_blocking_pool(function, ctx, out, state, plugin, context)
                    .await;
                (joined.map_err(|e| e.to_string()), emit_error)
            }
        };
        let name = function.name();
        let (status, bytes) = joined.map_err(|e| {
            ConnectorError::Other(format!(
                "plugin {}: the thread running `{name}` failed: {e}",
                self.path.display()
            ))
        })?;
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
            other => Err(ConnectorError::Other(format!(
                "plugin {}: `{name}` returned status {other}, which plugin ABI {ABI_VERSION} does not define (0 = ok, 1 = error); this is a bug in the plugin",
                self.path.display()
            ))),
        }
    }
}

/// The blocking half of a call: builds the host table, calls the plugin, copies
/// its output and frees it with the plugin's `free_buffer`.
fn run_call(
    fns: PluginFns,
    function: Function,
    call_state: &CallState<'_, '_>,
    context: Vec<u8>,
) -> (i32, Vec<u8>) {
    let pulling = function == Function::Pull;
    let host = TallyHost {
        abi_version: ABI_VERSION,
        struct_size: std::mem::size_of::<TallyHost>() as u32,
        host_data: std::ptr::from_ref(call_state).cast_mut().cast::<c_void>(),
        http: Some(host_http),
        log: Some(host_log),
        emit: if pulling { Some(host_emit) } else { None },
        read_state: Some(host_read_state),
        save_state: if pulling { Some(host_save_state) } else { None },
        free_buffer: Some(host_free),
    };
    let entry = match function {
        Function::Check => fns.check,
        Function::Pull => fns.pull,
    };
    let mut out = TallyBuffer::EMPTY;
    // SAFETY: `entry` comes from a validated table of a library that is never
    // unloaded; `host`, `call_state` and `context` outlive the call; `out` is a
    // valid place for the plugin to write its result.
    let status = unsafe { entry(&host, context.as_ptr(), context.len(), &mut out) };
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
/// `host_data` must be the pointer `run_call` put in the table, during that call.
unsafe fn call_state<'a>(host_data: *mut c_void) -> Result<&'a CallState<'a, 'a>, Box<WireError>> {
    if host_data.is_null() {
        return Err(Box::new(WireError::other(
            "a host callback was called with a NULL host_data",
        )));
    }
    // SAFETY: per the caller, it points to the live `CallState` of this call.
    Ok(unsafe { &*host_data.cast::<CallState<'a, 'a>>() })
}

/// Runs a callback body with panics caught and writes its result to `out`.
fn answer(out: *mut TallyBuffer, body: impl FnOnce() -> Result<Vec<u8>, Box<WireError>>) -> i32 {
    if out.is_null() {
        return STATUS_ERROR;
    }
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(Box::new(WireError::other(
            "the host failed while answering the plugin (a bug in Tally)",
        )))
    });
    let (status, bytes) = match result {
        Ok(bytes) => (STATUS_OK, bytes),
        Err(error) => (STATUS_ERROR, to_json(&*error)),
    };
    // SAFETY: `out` is non-null and the plugin passed it for us to fill.
    unsafe { *out = TallyBuffer::from_vec(bytes) };
    status
}

fn cancelled() -> Box<WireError> {
    Box::new(WireError::other(
        "the host stopped this call (the pull was cancelled or timed out)",
    ))
}

/// Sends a call to the async side and waits for its answer.
fn ask<T>(
    calls: &UnboundedSender<HostCall>,
    make: impl FnOnce(SyncSender<T>) -> HostCall,
) -> Result<T, Box<WireError>> {
    let (reply, answer) = sync_channel(1);
    calls.send(make(reply)).map_err(|_| cancelled())?;
    answer.recv().map_err(|_| cancelled())
}

unsafe extern "C" fn host_http(
    host_data: *mut c_void,
    head: *const u8,
    head_len: usize,
    body: *const u8,
    body_len: usize,
    response: *mut TallyBuffer,
    response_body: *mut TallyBuffer,
) -> i32 {
    answer(response, || {
        // SAFETY: the plugin passes back the `host_data` of this call.
        let state = unsafe { call_state(host_data) }?;
        if response_body.is_null() {
            return Err(Box::new(WireError::other(format!(
                "plugin {} passed a NULL `response_body` to `http`",
                state.plugin
            ))));
        }
        // SAFETY: non-null; the plugin passed it for us to fill. It stays empty on error.
        unsafe { *response_body = TallyBuffer::EMPTY };
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
        match state.http(request)? {
            Ok(answer) => {
                let (head, body) = WireResponseHead::split(answer);
                // SAFETY: checked non-null above; the plugin passed it for us to fill.
                unsafe { *response_body = TallyBuffer::from_vec(body) };
                Ok(to_json(&head))
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
        match state.emit(points)? {
            Ok(()) => Ok(Vec::new()),
            Err(e) => Err(Box::new(WireError::from_connector(&e))),
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
        state.save_state(value)?;
        Ok(Vec::new())
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
