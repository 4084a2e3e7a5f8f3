// Type declarations for services running on Mote's JavaScript engine
// (QuickJS-ng, engines/js). They declare exactly what the engine provides:
// the handler shapes, the Web APIs of its prelude, and the Node globals and
// modules it emulates. Use with "lib": ["ES2023"] and without the "dom" lib
// or @types/node (which declare the same names, with more than Mote has).
//
// Keep in sync with engines/js/src/js/*.js and engines/js/README.md.

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/**
 * The service's bindings, by the names in mote.toml: variables and secrets
 * (strings, also in `process.env`), KV namespaces and other services.
 * Declare your own: `interface MyEnv { CACHE: KVNamespace; AUTH: Fetcher; TOKEN: string }`.
 */
interface Env {
  [name: string]: string | KVNamespace | Fetcher | undefined;
}

/** `bindings.NAME = { kv = "namespace" }`: the Workers KV API. */
interface KVNamespace {
  get(key: string, options?: 'text' | { type: 'text' }): Promise<string | null>;
  get<T = unknown>(key: string, options: 'json' | { type: 'json' }): Promise<T | null>;
  get(key: string, options: 'arrayBuffer' | { type: 'arrayBuffer' }): Promise<ArrayBuffer | null>;
  getWithMetadata<M = unknown>(key: string, options?: 'text' | { type: 'text' }): Promise<{ value: string | null; metadata: M | null }>;
  getWithMetadata<T = unknown, M = unknown>(key: string, options: 'json' | { type: 'json' }): Promise<{ value: T | null; metadata: M | null }>;
  getWithMetadata<M = unknown>(key: string, options: 'arrayBuffer' | { type: 'arrayBuffer' }): Promise<{ value: ArrayBuffer | null; metadata: M | null }>;
  /** `expiration`: unix seconds; `expirationTtl`: seconds from now (at least 1); `metadata`: JSON, at most 1,024 bytes. */
  put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: { expiration?: number; expirationTtl?: number; metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
  /** `limit`: 1 to 1,000 (default 1,000). Only a missing `cursor` means the listing is complete. */
  list<M = unknown>(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<{
    keys: { name: string; expiration?: number; metadata?: M }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

/** `bindings.NAME = { service = "other" }`: another service of the app, called in-process. */
interface Fetcher {
  /** A path like `"/verify"` is relative to the service; the callee sees `http://name.internal/...`. */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
}

/** The third argument of `fetch(request, env, ctx)`. */
interface ExecutionContext {
  /**
   * Keep the instance alive after the response is sent until `promise`
   * settles (a rejection is logged).
   */
  waitUntil(promise: Promise<unknown>): void;
  /** Accepted for compatibility; has no effect. */
  passThroughOnException(): void;
}

/**
 * A module worker: `export default { fetch(request, env, ctx) { ... } } satisfies ExportedHandler;`
 * (or `module.exports = { fetch }` in CommonJS).
 */
interface ExportedHandler<E = Env> {
  fetch(request: Request, env: E, ctx: ExecutionContext): Response | Promise<Response>;
}

/** The event of a service-worker script: `addEventListener('fetch', (event) => event.respondWith(...))`. */
declare class FetchEvent extends Event {
  constructor(type: string, init: EventInit & { request: Request });
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
  waitUntil(promise: Promise<unknown>): void;
  /** Accepted for compatibility; has no effect. */
  passThroughOnException(): void;
}

declare function addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
declare function addEventListener(
  type: string,
  listener: EventListenerOrEventListenerObject | null,
  options?: AddEventListenerOptions | boolean,
): void;
declare function removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void;
declare function dispatchEvent(event: Event): boolean;
declare var self: typeof globalThis;
declare var global: typeof globalThis;

// ---------------------------------------------------------------------------
// Fetch: Headers, Request, Response, fetch
// ---------------------------------------------------------------------------

type BufferSource = ArrayBufferView | ArrayBuffer;
type HeadersInit = Headers | Record<string, string> | Iterable<[string, string]> | [string, string][];
/** A body. There are no streams: `ReadableStream` is not available. */
type BodyInit = string | BufferSource | Blob | FormData | URLSearchParams;

declare class Headers implements Iterable<[string, string]> {
  constructor(init?: HeadersInit);
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getSetCookie(): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  forEach(callback: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

interface Body {
  /** The whole body as bytes (Mote has no streams), or `null`. */
  readonly body: Uint8Array | null;
  readonly bodyUsed: boolean;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
  blob(): Promise<Blob>;
  formData(): Promise<FormData>;
}

interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  signal?: AbortSignal | null;
  redirect?: 'follow' | 'error' | 'manual';
}

/** Request and Response get the `Body` members by declaration merging. */
interface Request extends Body {}
declare class Request {
  constructor(input: Request | string | URL, init?: RequestInit);
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly signal: AbortSignal;
  readonly redirect: string;
  readonly cache: string;
  readonly credentials: string;
  readonly mode: string;
  readonly destination: string;
  readonly referrer: string;
  readonly integrity: string;
  readonly keepalive: boolean;
  clone(): Request;
}

interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

interface Response extends Body {}
declare class Response {
  constructor(body?: BodyInit | null, init?: ResponseInit);
  static json(data: unknown, init?: ResponseInit): Response;
  static redirect(url: string | URL, status?: 301 | 302 | 303 | 307 | 308): Response;
  static error(): Response;
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly type: 'default' | 'error';
  readonly url: string;
  readonly redirected: boolean;
  clone(): Response;
}

/**
 * Reaches only the origins in the service's `outbound` list (mote.toml);
 * anything else rejects with a `TypeError` naming the service and the origin.
 * Redirects are not followed. The whole response is read before the promise
 * settles.
 */
declare function fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;

// ---------------------------------------------------------------------------
// URL
// ---------------------------------------------------------------------------

declare class URL {
  constructor(url: string | URL, base?: string | URL);
  static canParse(url: string | URL, base?: string | URL): boolean;
  static parse(url: string | URL, base?: string | URL): URL | null;
  href: string;
  readonly origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
  readonly searchParams: URLSearchParams;
  toString(): string;
  toJSON(): string;
}

declare class URLSearchParams implements Iterable<[string, string]> {
  constructor(init?: string | Record<string, string> | Iterable<[string, string]> | [string, string][] | URLSearchParams);
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string, value?: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string, value?: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  forEach(callback: (value: string, name: string, params: URLSearchParams) => void, thisArg?: unknown): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
  toString(): string;
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

declare class TextEncoder {
  readonly encoding: 'utf-8';
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}

/** UTF-8 only (other labels throw a `RangeError`). */
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: 'utf-8';
  readonly fatal: boolean;
  readonly ignoreBOM: boolean;
  decode(input?: BufferSource, options?: { stream?: boolean }): string;
}

declare function atob(data: string): string;
declare function btoa(data: string): string;

// ---------------------------------------------------------------------------
// Blob, File, FormData
// ---------------------------------------------------------------------------

type BlobPart = BufferSource | Blob | string;

declare class Blob {
  constructor(parts?: BlobPart[], options?: { type?: string });
  readonly size: number;
  readonly type: string;
  slice(start?: number, end?: number, contentType?: string): Blob;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  /** Throws: streams are not supported. */
  stream(): never;
}

declare class File extends Blob {
  constructor(parts: BlobPart[], name: string, options?: { type?: string; lastModified?: number });
  readonly name: string;
  readonly lastModified: number;
}

type FormDataEntryValue = File | string;

declare class FormData implements Iterable<[string, FormDataEntryValue]> {
  constructor();
  append(name: string, value: string | Blob, filename?: string): void;
  delete(name: string): void;
  get(name: string): FormDataEntryValue | null;
  getAll(name: string): FormDataEntryValue[];
  has(name: string): boolean;
  set(name: string, value: string | Blob, filename?: string): void;
  forEach(callback: (value: FormDataEntryValue, name: string, form: FormData) => void, thisArg?: unknown): void;
  entries(): IterableIterator<[string, FormDataEntryValue]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<FormDataEntryValue>;
  [Symbol.iterator](): IterableIterator<[string, FormDataEntryValue]>;
}

// ---------------------------------------------------------------------------
// Events, abort, errors
// ---------------------------------------------------------------------------

interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
}

declare class Event {
  constructor(type: string, init?: EventInit);
  readonly type: string;
  readonly bubbles: boolean;
  readonly cancelable: boolean;
  readonly defaultPrevented: boolean;
  readonly timeStamp: number;
  readonly target: EventTarget | null;
  readonly currentTarget: EventTarget | null;
  readonly srcElement: EventTarget | null;
  preventDefault(): void;
  stopPropagation(): void;
  stopImmediatePropagation(): void;
  composedPath(): EventTarget[];
}

declare class CustomEvent<T = unknown> extends Event {
  constructor(type: string, init?: EventInit & { detail?: T });
  readonly detail: T;
}

type EventListener = (event: Event) => void;
interface EventListenerObject {
  handleEvent(event: Event): void;
}
type EventListenerOrEventListenerObject = EventListener | EventListenerObject;
interface AddEventListenerOptions {
  once?: boolean;
  signal?: AbortSignal;
}

declare class EventTarget {
  constructor();
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: AddEventListenerOptions | boolean,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void;
  dispatchEvent(event: Event): boolean;
}

declare class AbortSignal extends EventTarget {
  private constructor();
  static abort(reason?: unknown): AbortSignal;
  static timeout(milliseconds: number): AbortSignal;
  static any(signals: Iterable<AbortSignal>): AbortSignal;
  readonly aborted: boolean;
  readonly reason: unknown;
  onabort: ((event: Event) => void) | null;
  throwIfAborted(): void;
}

declare class AbortController {
  constructor();
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}

declare class DOMException extends Error {
  constructor(message?: string, name?: string);
  readonly code: number;
}

/** Logs an error as uncaught, without throwing it. */
declare function reportError(error: unknown): void;

// ---------------------------------------------------------------------------
// Timers, microtasks, performance, structuredClone
// ---------------------------------------------------------------------------

declare function setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;
declare function setInterval<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;
declare function clearTimeout(id: number | undefined): void;
declare function clearInterval(id: number | undefined): void;
declare function queueMicrotask(callback: () => void): void;
/** Deep copy of plain data (objects, arrays, Date, RegExp, Map, Set, buffers, errors, Blob). */
declare function structuredClone<T>(value: T): T;

declare var performance: {
  /** Milliseconds since the request began. */
  now(): number;
  readonly timeOrigin: number;
  mark(name: string): void;
  measure(name: string): void;
  toJSON(): { timeOrigin: number };
};

// ---------------------------------------------------------------------------
// Web Crypto: getRandomValues, randomUUID, subtle (digest; HMAC keys)
// ---------------------------------------------------------------------------

type HashAlgorithm = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
type HashAlgorithmIdentifier = HashAlgorithm | { name: HashAlgorithm };
interface HmacImportParams {
  name: 'HMAC';
  hash: HashAlgorithmIdentifier;
}
interface HmacKeyGenParams extends HmacImportParams {
  /** In bits; defaults to the hash's block size. */
  length?: number;
}
interface JsonWebKey {
  kty?: string;
  k?: string;
  alg?: string;
  ext?: boolean;
  key_ops?: string[];
}
type KeyUsage = 'sign' | 'verify';

declare class CryptoKey {
  private constructor();
  readonly type: 'secret';
  readonly extractable: boolean;
  readonly algorithm: { name: 'HMAC'; hash: { name: HashAlgorithm }; length: number };
  readonly usages: KeyUsage[];
}

/**
 * Only `digest` and HMAC keys (`importKey` raw/jwk, `generateKey`,
 * `exportKey`, `sign`, `verify`). The other methods reject with
 * `NotSupportedError`, so they are not declared.
 */
declare class SubtleCrypto {
  private constructor();
  digest(algorithm: HashAlgorithmIdentifier, data: BufferSource): Promise<ArrayBuffer>;
  importKey(
    format: 'raw',
    keyData: BufferSource,
    algorithm: HmacImportParams,
    extractable: boolean,
    usages: KeyUsage[],
  ): Promise<CryptoKey>;
  importKey(
    format: 'jwk',
    keyData: JsonWebKey,
    algorithm: HmacImportParams,
    extractable: boolean,
    usages: KeyUsage[],
  ): Promise<CryptoKey>;
  generateKey(algorithm: HmacKeyGenParams, extractable: boolean, usages: KeyUsage[]): Promise<CryptoKey>;
  exportKey(format: 'raw', key: CryptoKey): Promise<ArrayBuffer>;
  exportKey(format: 'jwk', key: CryptoKey): Promise<JsonWebKey>;
  sign(algorithm: 'HMAC' | { name: 'HMAC' }, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  verify(
    algorithm: 'HMAC' | { name: 'HMAC' },
    key: CryptoKey,
    signature: BufferSource,
    data: BufferSource,
  ): Promise<boolean>;
}

declare class Crypto {
  private constructor();
  readonly subtle: SubtleCrypto;
  getRandomValues<T extends Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array>(
    array: T,
  ): T;
  randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
}
declare var crypto: Crypto;

// ---------------------------------------------------------------------------
// console
// ---------------------------------------------------------------------------

/** log/info/debug/dir/table/count/time* go to stdout, warn/error/trace/assert to stderr: one log line per call. */
declare var console: {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  debug(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  trace(...data: unknown[]): void;
  dir(value: unknown, options?: { depth?: number | null }): void;
  table(...data: unknown[]): void;
  assert(condition?: unknown, ...data: unknown[]): void;
  count(label?: string): void;
  countReset(label?: string): void;
  time(label?: string): void;
  timeLog(label?: string, ...data: unknown[]): void;
  timeEnd(label?: string): void;
  group(...label: unknown[]): void;
  groupCollapsed(...label: unknown[]): void;
  groupEnd(): void;
};

// ---------------------------------------------------------------------------
// Node globals: Buffer, process
// ---------------------------------------------------------------------------

type BufferEncoding =
  | 'utf8' | 'utf-8' | 'hex' | 'base64' | 'base64url' | 'latin1' | 'binary' | 'ascii'
  | 'ucs2' | 'ucs-2' | 'utf16le' | 'utf-16le';

/** Node's `Buffer`: a `Uint8Array` subclass (the commonly used subset). */
declare class Buffer extends Uint8Array {
  static from(data: string, encoding?: BufferEncoding): Buffer;
  static from(data: ArrayBuffer, byteOffset?: number, length?: number): Buffer;
  static from(data: ArrayBufferView | ArrayLike<number> | Iterable<number>): Buffer;
  static alloc(size: number, fill?: string | number | Uint8Array, encoding?: BufferEncoding): Buffer;
  static allocUnsafe(size: number): Buffer;
  static allocUnsafeSlow(size: number): Buffer;
  static isBuffer(value: unknown): value is Buffer;
  static isEncoding(encoding: string): encoding is BufferEncoding;
  static byteLength(value: string | BufferSource, encoding?: BufferEncoding): number;
  static concat(list: readonly Uint8Array[], totalLength?: number): Buffer;
  static compare(a: Uint8Array, b: Uint8Array): -1 | 0 | 1;
  static poolSize: number;
  toString(encoding?: BufferEncoding, start?: number, end?: number): string;
  toJSON(): { type: 'Buffer'; data: number[] };
  equals(other: Uint8Array): boolean;
  compare(other: Uint8Array, targetStart?: number, targetEnd?: number, sourceStart?: number, sourceEnd?: number): -1 | 0 | 1;
  slice(start?: number, end?: number): Buffer;
  subarray(start?: number, end?: number): Buffer;
  write(string: string, offset?: number, length?: number, encoding?: BufferEncoding): number;
  fill(value: string | number | Uint8Array, offset?: number, end?: number, encoding?: BufferEncoding): this;
  indexOf(value: string | number | Uint8Array, byteOffset?: number, encoding?: BufferEncoding): number;
  includes(value: string | number | Uint8Array, byteOffset?: number, encoding?: BufferEncoding): boolean;
  copy(target: Uint8Array, targetStart?: number, sourceStart?: number, sourceEnd?: number): number;
  readUInt8(offset?: number): number;
  readUint8(offset?: number): number;
  readUInt16BE(offset?: number): number;
  readUint16BE(offset?: number): number;
  readUInt16LE(offset?: number): number;
  readUint16LE(offset?: number): number;
  readUInt32BE(offset?: number): number;
  readUint32BE(offset?: number): number;
  readUInt32LE(offset?: number): number;
  readUint32LE(offset?: number): number;
  readInt8(offset?: number): number;
  readInt16BE(offset?: number): number;
  readInt16LE(offset?: number): number;
  readInt32BE(offset?: number): number;
  readInt32LE(offset?: number): number;
  readBigUInt64BE(offset?: number): bigint;
  readBigUInt64LE(offset?: number): bigint;
  readFloatBE(offset?: number): number;
  readFloatLE(offset?: number): number;
  readDoubleBE(offset?: number): number;
  readDoubleLE(offset?: number): number;
  writeUInt8(value: number, offset?: number): number;
  writeUint8(value: number, offset?: number): number;
  writeUInt16BE(value: number, offset?: number): number;
  writeUint16BE(value: number, offset?: number): number;
  writeUInt16LE(value: number, offset?: number): number;
  writeUint16LE(value: number, offset?: number): number;
  writeUInt32BE(value: number, offset?: number): number;
  writeUint32BE(value: number, offset?: number): number;
  writeUInt32LE(value: number, offset?: number): number;
  writeUint32LE(value: number, offset?: number): number;
  writeInt8(value: number, offset?: number): number;
  writeInt16BE(value: number, offset?: number): number;
  writeInt16LE(value: number, offset?: number): number;
  writeInt32BE(value: number, offset?: number): number;
  writeInt32LE(value: number, offset?: number): number;
  writeDoubleBE(value: number, offset?: number): number;
  writeDoubleLE(value: number, offset?: number): number;
}

/** The subset of Node's EventEmitter the engine implements (`node:events`). */
declare class MoteEventEmitter {
  constructor();
  static defaultMaxListeners: number;
  static readonly errorMonitor: unique symbol;
  static once(emitter: MoteEventEmitter | EventTarget, name: string | symbol): Promise<unknown[]>;
  on(name: string | symbol, listener: (...args: any[]) => void): this;
  addListener(name: string | symbol, listener: (...args: any[]) => void): this;
  prependListener(name: string | symbol, listener: (...args: any[]) => void): this;
  once(name: string | symbol, listener: (...args: any[]) => void): this;
  prependOnceListener(name: string | symbol, listener: (...args: any[]) => void): this;
  off(name: string | symbol, listener: (...args: any[]) => void): this;
  removeListener(name: string | symbol, listener: (...args: any[]) => void): this;
  removeAllListeners(name?: string | symbol): this;
  emit(name: string | symbol, ...args: unknown[]): boolean;
  listeners(name: string | symbol): Function[];
  rawListeners(name: string | symbol): Function[];
  listenerCount(name: string | symbol): number;
  eventNames(): (string | symbol)[];
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
}

/** Node's `process`, as far as a service can use it. */
interface MoteProcess extends MoteEventEmitter {
  /** The service's variables (the same as `env` in `fetch`). */
  env: Record<string, string | undefined>;
  argv: string[];
  argv0: string;
  execArgv: string[];
  platform: 'linux';
  arch: 'wasm32';
  pid: number;
  ppid: number;
  title: string;
  version: string;
  versions: Record<string, string>;
  release: { name: string };
  exitCode: number | undefined;
  browser: false;
  cwd(): string;
  umask(): number;
  uptime(): number;
  hrtime: {
    (previous?: [number, number]): [number, number];
    bigint(): bigint;
  };
  memoryUsage(): { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  nextTick<A extends unknown[]>(callback: (...args: A) => void, ...args: A): void;
  emitWarning(warning: string | Error): void;
  stdout: { write(s: string): boolean; isTTY: false };
  stderr: { write(s: string): boolean; isTTY: false };
}
declare var process: MoteProcess;

// ---------------------------------------------------------------------------
// Node modules (`x` and `node:x`); other Node modules fail the deploy.
// ---------------------------------------------------------------------------

declare module 'node:buffer' {
  const BufferClass: typeof Buffer;
  export { BufferClass as Buffer };
  const BlobClass: typeof Blob;
  export { BlobClass as Blob };
  const FileClass: typeof File;
  export { FileClass as File };
  export const atob: (data: string) => string;
  export const btoa: (data: string) => string;
  export const constants: { MAX_LENGTH: number; MAX_STRING_LENGTH: number };
  export const kMaxLength: number;
  export function isUtf8(input: BufferSource): boolean;
}
declare module 'buffer' {
  export * from 'node:buffer';
}

declare module 'node:crypto' {
  type Algorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5' | 'sha-1' | 'sha-256' | 'sha-384' | 'sha-512';
  type Data = string | BufferSource;
  export class Hash {
    private constructor();
    update(data: Data, encoding?: BufferEncoding): this;
    digest(): Buffer;
    digest(encoding: BufferEncoding): string;
    copy(): Hash;
  }
  export class Hmac {
    private constructor();
    update(data: Data, encoding?: BufferEncoding): this;
    digest(): Buffer;
    digest(encoding: BufferEncoding): string;
  }
  export function createHash(algorithm: Algorithm): Hash;
  export function createHmac(algorithm: Algorithm, key: Data): Hmac;
  export function hash(algorithm: Algorithm, data: Data, outputEncoding?: BufferEncoding): string;
  export function randomBytes(size: number): Buffer;
  export function randomBytes(size: number, callback: (err: Error | null, buf: Buffer) => void): void;
  export const pseudoRandomBytes: typeof randomBytes;
  export function randomFillSync<T extends ArrayBufferView>(buffer: T, offset?: number, size?: number): T;
  export function randomInt(max: number): number;
  export function randomInt(min: number, max: number): number;
  export function randomInt(max: number, callback: (err: Error | null, n: number) => void): void;
  export function randomInt(min: number, max: number, callback: (err: Error | null, n: number) => void): void;
  export function randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
  export function timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean;
  export function getHashes(): string[];
  export function getRandomValues<T extends ArrayBufferView>(array: T): T;
  export const webcrypto: Crypto;
  export const subtle: SubtleCrypto;
}
declare module 'crypto' {
  export * from 'node:crypto';
}

declare module 'node:events' {
  class EventEmitter extends MoteEventEmitter {}
  namespace EventEmitter {
    export { EventEmitter };
  }
  export = EventEmitter;
}
declare module 'events' {
  import EventEmitter = require('node:events');
  export = EventEmitter;
}

declare module 'node:util' {
  export function format(format?: unknown, ...args: unknown[]): string;
  export function inspect(value: unknown, options?: { depth?: number; breakLength?: number; compact?: number }): string;
  export namespace inspect {
    /** A method under this key customises how `inspect` and `console` print an object. */
    const custom: unique symbol;
  }
  export function promisify<T = unknown>(fn: (...args: any[]) => void): (...args: any[]) => Promise<T>;
  export function callbackify(fn: (...args: any[]) => Promise<unknown>): (...args: any[]) => void;
  export function isDeepStrictEqual(a: unknown, b: unknown): boolean;
  export function inherits(constructor: Function, superConstructor: Function): void;
  export function deprecate<T extends Function>(fn: T, message?: string): T;
  export function debuglog(section: string): (...args: unknown[]) => void;
  export const isArray: (value: unknown) => value is unknown[];
  export const types: {
    isDate(v: unknown): v is Date;
    isRegExp(v: unknown): v is RegExp;
    isMap(v: unknown): v is Map<unknown, unknown>;
    isSet(v: unknown): v is Set<unknown>;
    isWeakMap(v: unknown): v is WeakMap<object, unknown>;
    isWeakSet(v: unknown): v is WeakSet<object>;
    isPromise(v: unknown): v is Promise<unknown>;
    isArrayBuffer(v: unknown): v is ArrayBuffer;
    isAnyArrayBuffer(v: unknown): v is ArrayBufferLike;
    isArrayBufferView(v: unknown): v is ArrayBufferView;
    isTypedArray(v: unknown): boolean;
    isUint8Array(v: unknown): v is Uint8Array;
    isDataView(v: unknown): v is DataView;
    isNativeError(v: unknown): v is Error;
    isAsyncFunction(v: unknown): boolean;
    isGeneratorFunction(v: unknown): boolean;
    isBoxedPrimitive(v: unknown): boolean;
  };
  const TextEncoderClass: typeof TextEncoder;
  export { TextEncoderClass as TextEncoder };
  const TextDecoderClass: typeof TextDecoder;
  export { TextDecoderClass as TextDecoder };
}
declare module 'util' {
  export * from 'node:util';
}

declare module 'node:url' {
  interface UrlObject {
    protocol: string | null;
    slashes: boolean | null;
    auth: string | null;
    host: string | null;
    port: string | null;
    hostname: string | null;
    hash: string | null;
    search: string | null;
    query: string | null | Record<string, string | string[]>;
    pathname: string | null;
    path: string | null;
    href: string;
  }
  const URLClass: typeof URL;
  export { URLClass as URL };
  const URLSearchParamsClass: typeof URLSearchParams;
  export { URLSearchParamsClass as URLSearchParams };
  export function parse(url: string, parseQueryString?: boolean): UrlObject;
  export function format(url: URL | string | Partial<UrlObject>): string;
  export function resolve(from: string, to: string): string;
  export function fileURLToPath(url: string | URL): string;
  export function pathToFileURL(path: string): URL;
  export function domainToASCII(domain: string): string;
}
declare module 'url' {
  export * from 'node:url';
}

declare module 'node:querystring' {
  type ParsedQuery = Record<string, string | string[]>;
  export function parse(str: string, sep?: string, eq?: string): ParsedQuery;
  export function stringify(obj: Record<string, unknown>, sep?: string, eq?: string): string;
  export const decode: typeof parse;
  export const encode: typeof stringify;
  export function escape(str: string): string;
  export function unescape(str: string): string;
}
declare module 'querystring' {
  export * from 'node:querystring';
}

declare module 'node:path' {
  interface ParsedPath {
    root: string;
    dir: string;
    base: string;
    ext: string;
    name: string;
  }
  /** POSIX paths. */
  interface Path {
    sep: '/';
    delimiter: ':';
    normalize(path: string): string;
    join(...paths: string[]): string;
    resolve(...paths: string[]): string;
    isAbsolute(path: string): boolean;
    dirname(path: string): string;
    basename(path: string, suffix?: string): string;
    extname(path: string): string;
    relative(from: string, to: string): string;
    parse(path: string): ParsedPath;
    format(parts: Partial<ParsedPath>): string;
    toNamespacedPath(path: string): string;
    posix: Path;
  }
  const path: Path;
  export = path;
}
declare module 'path' {
  import path = require('node:path');
  export = path;
}

declare module 'node:string_decoder' {
  export class StringDecoder {
    constructor(encoding?: BufferEncoding);
    readonly encoding: string;
    write(buffer: string | Uint8Array): string;
    end(buffer?: Uint8Array): string;
  }
}
declare module 'string_decoder' {
  export * from 'node:string_decoder';
}

declare module 'node:assert' {
  class AssertionError extends Error {
    constructor(options: { message?: string; actual?: unknown; expected?: unknown; operator?: string });
    actual: unknown;
    expected: unknown;
    operator: string;
    generatedMessage: boolean;
    code: 'ERR_ASSERTION';
  }
  interface Assert {
    (value: unknown, message?: string | Error): asserts value;
    ok(value: unknown, message?: string | Error): asserts value;
    equal(actual: unknown, expected: unknown, message?: string | Error): void;
    notEqual(actual: unknown, expected: unknown, message?: string | Error): void;
    strictEqual<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T;
    notStrictEqual(actual: unknown, expected: unknown, message?: string | Error): void;
    deepStrictEqual<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T;
    notDeepStrictEqual(actual: unknown, expected: unknown, message?: string | Error): void;
    fail(message?: string | Error): never;
    throws(fn: () => unknown, expected?: RegExp | Function | object | Error, message?: string | Error): void;
    doesNotThrow(fn: () => unknown, message?: string | Error): void;
    rejects(
      promiseOrFn: Promise<unknown> | (() => Promise<unknown>),
      expected?: RegExp | Function | object | Error,
      message?: string | Error,
    ): Promise<void>;
    match(value: string, regExp: RegExp, message?: string | Error): void;
    doesNotMatch(value: string, regExp: RegExp, message?: string | Error): void;
    ifError(value: unknown): asserts value is null | undefined;
    AssertionError: typeof AssertionError;
    strict: Assert;
  }
  const assert: Assert;
  export = assert;
}
declare module 'assert' {
  import assert = require('node:assert');
  export = assert;
}

declare module 'node:process' {
  const p: MoteProcess;
  export = p;
}
declare module 'process' {
  import p = require('node:process');
  export = p;
}
