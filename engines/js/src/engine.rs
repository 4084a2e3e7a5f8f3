//! The target-independent engine: runtime set-up, compiling a service into a
//! bundle, loading a bundle and dispatching requests through a small event
//! loop (microtasks, timers, `ctx.waitUntil`).

use std::cell::RefCell;
use std::rc::Rc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::promise::PromiseState;
use rquickjs::{
    Context, Ctx, Exception, Function, Module, Object, Persistent, Promise, Runtime, TypedArray,
    Value,
};

use crate::bundle::{self, Bundle, Kind, Style};
use crate::host_natives;
use crate::native::{self, Rng};

/// The prelude: the platform's built-in APIs, evaluated once (at snapshot
/// time on the node). Each file is the body of a function receiving the
/// engine's internal object `M` (shared between the files, never visible to
/// services).
const PRELUDE: &[(&str, &str)] = &[
    ("mote:core.js", include_str!("js/core.js")),
    ("mote:inspect.js", include_str!("js/inspect.js")),
    ("mote:encoding.js", include_str!("js/encoding.js")),
    ("mote:events.js", include_str!("js/events.js")),
    ("mote:url.js", include_str!("js/url.js")),
    ("mote:blob.js", include_str!("js/blob.js")),
    ("mote:fetch.js", include_str!("js/fetch.js")),
    ("mote:bindings.js", include_str!("js/bindings.js")),
    ("mote:crypto.js", include_str!("js/crypto.js")),
    ("mote:timers.js", include_str!("js/timers.js")),
    ("mote:node/buffer.js", include_str!("js/node/buffer.js")),
    ("mote:node/misc.js", include_str!("js/node/misc.js")),
    ("mote:node/crypto.js", include_str!("js/node/crypto.js")),
    ("mote:modules.js", include_str!("js/modules.js")),
    ("mote:dispatch.js", include_str!("js/dispatch.js")),
];

/// QuickJS's stack limit on wasm32: how far below the stack top (taken at
/// each entry into the engine) the shadow stack may grow before QuickJS
/// throws `RangeError: Maximum call stack size exceeded`. It is low enough
/// that, for the interpreter's deepest frames, the RangeError comes before
/// both the shadow stack (1 MiB, in linear memory) and Wasmtime's native
/// stack (the node's `max_wasm_stack`) run out; see "Deep recursion" in the
/// README for the calibration. Needs the patched rquickjs-sys
/// (`vendor/rquickjs-sys/MOTE-PATCH.md`): upstream QuickJS-ng ignores the
/// limit on wasi. Natively QuickJS keeps its default (1 MiB).
#[cfg(target_arch = "wasm32")]
pub const WASM_STACK_LIMIT: usize = 256 << 10;

/// Measure QuickJS's stack limit from here: called at each entry into the
/// engine (compile, load, handle, finish), because the runtime was created
/// at snapshot time, on another call's stack.
fn update_stack_top(ctx: &Ctx<'_>) {
    // SAFETY: the context is alive; this only reads the stack pointer.
    unsafe { rquickjs::qjs::JS_UpdateStackTop(rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr())) }
}

/// What the engine needs from its surroundings. On wasm every call goes to
/// WASI at call time (nothing is captured into the snapshot); natively the
/// tests provide their own.
pub trait Host {
    /// One console line (`stderr` for warn/error/trace).
    fn print(&self, stderr: bool, line: &str);
    /// Fill `buf` with cryptographically secure random bytes.
    fn random(&self, buf: &mut [u8]);
    /// A monotonic clock, in milliseconds.
    fn now_ms(&self) -> f64;
    /// Block for `ms` milliseconds (the event loop has nothing else to do).
    fn sleep_ms(&self, ms: f64);
    /// The service's environment variables.
    fn env(&self) -> Vec<(String, String)>;
    /// The service's KV and service bindings (variables and secrets are in
    /// [`Host::env`]).
    fn bindings(&self) -> Vec<(String, BindingKind)> {
        Vec::new()
    }
    /// Start an HTTP request (`fetch`, service bindings); its id. Errors
    /// are messages for the service's author.
    fn fetch_start(&self, request: HttpRequest) -> Result<u32, String> {
        Err(format!("fetch({:?}): no network in this host", request.url))
    }
    /// Wait until at least one of the requests `ids` has its response (or
    /// failed), or `timeout_ms` has passed (`None`: no limit); the ids that
    /// are ready.
    fn fetch_wait(&self, ids: &[u32], timeout_ms: Option<f64>) -> Vec<u32> {
        let _ = timeout_ms;
        ids.to_vec()
    }
    /// The whole response of request `id` (waiting for it if need be).
    fn fetch_finish(&self, id: u32) -> Result<HttpResponse, String> {
        Err(format!("no request {id}"))
    }
    /// KV operations on the namespace bound as `binding`.
    fn kv(&self, binding: &str, op: KvOp) -> Result<KvReply, String> {
        let _ = op;
        Err(format!("no KV binding named {binding:?}"))
    }
}

