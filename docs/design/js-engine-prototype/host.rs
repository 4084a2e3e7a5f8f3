//! Spike host: snapshot the QuickJS engine component with wasmtime-wizer and
//! measure per-request cost in a Mote-like sandbox (pooling allocator, CoW
//! images, epoch interruption, fresh instance per request).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, combinators::UnsyncBoxBody};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

struct Host {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: DenyOutbound,
}
impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}
fn host(stdin: Option<Bytes>) -> Host {
    let mut b = WasiCtxBuilder::new();
    b.inherit_stderr();
    if let Some(s) = stdin {
        b.stdin(MemoryInputPipe::new(s));
    }
    Host {
        wasi: b.build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        hooks: DenyOutbound,
    }
}

struct DenyOutbound;
impl wasmtime_wasi_http::WasiHttpHooks for DenyOutbound {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

fn mote_engine() -> Engine {
    let n = 200u32;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n * 8)
        .total_memories(n * 2)
        .total_tables(n * 4)
        .total_stacks(n)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_core_instances_per_component(16)
        .max_memory_size(1 << 30)
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.memory_init_cow(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).unwrap()
}

fn linker(engine: &Engine) -> Linker<Host> {
    let mut l = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut l).unwrap();
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut l).unwrap();
    l
}

/// Call the engine component's `compile` export (deploy-time step).
async fn compile_bytecode(engine: &Engine, comp: &Component, src: &str) -> Vec<u8> {
    let l = linker(engine);
    let mut store = Store::new(engine, host(None));
    store.set_epoch_deadline(u64::MAX / 2);
    let inst = l.instantiate_async(&mut store, comp).await.unwrap();
    let f = inst
        .get_typed_func::<(&str,), (Result<Vec<u8>, String>,)>(&mut store, "compile")
        .unwrap();
    let (r,) = f.call_async(&mut store, (src,)).await.unwrap();
    r.unwrap()
}

/// Snapshot with wasmtime-wizer; `stdin` is what the init function reads.
async fn snapshot(wasm: &[u8], stdin: Option<Bytes>) -> Vec<u8> {
    let mut config = Config::new();
    
    let engine = Engine::new(&config).unwrap();
    let l = linker(&engine);
    let mut store = Store::new(&engine, host(stdin));
    let (out, _) = wasmtime_wizer::Wizer::new()
        .init_func("wizer-initialize")
        // keep_init_func(false) (the default) drops the core export but leaves the
        // component-level lift: "core instance N has no export named `wizer-initialize`".
        .keep_init_func(true)
        .run_component(&mut store, wasm, async |store, comp| {
            l.instantiate_async(store, comp).await
        })
        .await
        .unwrap();
    out
}

async fn one_request(pre: &ProxyPre<Host>, stdin: Option<Bytes>, path: &str) -> (u16, Bytes) {
    let mut store = Store::new(pre.engine(), host(stdin));
    store.set_epoch_deadline(1 << 40);
    let req = hyper::Request::builder()
        .uri(format!("http://localhost{path}"))
        .body(Empty::<Bytes>::new().map_err(|_| -> wasmtime_wasi_http::Error { unreachable!() }))
        .unwrap();
    let req: hyper::Request<UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>> =
        req.map(|b| b.boxed_unsync());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let r = store.data_mut().http().new_incoming_request(Scheme::Http, req).unwrap();
    let o = store.data_mut().http().new_response_outparam(tx).unwrap();
    let proxy = pre.instantiate_async(&mut store).await.unwrap();
    let call = proxy.wasi_http_incoming_handler().call_handle(&mut store, r, o).await;
    if let Err(e) = &call {
        let trap = e.downcast_ref::<wasmtime::Trap>().map(|t| t.to_string());
        return (0, Bytes::from(format!("trap={trap:?} {e:#}")));
    }
    let resp = rx.await.unwrap().unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() / 10], v[v.len() * 9 / 10])
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines().find(|l| l.starts_with("VmRSS")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap()
}

