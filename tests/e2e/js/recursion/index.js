// One service for every case: /rec/<case> runs that case in a fresh
// instance and answers with what it caught (tests/e2e/javascript.rs).
import * as case_apply from "./apply.js";
import * as case_array_flat from "./array_flat.js";
import * as case_array_join from "./array_join.js";
import * as case_async_fn from "./async_fn.js";
import * as case_async_sync from "./async_sync.js";
import * as case_call_bound from "./call_bound.js";
import * as case_class from "./class.js";
import * as case_console_log from "./console_log.js";
import * as case_eval_nested from "./eval_nested.js";
import * as case_event_dispatch from "./event_dispatch.js";
import * as case_func_ctor from "./func_ctor.js";
import * as case_generator from "./generator.js";
import * as case_getter from "./getter.js";
import * as case_headers_iter from "./headers_iter.js";
import * as case_json_parse from "./json_parse.js";
import * as case_json_reviver from "./json_reviver.js";
import * as case_json_stringify from "./json_stringify.js";
import * as case_json_stringify_arr from "./json_stringify_arr.js";
import * as case_json_tojson from "./json_tojson.js";
import * as case_many_args from "./many_args.js";
import * as case_map from "./map.js";
import * as case_new from "./new.js";
import * as case_plain from "./plain.js";
import * as case_promise_then from "./promise_then.js";
import * as case_proxy from "./proxy.js";
import * as case_reflect from "./reflect.js";
import * as case_regexp_backtrack from "./regexp_backtrack.js";
import * as case_regexp_lookahead from "./regexp_lookahead.js";
import * as case_regexp_nested from "./regexp_nested.js";
import * as case_regexp_replace_fn from "./regexp_replace_fn.js";
import * as case_sort from "./sort.js";
import * as case_spread from "./spread.js";
import * as case_string_replace_all from "./string_replace_all.js";
import * as case_structured_clone from "./structured_clone.js";
import * as case_tagged from "./tagged.js";
import * as case_tostring from "./tostring.js";
import * as case_valueof from "./valueof.js";

const cases = {
  apply: case_apply,
  array_flat: case_array_flat,
  array_join: case_array_join,
  async_fn: case_async_fn,
  async_sync: case_async_sync,
  call_bound: case_call_bound,
  class: case_class,
  console_log: case_console_log,
  eval_nested: case_eval_nested,
  event_dispatch: case_event_dispatch,
  func_ctor: case_func_ctor,
  generator: case_generator,
  getter: case_getter,
  headers_iter: case_headers_iter,
  json_parse: case_json_parse,
  json_reviver: case_json_reviver,
  json_stringify: case_json_stringify,
  json_stringify_arr: case_json_stringify_arr,
  json_tojson: case_json_tojson,
  many_args: case_many_args,
  map: case_map,
  new: case_new,
  plain: case_plain,
  promise_then: case_promise_then,
  proxy: case_proxy,
  reflect: case_reflect,
  regexp_backtrack: case_regexp_backtrack,
  regexp_lookahead: case_regexp_lookahead,
  regexp_nested: case_regexp_nested,
  regexp_replace_fn: case_regexp_replace_fn,
  sort: case_sort,
  spread: case_spread,
  string_replace_all: case_string_replace_all,
  structured_clone: case_structured_clone,
  tagged: case_tagged,
  tostring: case_tostring,
  valueof: case_valueof,
};

export default {
  async fetch(request) {
    const name = new URL(request.url).pathname.split("/").pop();
    const c = cases[name];
    if (!c) return new Response(`no case ${name}`, { status: 404 });
    try {
      const r = c.run ? c.run() : await c.runAsync();
      return new Response(`${name}: no error, depth=${c.depth} ${String(r).slice(0, 40)}`);
    } catch (e) {
      return new Response(`${name}: ${e && e.name}: ${e && e.message} depth=${c.depth}`);
    }
  },
};
