#![allow(dead_code)]
//! Test support: a native [`Host`] that records console output, and
//! helpers that compile, load and call a service.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use mote_js_engine::{Engine, Host, HttpRequest, HttpResponse};

#[derive(Clone, Default)]
pub struct Logs(pub Rc<RefCell<Vec<(bool, String)>>>);

impl Logs {
    pub fn stdout(&self) -> Vec<String> {
        self.0
            .borrow()
            .iter()
            .filter(|(e, _)| !e)
            .map(|(_, l)| l.clone())
            .collect()
    }
    pub fn stderr(&self) -> Vec<String> {
        self.0
            .borrow()
            .iter()
            .filter(|(e, _)| *e)
            .map(|(_, l)| l.clone())
            .collect()
    }
}

pub struct TestHost {
    pub logs: Logs,
    pub start: Instant,
    pub env: Vec<(String, String)>,
}

impl Host for TestHost {
    fn print(&self, stderr: bool, line: &str) {
        self.logs.0.borrow_mut().push((stderr, line.to_string()));
    }
    fn random(&self, buf: &mut [u8]) {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .unwrap()
            .read_exact(buf)
            .unwrap();
    }
    fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }
    fn sleep_ms(&self, ms: f64) {
        std::thread::sleep(std::time::Duration::from_secs_f64(ms / 1000.0));
    }
    fn env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }
}

pub fn engine_with_env(env: &[(&str, &str)]) -> (Engine, Logs) {
    let logs = Logs::default();
    let e = Engine::new(TestHost {
        logs: logs.clone(),
        start: Instant::now(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    });
    (e, logs)
}

pub fn engine() -> (Engine, Logs) {
    engine_with_env(&[])
}

pub fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    list.iter()
        .map(|(p, s)| (p.to_string(), s.as_bytes().to_vec()))
        .collect()
}

pub fn compile(entry: &str, list: &[(&str, &str)]) -> Result<Vec<u8>, String> {
    let (e, _) = engine();
    e.compile(entry, &files(list))
}

pub fn get(url: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![],
        body: vec![],
    }
}

/// A loaded service.
pub struct Service {
    pub engine: Engine,
    pub logs: Logs,
}

impl Service {
    pub fn new(entry: &str, list: &[(&str, &str)]) -> Service {
        Self::with_env(entry, list, &[])
    }
    pub fn with_env(entry: &str, list: &[(&str, &str)], env: &[(&str, &str)]) -> Service {
        let bundle = compile(entry, list).unwrap_or_else(|e| panic!("compile: {e}"));
        let (mut engine, logs) = engine_with_env(env);
        engine.load(bundle).unwrap_or_else(|e| panic!("load: {e}"));
        Service { engine, logs }
    }
    pub fn call(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let r = self.engine.handle(req);
        self.engine.finish();
        r
    }
    pub fn text(&self, req: HttpRequest) -> String {
        let r = self
            .call(req)
            .unwrap_or_else(|e| panic!("handle: {e}\nlogs: {:?}", self.logs.0.borrow()));
        String::from_utf8(r.body).unwrap()
    }
}

/// Run `body` (the inside of an async function) as a module service and
/// return what it returns, as text (objects as JSON).
pub fn eval(body: &str) -> String {
    let src = format!(
        "export default {{ async fetch(request, env, ctx) {{\n\
           const __r = await (async () => {{ {body} \n}})();\n\
           return new Response(typeof __r === 'string' ? __r : JSON.stringify(__r));\n\
         }} }};"
    );
    Service::new("index.js", &[("index.js", &src)]).text(get("http://localhost/"))
}
