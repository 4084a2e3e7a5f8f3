// CommonJS at run time: require() resolved by the table compiled into the
// bundle, the module cache, and the node built-ins registry.
const native = M.native;
const cache = new Map(); // name -> module

function makeRequire(from) {
  const require = function require(spec) {
    return M.requireByName(native.resolveRequire(from, String(spec)));
  };
  require.resolve = (spec) => '/' + native.resolveRequire(from, String(spec));
  require.cache = Object.create(null);
  return require;
}
M.requireByName = (name) => {
  if (name.startsWith('node:')) {
    const b = M.builtins[name.slice(5)];
    if (b === undefined) throw new Error(`Cannot find module '${name}'`);
    return b;
  }
  let module = cache.get(name);
  if (module) return module.exports;
  const fn = native.loadCommonJs(name);
  const filename = '/' + name;
  const dirname = filename.slice(0, filename.lastIndexOf('/')) || '/';
  module = { id: filename, filename, path: dirname, exports: {}, loaded: false, children: [], paths: [] };
  module.require = makeRequire(name);
  cache.set(name, module);
  try {
    fn.call(module.exports, module.exports, module.require, module, filename, dirname);
  } catch (e) {
    cache.delete(name);
    throw e;
  }
  module.loaded = true;
  return module.exports;
};
// For the ES facades over CommonJS modules and built-ins.
Object.defineProperty(globalThis, Symbol.for('mote.require'), { value: M.requireByName });

// Export names of a built-in (for `import { x } from 'node:y'`).
M.builtinExports = (name) => {
  const b = M.builtins[name];
  if (b === undefined || b === null) return [];
  return Object.keys(b).filter((k) => k !== 'default');
};
M.builtins.assert = M.builtins.assert;