/// What a binding is, as the handler's `env` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingKind {
    /// A KV namespace: `env.NAME.get(...)`.
    Kv,
    /// Another service: `env.NAME.fetch(...)`.
    Service,
}

/// A KV operation (the Workers KV API, see `js/bindings.js`).
#[derive(Debug)]
pub enum KvOp {
    Get {
        key: String,
    },
    Put {
        key: String,
        value: Vec<u8>,
        expiration: Option<u64>,
        expiration_ttl: Option<u64>,
        metadata: Option<String>,
    },
    Delete {
        key: String,
    },
    List {
        prefix: String,
        limit: u32,
        cursor: Option<String>,
    },
}

/// The answer to a [`KvOp`].
#[derive(Debug)]
pub enum KvReply {
    /// `Get`: the value, its metadata (JSON text) and expiration (unix seconds).
    Entry(Option<(Vec<u8>, Option<String>, Option<u64>)>),
    /// `Put`, `Delete`.
    Done,
    /// `List`: (name, expiration, metadata) per key, and the next cursor.
    Keys(Vec<(String, Option<u64>, Option<String>)>, Option<String>),
}

/// A request as the engine receives it from the host.
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// A response as the engine hands it back to the host.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

type Shared = Rc<RefCell<Option<Bundle>>>;

struct BundleResolver(Shared);

impl Resolver for BundleResolver {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        let b = self.0.borrow();
        let b = b.as_ref();
        let found = match b.and_then(|b| b.modules.get(base)) {
            Some(m) => m.deps.get(&format!("i:{name}")).cloned(),
            // The engine's own import of the entry module.
            None => b
                .filter(|b| b.modules.contains_key(name))
                .map(|_| name.to_string()),
        };
        found.ok_or_else(|| {
            Exception::throw_type(
                ctx,
                &format!("Cannot find module '{name}' imported from {base}"),
            )
        })
    }
}

struct BundleLoader(Shared);

impl Loader for BundleLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        let code = {
            let b = self.0.borrow();
            let b = b.as_ref();
            match b.and_then(|b| b.modules.get(name).map(|m| (b, m))) {
                Some((b, m)) if m.kind == Kind::Esm => b.bytes[m.code.clone()].to_vec(),
                _ => {
                    return Err(Exception::throw_type(
                        ctx,
                        &format!("Cannot find module '{name}'"),
                    ));
                }
            }
        };
        // SAFETY: the bytecode was produced by `compile` of this engine
        // build (the bundle's versioned magic was checked).
        unsafe { Module::load(ctx.clone(), &code) }
    }
}

/// Evaluate global-code bytecode (a script or a CommonJS function).
fn eval_bytecode<'js>(ctx: &Ctx<'js>, code: &[u8]) -> rquickjs::Result<Value<'js>> {
    use rquickjs::qjs;
    unsafe {
        let raw = ctx.as_raw().as_ptr();
        let f = qjs::JS_ReadObject(
            raw,
            code.as_ptr(),
            code.len() as _,
            qjs::JS_READ_OBJ_BYTECODE as i32,
        );
        if qjs::JS_IsException(f) {
            return Err(rquickjs::Error::Exception);
        }
        let v = Value::from_raw(ctx.clone(), qjs::JS_EvalFunction(raw, f));
        if v.is_exception() {
            return Err(rquickjs::Error::Exception);
        }
        Ok(v)
    }
}

pub struct Engine {
    // Field order matters: the persistent values must go before the
    // context and runtime they live in.
    internal: Persistent<Object<'static>>,
    ctx: Context,
    _rt: Runtime,
    host: Rc<dyn Host>,
    rng: Rc<Rng>,
    bundle: Shared,
    loaded: bool,
    rejections: Rejections,
}

