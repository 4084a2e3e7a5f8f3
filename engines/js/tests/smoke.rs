mod common;
use common::*;

#[test]
fn module_worker_hello() {
    let s = Service::new(
        "index.js",
        &[(
            "index.js",
            "export default { async fetch(req, env) { console.log('hi', {a: 1}); return new Response('hello ' + req.method); } };",
        )],
    );
    assert_eq!(s.text(get("http://x/")), "hello GET");
    assert_eq!(s.logs.stdout(), vec!["hi { a: 1 }"]);
}
