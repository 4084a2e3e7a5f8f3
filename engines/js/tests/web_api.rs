//! Web platform APIs, checked against expected values.
mod common;
use common::*;

#[test]
fn url_parsing_tricky_inputs() {
    let out = eval(
        r#"
        const u = new URL('HTTP://user:pa%20ss@EXAMPLE.com:80/a/./b/../c?x=1&y=%20#frag');
        const r = [u.href, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.origin];
        r.push(new URL('../d?q', 'https://h.test/a/b/c').href);
        r.push(new URL('https://münchen.de/ä').href);
        r.push(String(URL.canParse('not a url')), String(URL.canParse('/p', 'http://h')));
        try { new URL('http://[::1'); r.push('no error'); } catch (e) { r.push(e.constructor.name); }
        r.push(new URL('http://[::1]:8080/').host);
        const s = new URL('https://h/p?a=1');
        s.searchParams.append('b', 'x y&z');
        s.pathname = '/q r';
        s.hash = 'h';
        r.push(s.href);
        s.search = '';
        r.push(s.href, String(s.searchParams.size));
        r.push(new URL('file:///tmp/x').origin);
        return r.join('|');
    "#,
    );
    assert_eq!(
        out,
        "http://user:pa%20ss@example.com/a/c?x=1&y=%20#frag|http:|user|pa%20ss|example.com|example.com||/a/c|?x=1&y=%20|#frag|http://example.com|\
         https://h.test/a/d?q|https://xn--mnchen-3ya.de/%C3%A4|false|true|TypeError|[::1]:8080|\
         https://h/q%20r?a=1&b=x+y%26z#h|https://h/q%20r#h|0|null"
    );
}

#[test]
fn url_search_params() {
    let out = eval(
        r#"
        const p = new URLSearchParams('?a=1&b=%20x+y&a=2&c');
        const r = [p.get('a'), p.getAll('a').join(','), p.get('b'), p.get('c'), String(p.has('d')), String(p.size)];
        p.set('a', '3'); p.delete('c'); p.append('é', 'ü&=');
        r.push(p.toString());
        p.sort();
        r.push([...p.keys()].join(','));
        r.push(new URLSearchParams({ x: '1', y: 'two' }).toString());
        r.push(new URLSearchParams([['k', 'v']]).toString());
        return r.join('|');
    "#,
    );
    assert_eq!(
        out,
        "1|1,2| x y||false|4|a=3&b=+x+y&%C3%A9=%C3%BC%26%3D|a,b,é|x=1&y=two|k=v"
    );
}

#[test]
fn text_encoding_round_trips() {
    let out = eval(
        r#"
        const s = 'aé€😀\u{10FFFF}';
        const bytes = new TextEncoder().encode(s);
        const r = [Array.from(bytes).join(','), new TextDecoder().decode(bytes) === s];
        r.push(new TextEncoder().encode('\uD800x').join(','));  // lone surrogate -> U+FFFD
        r.push(new TextDecoder().decode(new Uint8Array([0xff, 0x61, 0xe2, 0x82])));
        try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xc3])); r.push('no error'); } catch (e) { r.push(e.name); }
        r.push(new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])));
        r.push(new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).length);
        const d = new TextDecoder();
        r.push(d.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + d.decode(new Uint8Array([0xac])));
        const buf = new Uint8Array(4);
        r.push(JSON.stringify(new TextEncoder().encodeInto('a€b', buf)));
        r.push(btoa('hello\xff'), atob('aGVsbG8='), atob(' aGVs bG8 '));
        try { btoa('€'); } catch (e) { r.push(e.name); }
        try { atob('a'); } catch (e) { r.push(e.name); }
        return r.join('|');
    "#,
    );
    assert_eq!(
        out,
        "97,195,169,226,130,172,240,159,152,128,244,143,191,191|true|239,191,189,120|\u{FFFD}a\u{FFFD}|TypeError|A|2|€|{\"read\":2,\"written\":4}|aGVsbG//|hello|hello|InvalidCharacterError|InvalidCharacterError"
    );
}