/// Rejected promises with no handler yet, and their reasons as text.
type Rejections = Rc<RefCell<Vec<(Persistent<Value<'static>>, String)>>>;

impl Engine {
    /// A runtime and context with the platform's built-in APIs evaluated.
    pub fn new(host: impl Host + 'static) -> Engine {
        let host: Rc<dyn Host> = Rc::new(host);
        let rt = Runtime::new().expect("QuickJS runtime");
        #[cfg(target_arch = "wasm32")]
        rt.set_max_stack_size(WASM_STACK_LIMIT);
        // Rejections without a handler: kept until a handler is attached,
        // and those still unhandled when a request's work settles go to the
        // log (`report_rejections`), as Node and workerd report them.
        let rejections: Rejections = Rc::default();
        let tracked = rejections.clone();
        rt.set_host_promise_rejection_tracker(Some(Box::new(
            move |ctx, promise, reason, handled| {
                let mut list = tracked.borrow_mut();
                if handled {
                    list.retain(|(p, _)| p.clone().restore(&ctx).ok().as_ref() != Some(&promise));
                } else {
                    let text = describe_value(&ctx, reason);
                    list.push((Persistent::save(&ctx, promise), text));
                }
            },
        )));
        let shared: Shared = Rc::new(RefCell::new(None));
        rt.set_loader(BundleResolver(shared.clone()), BundleLoader(shared.clone()));
        let ctx = Context::full(&rt).expect("QuickJS context");
        let rng = Rc::new(Rng(std::cell::Cell::new((1, 2))));
        let internal = ctx.with(|ctx| {
            let m = Object::new(ctx.clone()).unwrap();
            let native_obj = Object::new(ctx.clone()).unwrap();
            native::install(&ctx, &native_obj, host.clone(), rng.clone()).unwrap();
            host_natives::install(&ctx, &native_obj, host.clone()).unwrap();
            install_module_natives(&ctx, &native_obj, shared.clone()).unwrap();
            m.set("native", native_obj).unwrap();
            for (name, src) in PRELUDE {
                let wrapped = format!("(function (M) {{'use strict';{src}\n}})");
                let f: Function = ctx
                    .eval_with_options(wrapped, {
                        let mut o = rquickjs::context::EvalOptions::default();
                        o.global = true;
                        o.filename = Some((*name).into());
                        o
                    })
                    .map_err(|e| describe(&ctx, e))
                    .unwrap_or_else(|e| panic!("the engine's prelude ({name}): {e}"));
                f.call::<_, ()>((m.clone(),))
                    .map_err(|e| describe(&ctx, e))
                    .unwrap_or_else(|e| panic!("the engine's prelude ({name}): {e}"));
            }
            Persistent::save(&ctx, m)
        });
        Engine {
            internal,
            ctx,
            _rt: rt,
            host,
            rng,
            bundle: shared,
            loaded: false,
            rejections,
        }
    }

    /// Stop tracking `promise`'s rejection (the caller reports it).
    fn forget_rejection<'js>(&self, ctx: &Ctx<'js>, promise: &Value<'js>) {
        self.rejections
            .borrow_mut()
            .retain(|(p, _)| p.clone().restore(ctx).ok().as_ref() != Some(promise));
    }

    /// Log the promise rejections nobody handled, and forget them.
    fn report_rejections(&self) {
        for (_, text) in self.rejections.take() {
            self.host
                .print(true, &format!("Uncaught (in promise) {text}"));
        }
    }

    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Compile a service into a bundle. `files` are the app's files as
    /// `(path relative to the app root, contents)`.
    pub fn compile(&self, entry: &str, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
        let exports = |name: &str| -> Vec<String> {
            self.ctx.with(|ctx| {
                update_stack_top(&ctx);
                let m: Object = self.internal.clone().restore(&ctx).unwrap();
                let f: Function = m.get("builtinExports").unwrap();
                f.call((name,)).unwrap_or_default()
            })
        };
        crate::compile::compile(entry, files, &exports)
    }

    /// Load a bundle made by [`Engine::compile`]: evaluate the service's
    /// top-level code and find its handler.
    pub fn load(&mut self, bundle_bytes: Vec<u8>) -> Result<(), String> {
        let b = bundle::read(bundle_bytes)?;
        let (style, entry) = (b.style, b.entry.clone());
        let script = match style {
            Style::ServiceWorker => {
                let m = b.modules.get(&entry).ok_or("the bundle has no entry")?;
                Some(b.bytes[m.code.clone()].to_vec())
            }
            _ => None,
        };
        *self.bundle.borrow_mut() = Some(b);
        self.reseed();
        self.ctx.with(|ctx| {
            let err = |e| describe(&ctx, e);
            let m = self.begin_request(&ctx)?;
            let set: Function = m.get("setHandler").map_err(err)?;
            match style {
                Style::Module => {
                    let module = Module::import(&ctx, entry.clone()).map_err(err)?;
                    self.run_until(&ctx, &module)?;
                    let ns: Object = module.finish().map_err(err)?;
                    set.call::<_, ()>(("module", ns)).map_err(err)?;
                }
                Style::CommonJs => {
                    let require: Function = m.get("requireByName").map_err(err)?;
                    let exports: Value = require.call((entry.clone(),)).map_err(err)?;
                    set.call::<_, ()>(("commonjs", exports)).map_err(err)?;
                }
                Style::ServiceWorker => {
                    eval_bytecode(&ctx, script.as_deref().unwrap_or_default()).map_err(err)?;
                    set.call::<_, ()>(("service-worker",)).map_err(err)?;
                }
            }
            Ok::<_, String>(())
        })?;
        self.loaded = true;
        Ok(())
    }

    /// Enter the engine for a request: the stack top measured here, the
    /// per-request state reset (`beginRequest`: timers, clock, env). Returns
    /// the prelude's internal module.
    fn begin_request<'js>(&self, ctx: &Ctx<'js>) -> Result<Object<'js>, String> {
        update_stack_top(ctx);
        let err = |e| describe(ctx, e);
        let m: Object = self.internal.clone().restore(ctx).map_err(err)?;
        let begin: Function = m.get("beginRequest").map_err(err)?;
        begin.call::<_, ()>(()).map_err(err)?;
        Ok(m)
    }

    fn reseed(&self) {
        let mut seed = [0u8; 16];
        self.host.random(&mut seed);
        let a = u64::from_le_bytes(seed[..8].try_into().unwrap()) | 1;
        let b = u64::from_le_bytes(seed[8..].try_into().unwrap());
        self.rng.0.set((a, b));
    }

    /// Run microtasks and timers until `p` settles. Errors when nothing is
    /// left that could settle it.
    fn run_until<'js>(&self, ctx: &Ctx<'js>, p: &Promise<'js>) -> Result<(), String> {
        let m: Object = self
            .internal
            .clone()
            .restore(ctx)
            .map_err(|e| describe(ctx, e))?;
        let next: Function = m.get("nextTimer").map_err(|e| describe(ctx, e))?;
        let fire: Function = m.get("runTimers").map_err(|e| describe(ctx, e))?;
        let inflight: Function = m.get("inflight").map_err(|e| describe(ctx, e))?;
        let fetched: Function = m.get("fetchDone").map_err(|e| describe(ctx, e))?;
        loop {
            while ctx.execute_pending_job() {}
            if p.state() != PromiseState::Pending {
                return Ok(());
            }
            let at: Option<f64> = next.call(()).map_err(|e| describe(ctx, e))?;
            let ids: Vec<u32> = inflight.call(()).map_err(|e| describe(ctx, e))?;
            if !ids.is_empty() {
                // Requests in flight: wait for the first response, or the
                // next timer, whichever comes first.
                let timeout = at.map(|at| (at - self.host.now_ms()).max(0.0));
                for id in self.host.fetch_wait(&ids, timeout) {
                    fetched.call::<_, ()>((id,)).map_err(|e| describe(ctx, e))?;
                }
                if at.is_some_and(|at| at <= self.host.now_ms()) {
                    fire.call::<_, ()>(()).map_err(|e| describe(ctx, e))?;
                }
                continue;
            }
            let Some(at) = at else {
                return Err("the service's promise can never settle: no timer or \
                            other work is pending (a missing resolve()?)"
                    .into());
            };
            let now = self.host.now_ms();
            if at > now {
                self.host.sleep_ms(at - now);
            }
            fire.call::<_, ()>(()).map_err(|e| describe(ctx, e))?;
        }
    }

    /// Run one request through the loaded service and return its response.
    /// Call [`Engine::finish`] after sending it: that waits for
    /// `ctx.waitUntil` work.
    pub fn handle(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        self.reseed();
        self.ctx.with(|ctx| {
            let err = |e| describe(&ctx, e);
            let m = self.begin_request(&ctx)?;
            let mut headers = Vec::with_capacity(request.headers.len() * 2);
            for (k, v) in request.headers {
                headers.push(k);
                headers.push(host_natives::header_text(v));
            }
            let body = TypedArray::<u8>::new(ctx.clone(), request.body).map_err(err)?;
            let dispatch: Function = m.get("dispatch").map_err(err)?;
            let p: Promise = dispatch
                .call((request.method, request.url, headers, body))
                .map_err(err)?;
            self.run_until(&ctx, &p)?;
            // The handler's own rejection is reported as the request's error.
            self.forget_rejection(&ctx, p.as_value());
            self.report_rejections();
            let r: rquickjs::Array = p.finish().map_err(err)?;
            let status: u16 = r.get(0).map_err(err)?;
            let flat: Vec<String> = r.get(1).map_err(err)?;
            let headers = flat
                .chunks(2)
                .map(|kv| (kv[0].clone(), host_natives::header_bytes(&kv[1])))
                .collect();
            let body: Option<TypedArray<u8>> = r.get(2).map_err(err)?;
            Ok(HttpResponse {
                status,
                headers,
                body: body.map(|b| native::bytes(&b)).unwrap_or_default(),
            })
        })
    }

    /// After the response went out: wait for the promises given to
    /// `ctx.waitUntil` (and what they wait for), then drop pending timers.
    /// Rejections are logged to stderr.
    pub fn finish(&self) {
        self.ctx.with(|ctx| {
            update_stack_top(&ctx);
            let Ok(m) = self.internal.clone().restore(&ctx) else {
                return;
            };
            let m: Object = m;
            let settle = || -> Result<(), String> {
                let f: Function = m.get("background").map_err(|e| describe(&ctx, e))?;
                let p: Promise = f.call(()).map_err(|e| describe(&ctx, e))?;
                let settled = self.run_until(&ctx, &p);
                self.forget_rejection(&ctx, p.as_value());
                settled
            };
            if let Err(e) = settle() {
                self.host.print(true, &format!("ctx.waitUntil: {e}"));
            }
            if let Ok(end) = m.get::<_, Function>("endRequest") {
                let _ = end.call::<_, ()>(());
            }
            while ctx.execute_pending_job() {}
            self.report_rejections();
        })
    }
}

