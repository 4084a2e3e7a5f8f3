//! QuickJS (rquickjs) as a wasi:http/incoming-handler component.
//!
//! * `wizer-initialize` (component export, removed by the snapshot): creates the
//!   runtime + context and runs the prelude; if stdin holds a script, also
//!   evaluates it (per-service snapshot).
//! * `handle`: lazily initialises (no-snapshot mode), loads the script from
//!   stdin if none is loaded yet (shared-snapshot mode), reseeds Math.random,
//!   and dispatches the request to `export default { fetch }`.
//! * `compile`: source -> QuickJS module bytecode (run by the node at deploy time).

use std::cell::RefCell;

use rquickjs::module::WriteOptions;
use rquickjs::{Context, Ctx, Function, Module, Object, Promise, Runtime, Value};
use wasi::http::types::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};

wit_bindgen::generate!({
    inline: "
        package mote:js-engine;
        world engine {
            export wizer-initialize: func();
            export compile: func(source: string) -> result<list<u8>, string>;
        }
    ",
});

const PRELUDE: &str = include_str!("prelude.js");
/// Bytecode on stdin starts with this tag; anything else is source text.
const BYTECODE_TAG: &[u8] = b"\0QJSBC\0";

struct Engine {
    _rt: Runtime,
    ctx: Context,
    loaded: bool,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fn new_engine() -> Engine {
    let rt = Runtime::new().expect("runtime");
    // Note: quickjs-ng ignores this on __wasi__ (update_stack_limit sets no limit).
    rt.set_max_stack_size(256 * 1024);
    let ctx = Context::full(&rt).expect("context");
    ctx.with(|ctx| {
        let print = Function::new(ctx.clone(), |fd: i32, s: String| {
            use std::io::Write;
            if fd == 2 {
                let _ = writeln!(std::io::stderr(), "{s}");
            } else {
                let _ = writeln!(std::io::stdout(), "{s}");
            }
        })
        .unwrap();
        ctx.globals().set("__mote_print", print).unwrap();
        ctx.eval::<(), _>(PRELUDE).map_err(|e| describe(&ctx, e)).expect("prelude");
    });
    Engine { _rt: rt, ctx, loaded: false }
}

fn describe(ctx: &Ctx<'_>, e: rquickjs::Error) -> String {
    if let rquickjs::Error::Exception = e {
        let v: Value = ctx.catch();
        if let Some(ex) = v.as_exception() {
            return format!("{} {}", ex.message().unwrap_or_default(), ex.stack().unwrap_or_default());
        }
        return format!("{v:?}");
    }
    e.to_string()
}

fn read_stdin() -> Vec<u8> {
    let stdin = wasi::cli::stdin::get_stdin();
    let mut buf = Vec::new();
    loop {
        match stdin.blocking_read(1 << 20) {
            Ok(chunk) => buf.extend_from_slice(&chunk),
            Err(_) => break, // closed
        }
    }
    buf
}

/// Evaluate the service's module (source or bytecode) and keep its default export.
fn load_script(engine: &mut Engine, script: &[u8]) -> Result<(), String> {
    engine.ctx.with(|ctx| {
        let module = if let Some(bc) = script.strip_prefix(BYTECODE_TAG) {
            unsafe { Module::load(ctx.clone(), bc) }
        } else {
            Module::declare(ctx.clone(), "service.js", script.to_vec())
        }
        .map_err(|e| describe(&ctx, e))?;
        let (module, promise) = module.eval().map_err(|e| describe(&ctx, e))?;
        promise.finish::<()>().map_err(|e| describe(&ctx, e))?;
        let handler: Object = module.get("default").map_err(|e| describe(&ctx, e))?;
        ctx.globals().set("__mote_handler", handler).map_err(|e| describe(&ctx, e))?;
        Ok::<_, String>(())
    })?;
    engine.loaded = true;
    Ok(())
}

struct Component;

impl Guest for Component {
    fn wizer_initialize() {
        // Kept exported after the snapshot (see REPORT.md): make a second call a no-op.
        if ENGINE.with(|e| e.borrow().is_some()) {
            return;
        }
        let mut engine = new_engine();
        let script = read_stdin();
        if !script.is_empty() {
            load_script(&mut engine, &script).expect("service script");
        }
        ENGINE.with(|e| *e.borrow_mut() = Some(engine));
    }

    fn compile(source: String) -> Result<Vec<u8>, String> {
        let engine = new_engine();
        engine.ctx.with(|ctx| {
            let m = Module::declare(ctx.clone(), "service.js", source).map_err(|e| describe(&ctx, e))?;
            let mut out = BYTECODE_TAG.to_vec();
            out.extend(m.write(WriteOptions::default()).map_err(|e| describe(&ctx, e))?);
            Ok(out)
        })
    }
}

export!(Component);

fn method_str(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(s) => s.clone(),
    }
}

fn respond(out: ResponseOutparam, status: u16, headers: Vec<(String, String)>, body: &[u8]) {
    let fields = Fields::new();
    for (k, v) in headers {
        let _ = fields.append(&k, v.as_bytes());
    }
    let resp = OutgoingResponse::new(fields);
    let _ = resp.set_status_code(status);
    let ob = resp.body().unwrap();
    ResponseOutparam::set(out, Ok(resp));
    {
        let stream = ob.write().unwrap();
        for chunk in body.chunks(4096) {
            stream.blocking_write_and_flush(chunk).unwrap();
        }
    }
    OutgoingBody::finish(ob, None).unwrap();
}

struct Http;

impl wasi::exports::http::incoming_handler::Guest for Http {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let result = ENGINE.with(|cell| {
            let mut slot = cell.borrow_mut();
            let engine = slot.get_or_insert_with(new_engine);
            if !engine.loaded {
                let script = read_stdin();
                load_script(engine, &script)?;
            }
            let method = method_str(&request.method());
            let url = request.path_with_query().unwrap_or_else(|| "/".into());
            let headers: Vec<Vec<String>> = request
                .headers()
                .entries()
                .into_iter()
                .map(|(k, v)| vec![k, String::from_utf8_lossy(&v).into_owned()])
                .collect();
            let (a, b) = wasi::random::insecure_seed::insecure_seed();
            engine.ctx.with(|ctx| {
                let g = ctx.globals();
                let seed: Function = g.get("__mote_seed").unwrap();
                seed.call::<_, ()>((a as f64, b as f64)).map_err(|e| describe(&ctx, e))?;
                let dispatch: Function = g.get("__mote_dispatch").unwrap();
                let p: Promise = dispatch.call((method, url, headers)).map_err(|e| describe(&ctx, e))?;
                let r: rquickjs::Array = p.finish().map_err(|e| describe(&ctx, e))?;
                let err = |e| describe(&ctx, e);
                let status: u16 = r.get(0).map_err(err)?;
                let headers: Vec<Vec<String>> = r.get(1).map_err(err)?;
                let headers: Vec<(String, String)> =
                    headers.into_iter().map(|mut kv| (kv.remove(0), kv.remove(0))).collect();
                let body: String = r.get(2).map_err(err)?;
                Ok::<_, String>((status, headers, body))
            })
        });
        match result {
            Ok((status, headers, body)) => respond(out, status, headers, body.as_bytes()),
            Err(msg) => {
                eprintln!("js error: {msg}");
                respond(out, 500, vec![("content-type".into(), "text/plain".into())], format!("{msg}\n").as_bytes());
            }
        }
    }
}

wasi::http::proxy::export!(Http);
