//! Node compatibility modules.
mod common;
use common::*;

fn cjs(body: &str) -> String {
    let src = format!(
        "module.exports = {{ async fetch() {{ const __r = await (async () => {{ {body}\n }})(); return new Response(typeof __r === 'string' ? __r : JSON.stringify(__r)); }} }};"
    );
    Service::new("index.js", &[("index.js", &src)]).text(get("http://x/"))
}

#[test]
fn buffer() {
    let out = cjs(r#"
        const { Buffer } = require('buffer');
        const b = Buffer.from('héllo');
        const r = [b.length, b.toString('hex'), b.toString('base64'), Buffer.from('aGk', 'base64').toString(), Buffer.from('-_8', 'base64url').toString('hex')];
        r.push(Buffer.from('ff00', 'hex').toString('latin1').length, Buffer.byteLength('€'), Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString());
        r.push(Buffer.from('abc').equals(Buffer.from('abc')), Buffer.compare(Buffer.from('a'), Buffer.from('b')), b.slice(1, 3).toString('hex'));
        const w = Buffer.alloc(8);
        w.writeUInt32BE(0xdeadbeef, 0); w.writeUInt16LE(0x0102, 4);
        r.push(w.toString('hex'), w.readUInt32BE(0).toString(16), w.readUInt16LE(4), Buffer.isBuffer(w), globalThis.Buffer === Buffer);
        r.push(Buffer.from([1, 2, 3]).subarray(1) instanceof Buffer, Buffer.alloc(3, 'ab').toString(), w.write('zz', 6), w.toString('utf8', 6, 8));
        return r.join('|');
    "#);
    assert_eq!(
        out,
        "6|68c3a96c6c6f|aMOpbGxv|hi|fbff|2|3|ab|true|-1|c3a9|deadbeef02010000|deadbeef|258|true|true|true|aba|2|zz"
    );
}

#[test]
fn crypto_hashes_hmac_random() {
    let out = cjs(r#"
        const crypto = require('node:crypto');
        const r = [
            crypto.createHash('sha1').update('abc').digest('hex'),
            crypto.createHash('sha256').update('a').update(Buffer.from('bc')).digest('base64'),
            crypto.createHash('md5').update('').digest('hex'),
            crypto.createHmac('sha256', 'Jefe').update('what do ya want for nothing?').digest('hex'),
            crypto.randomBytes(16).length,
            crypto.timingSafeEqual(Buffer.from('ab'), Buffer.from('ab')),
            /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
        ];
        try { crypto.timingSafeEqual(Buffer.from('a'), Buffer.from('ab')); } catch (e) { r.push(e.name); }
        return r.join('|');
    "#);
    assert_eq!(
        out,
        "a9993e364706816aba3e25717850c26c9cd0d89d|ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=|d41d8cd98f00b204e9800998ecf8427e|5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843|16|true|true|RangeError"
    );
}

#[test]
fn events_util_path_querystring_url_string_decoder_assert() {
    let out = cjs(r#"
        const EventEmitter = require('events');
        const util = require('util');
        const path = require('path');
        const qs = require('querystring');
        const url = require('url');
        const { StringDecoder } = require('string_decoder');
        const assert = require('assert');
        const r = [];
        const e = new EventEmitter();
        e.once('x', (a, b) => r.push('once' + a + b));
        e.on('x', (a) => r.push('on' + a));
        e.emit('x', 1, 2); e.emit('x', 3);
        r.push(e.listenerCount('x'));
        r.push(util.format('%s=%d %o', 'a', 1, [1]), util.inspect({ a: { b: { c: { d: 1 } } } }), util.types.isDate(new Date()));
        const p = util.promisify((x, cb) => cb(null, x * 2));
        r.push(await p(21));
        r.push(path.join('/a/b', '../c', './d.js'), path.basename('/x/y.txt', '.txt'), path.extname('a.tar.gz'), path.dirname('/a/b/c'), path.resolve('a', '/b', 'c'), path.relative('/a/b', '/a/c/d'), path.normalize('a//b/../c/'));
        r.push(JSON.stringify(qs.parse('a=1&b=2&a=3&c=%20x+y')), qs.stringify({ a: [1, 2], b: 'x y' }));
        r.push(url.parse('https://u@h.test:8080/p?q=1#f').port, url.parse('https://h/p?a=1', true).query.a);
        const d = new StringDecoder('utf8');
        r.push(d.write(Buffer.from([0xe2, 0x82])) + d.write(Buffer.from([0xac])) + d.end());
        assert.ok(true); assert.equal(1, '1'); assert.strictEqual(1, 1); assert.deepStrictEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] });
        assert.throws(() => { throw new TypeError('x'); }, TypeError);
        try { assert.deepStrictEqual({ a: 1 }, { a: 2 }); } catch (err) { r.push(err.name, err.code); }
        try { assert.strictEqual(1, 2, 'custom'); } catch (err) { r.push(err.message); }
        r.push(typeof process.nextTick, process.version.startsWith('v'), global === globalThis);
        return r.join('|');
    "#);
    assert_eq!(
        out,
        "once12|on1|on3|1|a=1 [ 1 ]|{ a: { b: { c: [Object] } } }|true|42|/a/c/d.js|y|.gz|/a/b|/b/c|../c/d|a/c/|{\"a\":[\"1\",\"3\"],\"b\":\"2\",\"c\":\" x y\"}|a=1&a=2&b=x%20y|8080|1|€|AssertionError|ERR_ASSERTION|custom|function|true|true"
    );
}

#[test]
fn node_modules_importable_from_esm() {
    let out = eval(
        r#"
        const { createHash } = await import('node:crypto');
        const { EventEmitter } = await import('events');
        return [createHash('sha256').update('').digest('hex').slice(0, 8), typeof EventEmitter].join('|');
    "#,
    );
    assert_eq!(out, "e3b0c442|function");
}