/// Natives for CommonJS: resolving a `require` by the table compiled into
/// the bundle, and turning a module's bytecode into its wrapper function.
fn install_module_natives<'js>(
    ctx: &Ctx<'js>,
    native_obj: &Object<'js>,
    shared: Shared,
) -> rquickjs::Result<()> {
    let s = shared.clone();
    native_obj.set(
        "resolveRequire",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, from: String, spec: String| -> rquickjs::Result<String> {
                let b = s.borrow();
                b.as_ref()
                    .and_then(|b| b.modules.get(&from))
                    .and_then(|m| m.deps.get(&format!("r:{spec}")))
                    .cloned()
                    .ok_or_else(|| {
                        Exception::throw_message(
                            &ctx,
                            &format!(
                                "Cannot find module '{spec}' required from {from} \
                                 (only require() calls with a literal string are bundled)"
                            ),
                        )
                    })
            },
        )?,
    )?;
    let s = shared;
    native_obj.set(
        "loadCommonJs",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String| -> rquickjs::Result<Value<'js>> {
                let code = {
                    let b = s.borrow();
                    match b
                        .as_ref()
                        .and_then(|b| b.modules.get(&name).map(|m| (b, m)))
                    {
                        Some((b, m)) if m.kind == Kind::Cjs => b.bytes[m.code.clone()].to_vec(),
                        _ => {
                            return Err(Exception::throw_message(
                                &ctx,
                                &format!("Cannot find module '{name}'"),
                            ));
                        }
                    }
                };
                eval_bytecode(&ctx, &code)
            },
        )?,
    )?;
    Ok(())
}

/// A JavaScript exception (or engine error) as text: message and stack.
pub fn describe(ctx: &Ctx<'_>, e: rquickjs::Error) -> String {
    if let rquickjs::Error::Exception = e {
        let v: Value = ctx.catch();
        return describe_value(ctx, v);
    }
    e.to_string()
}

fn describe_value<'js>(ctx: &Ctx<'js>, v: Value<'js>) -> String {
    if let Some(ex) = v.as_exception() {
        let name: String = ex
            .get::<_, String>("name")
            .unwrap_or_else(|_| "Error".into());
        return format!(
            "{name}: {}\n{}",
            ex.message().unwrap_or_default(),
            ex.stack().unwrap_or_default().trim_end()
        );
    }
    let inspect = ctx
        .globals()
        .get::<_, Object>("console")
        .ok()
        .and_then(|_| {
            let f: Function = ctx.eval("(v) => String(v)").ok()?;
            f.call::<_, String>((v.clone(),)).ok()
        });
    inspect.unwrap_or_else(|| format!("{v:?}"))
}