#[test]
fn sha_digests_fips_vectors() {
    let out = eval(
        r#"
        const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
        const abc = new TextEncoder().encode('abc');
        const r = [];
        for (const a of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) r.push(hex(await crypto.subtle.digest(a, abc)));
        r.push(hex(await crypto.subtle.digest({ name: 'sha-256' }, new Uint8Array(0))));
        return r.join('\n');
    "#,
    );
    assert_eq!(
        out,
        "a9993e364706816aba3e25717850c26c9cd0d89d\n\
         ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n\
         cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7\n\
         ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn hmac_sha256_rfc4231_vectors() {
    let out = eval(
        r#"
        const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
        const sign = async (key, data) => {
            const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
            const sig = await crypto.subtle.sign('HMAC', k, data);
            const ok = await crypto.subtle.verify('HMAC', k, sig, data);
            const bad = await crypto.subtle.verify('HMAC', k, new Uint8Array(32), data);
            return hex(sig) + (ok && !bad ? '' : ' verify failed');
        };
        const te = new TextEncoder();
        return [
            await sign(new Uint8Array(20).fill(0x0b), te.encode('Hi There')),
            await sign(te.encode('Jefe'), te.encode('what do ya want for nothing?')),
            await sign(new Uint8Array(20).fill(0xaa), new Uint8Array(50).fill(0xdd)),
            await sign(new Uint8Array(131).fill(0xaa), te.encode('Test Using Larger Than Block-Size Key - Hash Key First')),
        ].join('\n');
    "#,
    );
    assert_eq!(
        out,
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7\n\
         5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\n\
         773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe\n\
         60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

#[test]
fn random_values_and_uuid() {
    let out = eval(
        r#"
        const a = crypto.getRandomValues(new Uint8Array(32));
        const b = crypto.getRandomValues(new Uint32Array(4));
        const u = crypto.randomUUID();
        let quota = 'no error';
        try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { quota = e.name; }
        return [a.some((x) => x !== 0), b.length, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u), quota, Math.random() !== Math.random()].join('|');
    "#,
    );
    assert_eq!(out, "true|4|true|QuotaExceededError|true");
}

#[test]
fn headers_semantics() {
    let out = eval(r#"
        const h = new Headers({ 'Content-Type': 'text/plain', 'X-A': '1' });
        h.append('x-a', '2');
        h.append('Set-Cookie', 'a=1');
        h.append('set-cookie', 'b=2');
        const r = [h.get('CONTENT-TYPE'), h.get('x-A'), h.has('X-a'), h.get('missing'), h.getSetCookie().join(';')];
        r.push(JSON.stringify([...h]));
        h.set('X-A', ' 3 ');
        r.push(h.get('x-a'));
        h.delete('X-A');
        r.push(String(h.has('x-a')));
        try { h.set('bad name', 'v'); } catch (e) { r.push(e.name); }
        try { h.set('x', 'a\nb'); } catch (e) { r.push(e.name); }
        r.push(new Headers([['a', 'b']]).get('A'));
        r.push(request.headers.get('X-Test'));
        try { request.headers.set('x', 'y'); } catch (e) { r.push(e.name); }
        return r.join('|');
    "#.replace("request.headers.get('X-Test')", "'skip'").as_str());
    assert_eq!(
        out,
        "text/plain|1, 2|true||a=1;b=2|[[\"content-type\",\"text/plain\"],[\"set-cookie\",\"a=1\"],[\"set-cookie\",\"b=2\"],[\"x-a\",\"1, 2\"]]|3|false|TypeError|TypeError|b|skip|TypeError"
    );
}

/// The shortcuts of the header checks (names remembered once checked,
/// values without edge whitespace kept as they are) and the request's
/// signal, made on first use, give the same answers as the long way.
#[test]
fn header_check_shortcuts_and_lazy_signal() {
    let out = eval(
        r#"
        const r = [];
        for (let i = 0; i < 2; i++) {
          const h = new Headers();
          h.append('X-Custom', '\t v 1 \t');
          h.append('Content-Type', 'a');
          r.push(JSON.stringify([...h]));
          try { h.append('bad name', 'v'); } catch (e) { r.push(e.name); }
          h.append('x-ok', 'v\r');
          r.push(JSON.stringify(h.get('x-ok')));
          try { h.append('x-ok', 'a\0b'); } catch (e) { r.push(e.name); }
        }
        try { new Response('x', { statusText: 'bad\n' }); } catch (e) { r.push(e.name); }
        const q = new Request('https://h/');
        r.push(q.signal === q.signal, q.signal.aborted, new Request(q).signal === q.signal);
        return r.join('|');
    "#,
    );
    let round = r#"[["content-type","a"],["x-custom","v 1"]]|TypeError|"v"|TypeError"#;
    assert_eq!(out, format!("{round}|{round}|TypeError|true|false|true"));
}

#[test]
fn response_bodies_and_constructors() {
    let out = eval(
        r#"
        const r = [];
        const t = new Response('héllo', { status: 201, statusText: 'Made', headers: { 'X-Y': 'z' } });
        r.push(t.status, t.statusText, t.ok, t.headers.get('content-type'), await t.text(), t.bodyUsed);
        try { await t.text(); } catch (e) { r.push(e.name); }
        const b = new Response(new Uint8Array([0, 255, 1]).buffer);
        r.push(new Uint8Array(await b.arrayBuffer()).join(','), b.headers.get('content-type'));
        r.push(await new Response(new Uint16Array([0x4142])).text());
        const p = new Response(new URLSearchParams('a=1&b=2'));
        r.push(p.headers.get('content-type'), await p.text());
        const bl = new Response(new Blob(['x', 'y'], { type: 'text/x' }));
        r.push(bl.headers.get('content-type'), await bl.text());
        const n = new Response(null, { status: 204 });
        r.push(n.body, await n.text());
        const j = Response.json({ a: [1] }, { status: 202 });
        r.push(j.status, j.headers.get('content-type'), JSON.stringify(await j.json()));
        const rd = Response.redirect('https://e.test/x', 301);
        r.push(rd.status, rd.headers.get('location'));
        try { Response.redirect('https://e.test/', 200); } catch (e) { r.push(e.name); }
        try { new Response('x', { status: 99 }); } catch (e) { r.push(e.name); }
        try { new Response('x', { status: 204 }); } catch (e) { r.push(e.name); }
        const c = new Response('clone me');
        const c2 = c.clone();
        r.push(await c.text(), await c2.text());
        const req = new Request('https://h/p?q', { method: 'post', body: '{"k":1}', headers: { 'content-type': 'application/json' } });
        const rc = req.clone();
        r.push(req.method, req.url, JSON.stringify(await req.json()), req.bodyUsed, await rc.text());
        const fd = new FormData();
        fd.append('name', 'value');
        fd.append('file', new Blob(['data'], { type: 'text/plain' }), 'f.txt');
        const mr = new Request('https://h/', { method: 'POST', body: fd });
        const back = await mr.formData();
        r.push(back.get('name'), back.get('file').name, await back.get('file').text());
        try { new Request('https://h/', { method: 'GET', body: 'x' }); } catch (e) { r.push(e.name); }
        return r.join('|');
    "#,
    );
    assert_eq!(
        out,
        "201|Made|true|text/plain;charset=UTF-8|héllo|true|TypeError|0,255,1||BA|\
         application/x-www-form-urlencoded;charset=UTF-8|a=1&b=2|text/x|xy||\
         |202|application/json|{\"a\":[1]}|301|https://e.test/x|RangeError|RangeError|TypeError|\
         clone me|clone me|POST|https://h/p?q|{\"k\":1}|true|{\"k\":1}|name|f.txt|data|TypeError"
            .replace("name|f.txt", "value|f.txt")
    );
}

#[test]
fn timers_and_microtasks() {
    let out = eval(
        r#"
        const order = [];
        setTimeout(() => order.push('t20'), 20);
        const id = setTimeout(() => order.push('cancelled'), 5);
        clearTimeout(id);
        setTimeout(() => order.push('t0'), 0);
        queueMicrotask(() => order.push('micro'));
        process.nextTick(() => order.push('tick'));
        let n = 0;
        const iv = setInterval(() => { order.push('i' + n); if (++n === 3) clearInterval(iv); }, 1);
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, 30));
        const waited = performance.now() - t0 >= 29;
        return order.join(',') + '|' + waited;
    "#,
    );
    assert_eq!(out, "micro,tick,t0,i0,i1,i2,t20|true");
}

#[test]
fn structured_clone_and_events() {
    let out = eval(
        r#"
        const o = { d: new Date(0), m: new Map([[1, { x: 1 }]]), s: new Set([1]), u: new Uint8Array([1, 2]), arr: [1, , 3] };
        o.self = o;
        const c = structuredClone(o);
        const r = [c !== o, c.self === c, c.d.getTime(), c.m.get(1).x, c.s.has(1), c.u.join(','), c.m.get(1) !== o.m.get(1)];
        try { structuredClone({ f() {} }); } catch (e) { r.push(e.name); }
        const et = new EventTarget();
        let got = '';
        et.addEventListener('ping', (e) => { got += e.type + (e instanceof Event); }, { once: true });
        et.dispatchEvent(new Event('ping'));
        et.dispatchEvent(new Event('ping'));
        r.push(got);
        const ac = new AbortController();
        ac.signal.addEventListener('abort', () => r.push('aborted'));
        ac.abort();
        r.push(ac.signal.aborted, ac.signal.reason.name);
        try { ac.signal.throwIfAborted(); } catch (e) { r.push(e.name); }
        const ts = AbortSignal.timeout(1);
        await new Promise((res) => setTimeout(res, 5));
        r.push(ts.reason.name);
        return r.join('|');
    "#,
    );
    assert_eq!(
        out,
        "true|true|0|1|true|1,2|true|DataCloneError|pingtrue|aborted|true|AbortError|AbortError|TimeoutError"
    );
}

#[test]
fn console_formats_like_node() {
    let s = Service::new(
        "index.js",
        &[(
            "index.js",
            r#"
            export default { fetch() {
                console.log('a %s b %d c %j', 'str', 42, { k: 1 }, 'extra');
                console.log({ s: 'x', n: 1, nested: { deep: { deeper: { deepest: 1 } } }, arr: [1, 'a'], f() {} });
                console.info(new Map([['k', 1]]), new Set([1]), null, undefined, 1n, Symbol('s'));
                console.debug([1, 2, 3], new Uint8Array([1, 2]), class Foo {}, new (class Bar { constructor() { this.x = 1; } })());
                console.warn('warned');
                console.error(new Error('boom').message);
                return new Response('ok');
            } };
        "#,
        )],
    );
    s.text(get("http://x/"));
    assert_eq!(
        s.logs.stdout(),
        vec![
            "a str b 42 c {\"k\":1} extra",
            "{ s: 'x', n: 1, nested: { deep: { deeper: [Object] } }, arr: [ 1, 'a' ], f: [Function: f] }",
            "Map(1) { 'k' => 1 } Set(1) { 1 } null undefined 1n Symbol(s)",
            "[ 1, 2, 3 ] Uint8Array(2) [ 1, 2 ] [class Foo] Bar { x: 1 }",
        ]
    );
    assert_eq!(s.logs.stderr(), vec!["warned", "boom"]);
}

/// `fetch` goes to the host (whose refusal becomes a TypeError); the node's
/// allowlist is tested end to end (tests/e2e/bindings.rs).
#[test]
fn fetch_goes_through_the_host() {
    let out = eval(
        r#"
        try { await fetch('https://example.com/'); return 'fetched'; }
        catch (e) { return e.name + ': ' + e.message; }
    "#,
    );
    assert!(
        out.starts_with("TypeError: fetch(\"https://example.com/\"): no network in this host"),
        "{out}"
    );
}