const SCRIPT: &str = r#"
export default {
  fetch(req) {
    return new Response("hi " + req.method + " " + req.url + " " + Math.random() + "\n");
  }
}
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let wasm = std::fs::read(&args[1]).unwrap();
    let iters: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(1000);
    let outdir = std::path::Path::new("out");
    std::fs::create_dir_all(outdir).unwrap();
    let engine = mote_engine();

    let t = Instant::now();
    let raw = Component::new(&engine, &wasm).unwrap();
    println!("compile raw engine component ({} B): {:?}", wasm.len(), t.elapsed());

    let t = Instant::now();
    let bytecode = compile_bytecode(&engine, &raw, SCRIPT).await;
    println!("compile JS -> bytecode (instantiate + compile export): {:?}, {} B", t.elapsed(), bytecode.len());
    let bytecode = Bytes::from(bytecode);

    let t = Instant::now();
    let shared = snapshot(&wasm, None).await;
    println!("wizer shared snapshot (engine+prelude): {:?}, {} B", t.elapsed(), shared.len());
    std::fs::write(outdir.join("js_engine.shared.wasm"), &shared).unwrap();

    let t = Instant::now();
    let per_svc = snapshot(&wasm, Some(bytecode.clone())).await;
    println!("wizer per-service snapshot (engine+prelude+script): {:?}, {} B", t.elapsed(), per_svc.len());
    std::fs::write(outdir.join("js_engine.service.wasm"), &per_svc).unwrap();

    let t = Instant::now();
    let shared_c = Component::new(&engine, &shared).unwrap();
    println!("compile shared snapshot: {:?}", t.elapsed());
    let t = Instant::now();
    let svc_c = Component::new(&engine, &per_svc).unwrap();
    println!("compile per-service snapshot: {:?}", t.elapsed());
    let t = Instant::now();
    let ser = engine.precompile_component(&per_svc).unwrap();
    println!("precompile (serialize) per-service snapshot: {:?}, {} B .cwasm", t.elapsed(), ser.len());
    let t = Instant::now();
    let _ = unsafe { Component::deserialize(&engine, &ser) }.unwrap();
    println!("deserialize .cwasm: {:?}", t.elapsed());

    let l = linker(&engine);
    let mk = |c: &Component| ProxyPre::new(l.instantiate_pre(c).unwrap()).unwrap();
    let variants: Vec<(&str, ProxyPre<Host>, Option<Bytes>)> = vec![
        ("no snapshot, source on stdin", mk(&raw), Some(Bytes::from_static(SCRIPT.as_bytes()))),
        ("no snapshot, bytecode on stdin", mk(&raw), Some(bytecode.clone())),
        ("shared snapshot, source on stdin", mk(&shared_c), Some(Bytes::from_static(SCRIPT.as_bytes()))),
        ("shared snapshot, bytecode on stdin", mk(&shared_c), Some(bytecode.clone())),
        ("per-service snapshot", mk(&svc_c), None),
    ];
    let mem_only: Option<usize> = std::env::var("MEM_ONLY").ok().map(|v| v.parse().unwrap());
    for (name, pre, stdin) in variants.iter().filter(|_| mem_only.is_none()) {
        let (s, b) = one_request(pre, stdin.clone(), "/x?y=1").await;
        let (_, b2) = one_request(pre, stdin.clone(), "/x?y=1").await;
        println!("[{name}] -> {s} {:?} | 2nd: {:?}", String::from_utf8_lossy(&b), String::from_utf8_lossy(&b2));
        // warm up
        for _ in 0..50 {
            one_request(pre, stdin.clone(), "/").await;
        }
        let mut v = Vec::with_capacity(iters);
        for _ in 0..iters {
            let t = Instant::now();
            let (s, _) = one_request(pre, stdin.clone(), "/").await;
            v.push(t.elapsed());
            assert_eq!(s, 200);
        }
        let (m, p10, p90) = median(v);
        println!("  per request (instantiate + handle + body): median {m:?}  p10 {p10:?}  p90 {p90:?}  ({iters} iters)");
    }

    // Memory each live instance keeps resident: hold K stores after their request.
    for (i, (name, pre, stdin)) in variants.iter().enumerate() {
        if mem_only.is_some_and(|m| m != i) { continue; }
        let k = 100;
        let before = rss_kib();
        let mut keep = Vec::new();
        for _ in 0..k {
            let mut store = Store::new(pre.engine(), host(stdin.clone()));
            store.set_epoch_deadline(1 << 40);
            let req = hyper::Request::builder().uri("http://localhost/").body(Empty::<Bytes>::new().map_err(|_| -> wasmtime_wasi_http::Error { unreachable!() }).boxed_unsync()).unwrap();
            let (tx, rx) = tokio::sync::oneshot::channel();
            let r = store.data_mut().http().new_incoming_request(Scheme::Http, req).unwrap();
            let o = store.data_mut().http().new_response_outparam(tx).unwrap();
            let proxy = pre.instantiate_async(&mut store).await.unwrap();
            proxy.wasi_http_incoming_handler().call_handle(&mut store, r, o).await.unwrap();
            let resp = rx.await.unwrap().unwrap();
            let _ = resp.into_body().collect().await;
            keep.push(store);
        }
        let after = rss_kib();
        println!("[{name}] RSS growth with {k} live instances: {} KiB/instance", (after.saturating_sub(before)) / k);
        drop(keep);
    }

    // Deep recursion.
    let rec = r#"export default { fetch(req) {
        function f(n){ return f(n+1) + 1 }
        try { f(0); return new Response("no error?") }
        catch (e) { return new Response("caught: " + e.name + ": " + e.message) } } }"#;
    for (name, pre) in [("shared snapshot", &variants[2].1)] {
        let (s, b) = one_request(pre, Some(Bytes::from_static(rec.as_bytes())), "/").await;
        println!("[{name}] recursion -> {s} {}", String::from_utf8_lossy(&b).lines().next().unwrap_or(""));
    }
}
