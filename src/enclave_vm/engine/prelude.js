// The prelude runs first in every fresh context. It evaluates to one control function that only the
// host holds (it is never put on the global object, and no stack API can reach it: see `hardenErrors`).
// Guest code sees `callTool`, `console`, the instrumentation hooks, its globals and the intrinsics, some
// of which the prelude replaced by guarded versions; the bridge state lives in this closure.
//
// Everything that leaves the engine is built from primitives by the captured JSON.stringify or by
// string concatenation, so a guest that pollutes prototypes (toJSON, setters, then) cannot forge it.
// Every function the prelude makes reachable from the guest closes over captured intrinsics and the
// sticky limit state only; none of them can decide a run's outcome (the host reads the final record's
// code as RUNTIME_ERROR/TOOL_ERROR only, and terminal codes only from the sticky state).
(() => {
  'use strict';
  const G = globalThis;
  const apply = Reflect.apply;
  const construct = Reflect.construct;
  const ownKeys = Reflect.ownKeys;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const freeze = Object.freeze;
  const create = Object.create;
  const preventExtensions = Object.preventExtensions;
  const defineProperty = Object.defineProperty;
  const getPrototypeOf = Object.getPrototypeOf;
  const setPrototypeOf = Object.setPrototypeOf;
  const getOwnPropertyNames = Object.getOwnPropertyNames;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const ObjectCtor = Object;
  const isArray = Array.isArray;
  const floor = Math.floor;
  const NumberCtor = Number;
  const isFiniteNumber = Number.isFinite;
  const PromiseCtor = Promise;
  const promiseThen = Promise.prototype.then;
  const promiseReject = Promise.reject;
  const ProxyCtor = G.Proxy;
  const proxyRevocable = ProxyCtor ? ProxyCtor.revocable : undefined;
  const now = Date.now;
  const WeakSetCtor = WeakSet;
  const weakSetAdd = WeakSet.prototype.add;
  const weakSetHas = WeakSet.prototype.has;
  const WeakMapCtor = WeakMap;
  const weakMapGet = WeakMap.prototype.get;
  const weakMapSet = WeakMap.prototype.set;
  const call = Function.prototype.call;
  const bind = Function.prototype.bind;
  // charCodeAt(s, i), replace(s, re, t), test(re, s), slice(s, a, b): the intrinsics, bound before any
  // guest code runs (no argument array per call).
  const charCodeAt = call.bind(String.prototype.charCodeAt);
  const stringReplace = call.bind(String.prototype.replace);
  const stringSlice = call.bind(String.prototype.slice);
  const regexTest = call.bind(RegExp.prototype.test);
  const StringCtor = String;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const RangeErrorCtor = RangeError;
  const ErrorProto = Error.prototype;
  const InternalErrorProto = G.InternalError ? G.InternalError.prototype : null;
  const SuppressedErrorProto = G.SuppressedError ? G.SuppressedError.prototype : null;
  const symbolIterator = Symbol.iterator;
  const symbolSpreadable = Symbol.isConcatSpreadable;
  const symbolMatch = Symbol.match;
  const symbolSplit = Symbol.split;
  const symbolReplace = Symbol.replace;
  const RegExpProto = RegExp.prototype;

  const nullArray = () => setPrototypeOf([], null);
  const own = (obj, key) => {
    const d = getOwnPropertyDescriptor(obj, key);
    return d && 'value' in d ? d.value : undefined;
  };
  const wset = () => new WeakSetCtor();
  const has = (set, value) => apply(weakSetHas, set, [value]);
  const add = (set, value) => { apply(weakSetAdd, set, [value]); };

  // ---- native work caps (see SECURITY.md, "Natives that do not poll the interrupt") ----
  // Elements one native call may walk (holes and generic receivers cost ~50-150 ns each in C, with no
  // interrupt check): the longest such call stays well under 100 ms.
  const WORK_CAP = 1 << 19;
  // Elements a sort without a comparison function may take (it compares by ToString, in C, n log n).
  const SORT_CAP = 1 << 16;
  // Typed-array elements a tight C loop (fill, indexOf, reverse, copy: ~1-2 ns each) may walk, and a
  // numeric sort may take.
  const TYPED_CAP = 1 << 24;
  const TYPED_SORT_CAP = 1 << 22;
  // Character comparisons one native string search may make (it is a naive n * m search in C).
  const SEARCH_CAP = 1 << 23;

  // ---- configuration (set once by `init`) ----
  let cfg = null;

  // ---- state ----
  let sticky = '';          // the terminal code, once a limit tripped
  let stickyMessage = '';
  let iterations = 0;
  let ticks = 0;
  let toolCalls = 0;
  let nextId = 1;
  let nullishThrown = false;
  let outbox = nullArray();         // [id, name, argsJson] triples, flattened
  let lines = nullArray();          // console lines
  let levels = nullArray();         // the console method of each line
  let entropy = nullArray();        // Math.random()/Date values the script saw (recorded for durable runs)
  let replay = nullArray();         // recorded values to give back first (a resumed durable run)
  let replayAt = 0;
  let recording = false;
  let recorded = 0;                 // values recorded so far (bounded by cfg.maxRecorded)
  let recordOverflow = false;       // more values than the journal may hold: such a run cannot pause
  let hasState = false;
  let consoleBytes = 0;
  let consoleCalls = 0;
  let final = null;                 // null-proto array once the script settled
  const pending = create(null);
  const toolErrors = wset();
  const proxies = wset();           // every proxy the guest made: never a genuine array
  const errorNames = new WeakMapCtor();  // frozen error prototype -> its `name`

  const isProtoOf = (proto, value) => {
    let p = value;
    for (let i = 0; i < 64 && p !== null && (typeof p === 'object' || typeof p === 'function'); i++) {
      p = getPrototypeOf(p);
      if (p === proto) return true;
    }
    return false;
  };

  // Every Error constructor on the global object with its prototype, flattened: [ctor, proto, ...].
  const errorConstructors = () => {
    const found = nullArray();
    const names = getOwnPropertyNames(G);
    for (let i = 0; i < names.length; i++) {
      const d = getOwnPropertyDescriptor(G, names[i]);
      const ctor = d && d.value;
      if (typeof ctor !== 'function') continue;
      const proto = own(ctor, 'prototype');
      if (proto !== null && typeof proto === 'object' && (proto === ErrorProto || isProtoOf(ErrorProto, proto))) {
        found[found.length] = ctor;
        found[found.length] = proto;
      }
    }
    return found;
  };

  // Engine resource exhaustion: the allocator failed (often it cannot even build an error and throws
  // null or an uninitialized value), or a string/array grew past what the engine can hold. A
  // SuppressedError (built by the engine while disposing resources) may carry one inside.
  const isExhaustion = (e, depth) => {
    if (e === null || e === undefined) return !nullishThrown;
    const t = typeof e;
    if (t !== 'object' && t !== 'function' && t !== 'string' && t !== 'number' && t !== 'boolean' &&
        t !== 'bigint' && t !== 'symbol') return true;
    if (t !== 'object') return false;
    if (InternalErrorProto !== null && isProtoOf(InternalErrorProto, e)) {
      const m = own(e, 'message');
      return m === 'out of memory' || m === 'string too long';
    }
    if (SuppressedErrorProto !== null && (depth || 0) < 16 && isProtoOf(SuppressedErrorProto, e)) {
      const d = (depth || 0) + 1;
      return isExhaustion(own(e, 'error'), d) || isExhaustion(own(e, 'suppressed'), d);
    }
    return false;
  };

  const terminal = () => {
    let e;
    try {
      e = new ErrorCtor(stickyMessage);
    } catch (_) {
      e = null;
    }
    return e;
  };
  const trip = (code, message) => {
    if (!sticky) {
      sticky = code;
      stickyMessage = message;
    }
    return terminal();
  };
  // A size the sandbox itself refuses: MEMORY_LIMIT_EXCEEDED, terminal like the engine's own.
  const refuse = (message) => trip('MEMORY_LIMIT_EXCEEDED', message);
  const checkDeadline = () => {
    if (now() > cfg.deadline) throw trip('TIMEOUT', 'Execution timed out after ' + cfg.timeout + 'ms');
  };
  // Every value the guest catches or a handler receives passes here first.
  const observe = (e) => {
    if (sticky) throw terminal();
    if (isExhaustion(e, 0)) throw trip('MEMORY_LIMIT_EXCEEDED', 'Memory limit exceeded');
  };

  // ---- instrumentation hooks ----
  // Called with the script's loop counter at each checkpoint; returns the next checkpoint.
  // `last` is set by the script's final block: only record the count then.
  const iterHook = (count, last) => {
    if (typeof count !== 'number') throw new TypeErrorCtor('bad iteration count');
    if (count > iterations) iterations = count;
    if (last) return 0;
    if (sticky) throw terminal();
    if (iterations > cfg.maxIterations) {
      iterations = cfg.maxIterations + 1;
      throw trip('MAX_ITERATIONS', 'Maximum loop iterations exceeded (' + cfg.maxIterations + ')');
    }
    checkDeadline();
    const next = iterations + 64;
    return next > cfg.maxIterations + 1 ? cfg.maxIterations + 1 : next;
  };
  // The prelude's own loops (the polled replacements of natives) check the clock like the hooks do:
  // an engine whose interrupt counts CPU time would otherwise stop them late.
  let polls = 0;
  const poll = () => {
    if (sticky) throw terminal();
    if (++polls >= 256) { polls = 0; if (cfg !== null) checkDeadline(); }
  };
  // For steps that may each take milliseconds (a window of a search, a long native call).
  const pollNow = () => {
    if (sticky) throw terminal();
    if (cfg !== null) checkDeadline();
  };
  // `target` is the `new.target` of a script's `function`: those are never constructors.
  const tickHook = (target) => {
    if (target !== undefined) throw new TypeErrorCtor('A function cannot be called with new; use a class');
    if (sticky) throw terminal();
    if (++ticks >= 64) { ticks = 0; checkDeadline(); }
  };
  const catchHook = (e) => { observe(e); };
  const throwHook = (v) => {
    if (v === null || v === undefined) nullishThrown = true;
    return v;
  };

  // ---- UTF-8 byte counts ----
  const NON_ASCII = /[^\x00-\x7f]/;
  const ASCII_RUNS = /[\x00-\x7f]+/g;
  // The exact UTF-8 size of `s` (a lone surrogate counts 3 bytes, as the host encodes it), or some
  // number over `stopAt` once it is known to exceed it.
  const utf8Length = (s, stopAt) => {
    if (s.length > stopAt) return s.length;
    if (!regexTest(NON_ASCII, s)) return s.length;
    // Only the non-ASCII code units are walked here; each ASCII run became one separator, so the
    // pairing of surrogates is exactly that of `s`.
    const rest = stringReplace(s, ASCII_RUNS, '\x00');
    let n = s.length;
    let wide = 0;
    for (let i = 0; i < rest.length; i++) {
      const c = charCodeAt(rest, i);
      if (c === 0) continue;
      wide++;
      if (c < 0x800) n += 1;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < rest.length) {
        const d = charCodeAt(rest, i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) { n += 2; i++; wide++; continue; } // 4 bytes for 2 units
        n += 2;
      } else n += 2;
      if (n > stopAt) return n;
    }
    return n;
  };

  // ---- errors handed to the guest ----
  const toolError = (message) => {
    const e = new ErrorCtor(message);
    add(toolErrors, e);
    return e;
  };
  const rejected = (e) => new PromiseCtor((_, reject) => reject(e));

  // ---- callTool ----
  // `{ throwOnError: false }`: a tool failure resolves to { ok: false, error: { message } } instead of
  // rejecting (limits stay terminal: they still throw).
  const softFailure = (message) => {
    const error = { message };
    return { ok: false, error };
  };
  const failed = (soft, message) => soft ? new PromiseCtor((resolve) => resolve(softFailure(message)))
    : rejected(toolError(message));
  const callTool = (name, args, options) => {
    if (sticky) throw terminal();
    let soft = false;
    if (options !== undefined && options !== null && typeof options === 'object') {
      const d = getOwnPropertyDescriptor(options, 'throwOnError');
      soft = d !== undefined && 'value' in d && d.value === false;
    }
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
      return failed(soft, 'callTool: the tool name must be a non-empty string of at most 256 characters');
    }
    if (args === undefined) args = {};
    if (args === null || typeof args !== 'object' || isArray(args)) {
      return failed(soft, 'callTool: arguments for "' + name + '" must be an object');
    }
    if (toolCalls >= cfg.maxToolCalls) {
      throw trip('MAX_TOOL_CALLS', 'Maximum tool calls exceeded (' + cfg.maxToolCalls + ')');
    }
    let json;
    try {
      json = stringify(args);
    } catch (e) {
      if (sticky) throw terminal();
      if (isExhaustion(e, 0) || isProtoOf(RangeErrorCtor.prototype, e)) {
        throw trip('MEMORY_LIMIT_EXCEEDED', 'Tool arguments for "' + name + '" are too large or too deep');
      }
      return failed(soft, 'callTool: arguments for "' + name + '" are not JSON-serializable');
    }
    if (sticky) throw terminal(); // a getter read while serializing may have tripped a limit
    if (typeof json !== 'string' || json[0] !== '{') {
      return failed(soft, 'callTool: arguments for "' + name + '" must serialize to a JSON object');
    }
    if (utf8Length(json, cfg.maxValueBytes) > cfg.maxValueBytes) {
      throw trip('MEMORY_LIMIT_EXCEEDED',
        'Tool arguments for "' + name + '" exceed ' + cfg.maxValueBytes + ' bytes');
    }
    toolCalls++;
    const id = nextId++;
    outbox[outbox.length] = id;
    outbox[outbox.length] = name;
    outbox[outbox.length] = json;
    return new PromiseCtor((resolve, reject) => { pending[id] = [resolve, reject, soft]; });
  };

  // `tools.a.b(args, options)` for each tool named `a:b` or `a.b` (identifier segments), built at init.
  const isSegment = (s) => {
    if (s.length === 0 || s.length > 64) return false;
    for (let i = 0; i < s.length; i++) {
      const c = charCodeAt(s, i);
      const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
      if (!letter && !(i > 0 && c >= 48 && c <= 57)) return false;
    }
    return true;
  };
  const segments = (name) => {
    const parts = nullArray();
    let start = 0;
    for (let i = 0; i <= name.length; i++) {
      const c = i < name.length ? charCodeAt(name, i) : 58;
      if (c === 58 || c === 46) { // ':' or '.'
        const part = apply(String.prototype.slice, name, [start, i]);
        if (!isSegment(part)) return null;
        parts[parts.length] = part;
        start = i + 1;
      }
    }
    return parts;
  };
  const toolsObject = (names) => {
    const root = setPrototypeOf({}, null);
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const parts = typeof name === 'string' ? segments(name) : null;
      if (parts === null || parts.length > 8) continue;
      let node = root;
      for (let j = 0; node !== null && j < parts.length - 1; j++) {
        const next = own(node, parts[j]);
        if (next === undefined) {
          const made = setPrototypeOf({}, null);
          defineProperty(node, parts[j], { value: made, enumerable: true });
          node = made;
        } else {
          node = typeof next === 'object' ? next : null; // a tool of that name holds the spot: use callTool
        }
      }
      const leaf = parts[parts.length - 1];
      if (node !== null && own(node, leaf) === undefined) {
        const call = (args, options) => callTool(name, args, options);
        defineProperty(node, leaf, { value: freeze(call), enumerable: true });
      }
    }
    return deepFreeze(root);
  };

  // ---- error names, read without running guest code ----
  const nameOf = (e) => {
    let p = e;
    for (let i = 0; i < 64 && p !== null && typeof p === 'object'; i++) {
      const d = getOwnPropertyDescriptor(p, 'name');
      if (d !== undefined) {
        if ('value' in d) return d.value;
        const known = apply(weakMapGet, errorNames, [p]);
        return known === undefined ? undefined : known;
      }
      p = getPrototypeOf(p);
    }
    return undefined;
  };

  // ---- console ----
  const formatError = (e) => {
    const name = nameOf(e);
    const message = own(e, 'message');
    return (typeof name === 'string' ? name : 'Error') + (typeof message === 'string' && message ? ': ' + message : '');
  };
  const format = (v) => {
    switch (typeof v) {
      case 'string': return v;
      case 'number': case 'boolean': case 'bigint': return '' + v;
      case 'undefined': return 'undefined';
      case 'symbol': return '[Symbol]';
      case 'function': return '[Function]';
    }
    if (v === null) return 'null';
    if (isProtoOf(ErrorProto, v)) return formatError(v);
    try {
      const s = stringify(v);
      return typeof s === 'string' ? s : '[Object]';
    } catch (e) {
      if (sticky) throw terminal();
      if (isExhaustion(e, 0)) throw trip('MEMORY_LIMIT_EXCEEDED', 'Memory limit exceeded');
      return '[Object]';
    }
  };
  const write = (level, args) => {
    if (sticky) throw terminal();
    if (++consoleCalls > cfg.consoleCalls) {
      throw new RangeErrorCtor('Console call limit exceeded (' + cfg.consoleCalls + ' calls)');
    }
    let line = '';
    for (let i = 0; i < args.length; i++) line += (i ? ' ' : '') + format(args[i]);
    if (sticky) throw terminal();
    const budget = cfg.consoleBytes - consoleBytes;
    const size = utf8Length(line, budget) + 1;
    if (size > budget) {
      consoleBytes = cfg.consoleBytes;
      throw new RangeErrorCtor('Console output limit exceeded (' + cfg.consoleBytes + ' bytes)');
    }
    consoleBytes += size;
    lines[lines.length] = line;
    levels[levels.length] = level;
  };
  const log = (...args) => write('log', args);
  const info = (...args) => write('info', args);
  const warn = (...args) => write('warn', args);
  const error = (...args) => write('error', args);
  const debug = (...args) => write('debug', args);
  const consoleObject = freeze({ log, info, warn, error, debug });

  // ---- the final result ----
  const errorRecord = (e) => {
    let code = 'RUNTIME_ERROR';
    if (sticky) code = sticky;
    else if (isExhaustion(e, 0)) { code = 'MEMORY_LIMIT_EXCEEDED'; sticky = code; stickyMessage = 'Memory limit exceeded'; }
    else if (e !== null && typeof e === 'object' && has(toolErrors, e)) code = 'TOOL_ERROR';
    let name = 'Error', message = '', stack = '';
    if (sticky) {
      message = stickyMessage;
    } else if (e !== null && typeof e === 'object' && isProtoOf(ErrorProto, e)) {
      const n = nameOf(e);
      const m = own(e, 'message');
      let s;
      try { s = e.stack; } catch (_) { s = ''; }
      if (sticky) return errorRecord(null); // the stack getter tripped a limit
      name = typeof n === 'string' ? n : 'Error';
      message = typeof m === 'string' ? m : '';
      stack = typeof s === 'string' ? s : '';
    } else if (e !== null && typeof e === 'object') {
      try { const s = stringify(e); message = typeof s === 'string' ? s : '[object]'; } catch (_) { message = '[object]'; }
      if (sticky) return errorRecord(null);
    } else {
      try { message = typeof e === 'symbol' ? '[Symbol]' : '' + e; } catch (_) { message = '[value]'; }
    }
    // The error crosses the boundary like any value: capped at the value size.
    const budget = cfg.maxValueBytes;
    if (!sticky && utf8Length(name, budget) + utf8Length(message, budget) + utf8Length(stack, budget) > budget) {
      refuse('The error thrown exceeds ' + budget + ' bytes');
      return errorRecord(null);
    }
    const rec = nullArray();
    rec[0] = 'err'; rec[1] = code; rec[2] = name; rec[3] = message; rec[4] = stack;
    return rec;
  };
  // The script's `state` after it returned, as JSON ('' when the run has no state).
  const stateJson = () => {
    if (!hasState) return '';
    const d = getOwnPropertyDescriptor(G, 'state');
    const json = stringify(d && 'value' in d ? d.value : undefined);
    if (typeof json !== 'string') {
      throw new TypeErrorCtor('state must stay JSON data (an object, array, string, number, boolean or null)');
    }
    if (utf8Length(json, cfg.maxStateBytes) > cfg.maxStateBytes) {
      throw trip('MEMORY_LIMIT_EXCEEDED', 'The state exceeds ' + cfg.maxStateBytes + ' bytes');
    }
    return json;
  };
  const onDone = (value) => {
    if (sticky) { final = errorRecord(null); return; }
    let state;
    try {
      state = stateJson();
    } catch (e) {
      final = errorRecord(e);
      return;
    }
    let json;
    try {
      json = value === undefined ? '' : stringify(value);
    } catch (e) {
      if (sticky || isExhaustion(e, 0)) { final = errorRecord(e); return; }
      const rec = nullArray();
      rec[0] = 'err'; rec[1] = 'RUNTIME_ERROR'; rec[2] = 'TypeError';
      rec[3] = 'The returned value is not JSON-serializable'; rec[4] = '';
      final = rec;
      return;
    }
    if (sticky) { final = errorRecord(null); return; }
    if (json === undefined) json = '';
    if (utf8Length(json, cfg.maxValueBytes) > cfg.maxValueBytes) {
      trip('MEMORY_LIMIT_EXCEEDED', 'The returned value exceeds ' + cfg.maxValueBytes + ' bytes');
      final = errorRecord(null);
      return;
    }
    const rec = nullArray();
    rec[0] = 'ok'; rec[1] = json; rec[2] = state;
    final = rec;
  };
  const onFail = (e) => { final = errorRecord(e); };

  // ---- hardening ----
  const thrower = () => { throw new TypeErrorCtor('Code generation from strings is not allowed'); };
  const lock = (obj, key, value) => defineProperty(obj, key, { value, writable: false, enumerable: false, configurable: false });
  // Put `fn` where the native `obj[key]` was, with the native's name and length.
  const replaceMethod = (obj, key, fn) => {
    const old = getOwnPropertyDescriptor(obj, key);
    const native = old && old.value;
    defineProperty(fn, 'name', { value: typeof native === 'function' ? native.name : StringCtor(key) });
    defineProperty(fn, 'length', { value: typeof native === 'function' ? native.length : 0 });
    defineProperty(obj, key, { value: fn, writable: true, enumerable: false, configurable: true });
  };
  // A method-shaped function (no `prototype`, not a constructor), like the natives.
  const method = (body) => ({ m(...args) { return apply(body, this, args); } }).m;

  // No code generation from strings.
  const removeCodeGeneration = (fnProtos) => {
    for (let i = 0; i < fnProtos.length; i++) lock(fnProtos[i], 'constructor', thrower);
    delete G.eval;
    delete G.Function;
  };

  // Math.random() and the current time: recorded for durable runs, given back on their replay.
  const replayEntropy = () => {
    const liveRandom = Math.random;
    const RealDate = Date;
    const liveNow = RealDate.now;
    const next = (live) => {
      if (replayAt < replay.length) return replay[replayAt++];
      const v = live();
      if (recording) {
        if (recorded < cfg.maxRecorded) { recorded++; entropy[entropy.length] = v; }
        else recordOverflow = true;
      }
      return v;
    };
    const random = () => next(liveRandom);
    const dateNow = () => next(liveNow);
    defineProperty(Math, 'random', { value: random, writable: false, enumerable: false, configurable: false });
    const DateShim = class Date extends RealDate {
      constructor(...args) {
        if (args.length === 0) super(dateNow());
        else super(...args);
      }
    };
    defineProperty(DateShim, 'now', { value: dateNow, writable: false, enumerable: false, configurable: false });
    defineProperty(G, 'Date', { value: DateShim, writable: false, enumerable: false, configurable: false });
    freeze(DateShim);
    freeze(DateShim.prototype);
  };

  // The legacy accessor API reaches what the static rules forbid by computed names.
  const removeLegacyAccessors = () => {
    const OP = ObjectCtor.prototype;
    const keys = ['__proto__', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__'];
    for (let i = 0; i < keys.length; i++) delete OP[keys[i]];
  };

  // No V8-style stack API: a stack is text, never call sites holding functions (prepareStackTrace
  // handed out the control function while a script ran inside it). Deleting the accessors leaves the
  // engine's hook unset for good. Every error prototype is frozen later; its `name` and `message`
  // become accessors whose setter gives the instance its own property, so `e.name = 'NotFound'` and
  // `this.name = ...` in a subclass still work on frozen prototypes.
  const hardenErrors = () => {
    const statics = ['prepareStackTrace', 'captureStackTrace', 'stackTraceLimit'];
    for (let i = 0; i < statics.length; i++) delete ErrorCtor[statics[i]];
    const ownSetter = (key) => method(function (value) {
      defineProperty(this, key, { value, writable: true, enumerable: true, configurable: true });
    });
    const setName = ownSetter('name');
    const setMessage = ownSetter('message');
    const ctors = errorConstructors();
    for (let i = 1; i < ctors.length; i += 2) {
      const proto = ctors[i];
      const n = getOwnPropertyDescriptor(proto, 'name');
      if (n !== undefined && 'value' in n) {
        const value = n.value;
        apply(weakMapSet, errorNames, [proto, value]);
        defineProperty(proto, 'name', { get: method(() => value), set: setName, enumerable: false, configurable: true });
      }
      const m = getOwnPropertyDescriptor(proto, 'message');
      if (m !== undefined && 'value' in m) {
        const value = m.value;
        defineProperty(proto, 'message', { get: method(() => value), set: setMessage, enumerable: false, configurable: true });
      }
    }
  };

  // Terminal limits stay terminal through promise handlers: every handler given to `then` (and so to
  // `catch`, `finally`, the combinators and thenable adoption, which all call `then`) first shows the
  // value to `observe`, which re-throws the terminal error once a limit tripped or the value is an
  // engine exhaustion error. `await` and async iteration reach the instrumented `catch` instead.
  const hardenPromises = () => {
    const PP = PromiseCtor.prototype;
    const guardHandler = (h) => {
      if (typeof h !== 'function') return h;
      return (v) => {
        if (sticky) throw terminal();
        return h(v);
      };
    };
    const guardRejection = (h) => {
      if (typeof h !== 'function') return h;
      return (reason) => {
        observe(reason);
        return h(reason);
      };
    };
    replaceMethod(PP, 'then', method(function (onFulfilled, onRejected) {
      return apply(promiseThen, this, [guardHandler(onFulfilled), guardRejection(onRejected)]);
    }));
    // A guest rejecting with null/undefined marks those values as its own (see isExhaustion).
    replaceMethod(PromiseCtor, 'reject', method(function (reason) {
      if (reason === null || reason === undefined) nullishThrown = true;
      return apply(promiseReject, this, [reason]);
    }));
  };

  // Proxies are recorded, so "a genuine array" (whose `length` is plain data) can be told apart.
  const trackProxies = () => {
    if (typeof ProxyCtor !== 'function') return;
    // A bound function: constructible, without a `prototype`, like the native; its target stays hidden.
    const make = function (target, handler) {
      if (new.target === undefined) throw new TypeErrorCtor("Constructor Proxy requires 'new'");
      const p = new ProxyCtor(target, handler);
      add(proxies, p);
      return p;
    };
    const P = apply(bind, make, [undefined]);
    defineProperty(P, 'name', { value: 'Proxy' });
    defineProperty(P, 'length', { value: 2 });
    const revocable = method(function (target, handler) {
      const r = apply(proxyRevocable, ProxyCtor, [target, handler]);
      add(proxies, r.proxy);
      return r;
    });
    replaceMethod(P, 'revocable', revocable);
    defineProperty(G, 'Proxy', { value: P, writable: true, enumerable: false, configurable: true });
  };

  // ---- natives that loop over a length in C without polling the interrupt ----
  const isGenuineArray = (v) => isArray(v) && !has(proxies, v);
  const toLength = (v) => {
    const n = +v;
    if (!(n > 0)) return 0;
    return n >= 9007199254740991 ? 9007199254740991 : floor(n);
  };
  const tooLong = (what, len, cap) => refuse(what + ': ' + len + ' elements is over the sandbox limit (' + cap + ')');
  // A receiver whose length the native reads once and for all: its own, fixed `length`.
  const fixedLength = (obj, len) => create(obj, { length: { value: len, writable: false, enumerable: false, configurable: false } });

  // The Array methods whose C loop over the length never polls the interrupt (QuickJS-NG 0.17; every,
  // some, forEach, map, filter, reduce*, find*, indexOf, lastIndexOf and includes poll). Mutators run
  // on genuine arrays only; the others get a receiver whose length was read once.
  const MUTATORS = ['reverse', 'fill', 'copyWithin', 'sort', 'splice', 'shift', 'unshift'];
  const WALKERS = ['join', 'toString', 'toLocaleString', 'slice', 'toReversed', 'toSorted', 'toSpliced', 'with'];
  const isMutator = (key) => {
    for (let i = 0; i < MUTATORS.length; i++) if (MUTATORS[i] === key) return true;
    return false;
  };
  // The elements a call may walk: its length, and for sorts without a comparison function less.
  const capFor = (key, args) => ((key === 'sort' || key === 'toSorted') && args[0] === undefined ? SORT_CAP : WORK_CAP);

  const guardArrayMethods = () => {
    const AP = Array.prototype;
    const all = MUTATORS.concat(WALKERS);
    for (let i = 0; i < all.length; i++) {
      const key = all[i];
      const native = AP[key];
      if (typeof native !== 'function') continue;
      const mutates = isMutator(key);
      replaceMethod(AP, key, { [key](...args) {
        const recv = this;
        if (recv === null || recv === undefined) return apply(native, recv, args); // the native throws
        const cap = capFor(key, args);
        if (isGenuineArray(recv)) {
          const len = recv.length;
          if (len > cap) throw tooLong('Array.prototype.' + key, len, cap);
          if (len > 4096) pollNow(); // nested calls (a join of arrays) each take a while
          return apply(native, recv, args);
        }
        if (mutates) {
          throw new TypeErrorCtor('Array.prototype.' + key + ' works on arrays only in the sandbox');
        }
        const obj = ObjectCtor(recv);
        const len = toLength(obj.length);
        if (len > cap) throw tooLong('Array.prototype.' + key, len, cap);
        if (len > 4096) pollNow();
        return apply(native, fixedLength(obj, len), args);
      } }[key]);
    }
    guardConcat(AP);
    guardFlat(AP);
    guardArrayFrom();
  };

  // concat spreads its receiver and each argument that is concat-spreadable: it reads that flag and
  // each length itself. Each is read once here and the native gets items that cannot answer otherwise.
  const guardConcat = (AP) => {
    const native = AP.concat;
    const plainArray = (v) => isGenuineArray(v) && getOwnPropertyDescriptor(v, symbolSpreadable) === undefined;
    const normalize = (item, out, budget) => {
      if (item === null || (typeof item !== 'object' && typeof item !== 'function')) {
        out[out.length] = item;
        return 1;
      }
      if (plainArray(item)) {
        out[out.length] = item;
        return item.length;
      }
      const flag = item[symbolSpreadable];
      const spreadable = flag === undefined ? isArray(item) : !!flag;
      if (!spreadable) {
        out[out.length] = [item]; // a genuine one-element array: spread, it yields `item` unchanged
        return 1;
      }
      const len = toLength(item.length);
      if (len <= budget) {
        out[out.length] = create(item, {
          length: { value: len },
          [symbolSpreadable]: { value: true },
        });
      }
      return len;
    };
    replaceMethod(AP, 'concat', method(function (...args) {
      const recv = this;
      if (recv === null || recv === undefined) return apply(native, recv, args);
      const items = [];
      let total = 0;
      const keepReceiver = plainArray(recv);
      total += keepReceiver ? recv.length : normalize(ObjectCtor(recv), items, WORK_CAP);
      for (let i = 0; i < args.length && total <= WORK_CAP; i++) total += normalize(args[i], items, WORK_CAP - total);
      if (total > WORK_CAP) throw tooLong('Array.prototype.concat', total, WORK_CAP);
      return keepReceiver ? apply(native, recv, items) : apply(native, [], items);
    }));
  };

  // flat and flatMap recurse into every nested array, reading each length: done here in JS, where the
  // interrupt is polled, instead.
  const guardFlat = (AP) => {
    const define = (target, index, value) => {
      defineProperty(target, index, { value, writable: true, enumerable: true, configurable: true });
    };
    const flattenInto = (target, at, source, len, depth, mapper, thisArg) => {
      let n = at;
      for (let k = 0; k < len; k++) {
        poll();
        if (!(k in source)) continue;
        let el = source[k];
        if (mapper !== undefined) el = apply(mapper, thisArg, [el, k, source]);
        if (depth > 0 && isArray(el)) {
          n = flattenInto(target, n, el, toLength(el.length), depth - 1, undefined, undefined);
        } else {
          define(target, n, el);
          n++;
        }
      }
      return n;
    };
    replaceMethod(AP, 'flat', method(function (depth) {
      const obj = ObjectCtor(this);
      const len = toLength(obj.length);
      let d = depth === undefined ? 1 : +depth;
      if (d !== d || d < 0) d = 0;
      const target = [];
      flattenInto(target, 0, obj, len, floor(d), undefined, undefined);
      return target;
    }));
    replaceMethod(AP, 'flatMap', method(function (mapper, thisArg) {
      const obj = ObjectCtor(this);
      const len = toLength(obj.length);
      if (typeof mapper !== 'function') throw new TypeErrorCtor('flatMap: the mapper is not a function');
      const target = [];
      flattenInto(target, 0, obj, len, 1, mapper, thisArg);
      return target;
    }));
  };

  // Array.from over an array-like reads its length once and walks it (holes included) in C. An
  // iterable is walked by `next` calls, which poll (see guardArrayIterator).
  const guardArrayFrom = () => {
    const native = Array.from;
    replaceMethod(Array, 'from', method(function (items, mapFn, thisArg) {
      if (items === null || items === undefined) return apply(native, this, [items]); // the native throws
      if (isGenuineArray(items) && getOwnPropertyDescriptor(items, symbolIterator) === undefined) {
        return apply(native, this, [items, mapFn, thisArg]);
      }
      const obj = ObjectCtor(items);
      const iter = obj[symbolIterator];
      const mapped = mapFn !== undefined;
      if (iter !== undefined && iter !== null) {
        // The method is read once: the native gets an iterable that cannot answer otherwise.
        return apply(native, this, [{ [symbolIterator]: () => apply(iter, obj, []) }, mapFn, thisArg]);
      }
      const len = toLength(obj.length);
      // With a map function every element is a JS call, which polls.
      if (len > WORK_CAP && !mapped) throw tooLong('Array.from', len, WORK_CAP);
      return apply(native, this, [fixedLength(obj, len), mapFn, thisArg]);
    }));
  };

  // The array iterator's `next` re-reads the length of what it walks (a sparse array, an array-like)
  // and natives that drain an iterator (new Set(it), Iterator helpers, Set methods) call it in C:
  // as a JS function, every step polls the interrupt.
  const guardArrayIterator = () => {
    const AIP = getPrototypeOf([][symbolIterator]());
    const native = AIP.next;
    const nativeNext = apply(bind, call, [native]);
    replaceMethod(AIP, 'next', { next() { poll(); return nativeNext(this); } }.next);
  };

  const guardTypedArrays = () => {
    const TA = G.Uint8Array ? getPrototypeOf(G.Uint8Array) : null;
    if (!TA) return;
    const TAP = TA.prototype;
    const lengthOf = getOwnPropertyDescriptor(TAP, 'length').get;
    const guard = (key, cap) => {
      const native = TAP[key];
      if (typeof native !== 'function') return;
      replaceMethod(TAP, key, method(function (...args) {
        let len;
        try { len = apply(lengthOf, this, []); } catch (_) { return apply(native, this, args); } // not one
        const limit = typeof cap === 'function' ? cap(args) : cap;
        if (len > limit) throw tooLong('TypedArray.prototype.' + key, len, limit);
        if (key === 'set' && args[0] !== null && typeof args[0] === 'object') {
          // An array-like source is read element by element in C: its length is read once here.
          const src = args[0];
          let typed = true;
          try { apply(lengthOf, src, []); } catch (_) { typed = false; }
          if (!typed) {
            const srcLen = toLength(src.length);
            if (srcLen > WORK_CAP) throw tooLong('TypedArray.prototype.set', srcLen, WORK_CAP);
            return apply(native, this, [fixedLength(src, srcLen), args[1]]);
          }
        }
        return apply(native, this, args);
      }));
    };
    // Tight C loops (no callback, so no poll): bounded by the heap, capped so that none runs long.
    const tight = ['fill', 'indexOf', 'lastIndexOf', 'includes', 'reverse', 'toReversed', 'slice', 'copyWithin',
      'with', 'set'];
    for (let i = 0; i < tight.length; i++) guard(tight[i], TYPED_CAP);
    guard('join', WORK_CAP);
    guard('toLocaleString', WORK_CAP);
    // A comparison function is a JS call per comparison, which polls; the numeric sort is n log n in C.
    const sortCap = (args) => (args[0] === undefined ? TYPED_SORT_CAP : TYPED_CAP);
    guard('sort', sortCap);
    guard('toSorted', sortCap);
  };

  // String searches compare the pattern at every position in C (n * m). Over SEARCH_CAP comparisons
  // they run here, as native searches over windows of the string, polling between windows.
  const guardStrings = () => {
    const SP = StringCtor.prototype;
    const nativeIndexOf = SP.indexOf;
    const nativeIncludes = SP.includes;
    const nativeLastIndexOf = SP.lastIndexOf;
    const toStr = (v) => {
      if (typeof v === 'string') return v;
      if (typeof v === 'symbol') throw new TypeErrorCtor('Cannot convert a Symbol value to a string');
      return StringCtor(v);
    };
    const toInt = (v) => {
      const n = +v;
      if (n !== n) return 0;
      return n < 0 ? -floor(-n) : floor(n);
    };
    const isObject = (v) => v !== null && (typeof v === 'object' || typeof v === 'function');
    const isRegExp = (v) => {
      if (!isObject(v)) return false;
      const m = v[symbolMatch];
      return m !== undefined ? !!m : isProtoOf(RegExpProto, v);
    };
    // A pattern of up to 16 characters costs at most ~16 comparisons per position: left to the native.
    const costly = (s, p) => p.length > 16 && s.length * (p.length + 1) > SEARCH_CAP;
    // The window last searched: a split or replace over many matches walks the string once.
    let winS = '', winP = '', winStart = -1, win = '';
    // The first index >= from where p occurs in s, or -1.
    const indexFrom = (s, p, from) => {
      const n = s.length, m = p.length;
      if (!costly(s, p)) return apply(nativeIndexOf, s, [p, from]);
      const step = floor(SEARCH_CAP / (m + 1)) + 1;
      for (let at = from; at + m <= n;) {
        if (winS !== s || winP !== p || at < winStart || at >= winStart + step) {
          winS = s; winP = p; winStart = at;
          win = stringSlice(s, at, at + step + m - 1);
        }
        pollNow();
        const i = apply(nativeIndexOf, win, [p, at - winStart]);
        if (i >= 0) return winStart + i;
        at = winStart + step;
      }
      return -1;
    };
    // The last index <= from where p occurs in s, or -1.
    const lastIndexFrom = (s, p, from) => {
      const m = p.length;
      if (!costly(s, p)) return apply(nativeLastIndexOf, s, [p, from]);
      const step = floor(SEARCH_CAP / (m + 1)) + 1;
      for (let end = from; end >= 0; end -= step) {
        const start = end - step + 1 < 0 ? 0 : end - step + 1;
        pollNow();
        const window = stringSlice(s, start, end + m);
        const i = apply(nativeLastIndexOf, window, [p]);
        if (i >= 0) return start + i;
      }
      return -1;
    };
    const clamp = (v, lo, hi) => (v < lo ? lo : v > hi ? hi : v);
    replaceMethod(SP, 'indexOf', method(function (search, position) {
      if (this === null || this === undefined) return apply(nativeIndexOf, this, [search, position]);
      const s = toStr(this), p = toStr(search);
      return indexFrom(s, p, clamp(toInt(position), 0, s.length));
    }));
    replaceMethod(SP, 'includes', method(function (search, position) {
      if (this === null || this === undefined) return apply(nativeIncludes, this, [search, position]);
      const s0 = toStr(this);
      if (isRegExp(search)) throw new TypeErrorCtor('String.prototype.includes: the search string must not be a regular expression');
      const s = s0, p = toStr(search);
      return indexFrom(s, p, clamp(toInt(position), 0, s.length)) >= 0;
    }));
    replaceMethod(SP, 'lastIndexOf', method(function (search, position) {
      if (this === null || this === undefined) return apply(nativeLastIndexOf, this, [search, position]);
      const s = toStr(this), p = toStr(search);
      const n = +position;
      const pos = n !== n ? s.length : toInt(n);
      const from = clamp(pos, 0, s.length - p.length);
      return s.length < p.length ? -1 : lastIndexFrom(s, p, from);
    }));
    const nativeSplit = SP.split;
    replaceMethod(SP, 'split', method(function (separator, limit) {
      if (this === null || this === undefined) return apply(nativeSplit, this, [separator, limit]);
      if (isObject(separator)) {
        const splitter = separator[symbolSplit]; // read once: a regex splits itself, polling
        if (splitter !== undefined && splitter !== null) return apply(splitter, separator, [this, limit]);
      }
      const s = toStr(this);
      const lim = limit === undefined ? 4294967295 : (+limit >>> 0);
      if (separator === undefined) return apply(nativeSplit, s, [separator, lim]);
      const sep = toStr(separator);
      if (!costly(s, sep) || sep.length === 0) return apply(nativeSplit, s, [sep, lim]);
      const out = [];
      if (lim === 0) return out;
      let p = 0;
      for (;;) {
        const e = indexFrom(s, sep, p);
        if (e < 0) break;
        out[out.length] = stringSlice(s, p, e);
        if (out.length === lim) return out;
        p = e + sep.length;
      }
      out[out.length] = stringSlice(s, p, s.length);
      return out;
    }));
    const nativeReplace = SP.replace;
    const nativeReplaceAll = SP.replaceAll;
    const substitute = (template, matched, position, s) => {
      let out = '';
      for (let i = 0; i < template.length; i++) {
        const c = template[i];
        if (c !== '$' || i + 1 >= template.length) { out += c; continue; }
        const d = template[i + 1];
        if (d === '$') { out += '$'; i++; } else if (d === '&') { out += matched; i++; } else if (d === '`') { out += stringSlice(s, 0, position); i++; } else if (d === "'") { out += stringSlice(s, position + matched.length, s.length); i++; } else out += c;
      }
      return out;
    };
    const guardReplace = (key, native, all) => {
      replaceMethod(SP, key, method(function (pattern, replacement) {
        if (this === null || this === undefined) return apply(native, this, [pattern, replacement]);
        if (isObject(pattern)) {
          if (all && isRegExp(pattern) && apply(nativeIndexOf, toStr(pattern.flags), ['g']) < 0) {
            throw new TypeErrorCtor('String.prototype.replaceAll: a regular expression needs the g flag');
          }
          const replacer = pattern[symbolReplace]; // read once: a regex replaces itself, polling
          if (replacer !== undefined && replacer !== null) return apply(replacer, pattern, [this, replacement]);
        }
        const s = toStr(this), p = toStr(pattern);
        const fn = typeof replacement === 'function' ? replacement : undefined;
        const template = fn === undefined ? toStr(replacement) : '';
        if (!costly(s, p) || p.length === 0) return apply(native, s, [p, fn === undefined ? template : fn]);
        let out = '';
        let last = 0;
        for (let from = 0; ;) {
          const at = indexFrom(s, p, from);
          if (at < 0) break;
          out += stringSlice(s, last, at) + (fn !== undefined ? toStr(fn(p, at, s)) : substitute(template, p, at, s));
          last = at + p.length;
          from = last;
          if (!all) break;
        }
        return out + stringSlice(s, last, s.length);
      }));
    };
    guardReplace('replace', nativeReplace, false);
    if (typeof nativeReplaceAll === 'function') guardReplace('replaceAll', nativeReplaceAll, true);
  };

  // JSON.rawJSON puts text into JSON output unchecked: a number the host cannot read back as a finite
  // number (`1e400` is infinite for it, a 5000-digit integer over its parser's limit) is refused here.
  const guardRawJson = () => {
    const native = JSON.rawJSON;
    if (typeof native !== 'function') return;
    replaceMethod(JSON, 'rawJSON', method(function (text) {
      const s = toStrOnce(text);
      let v;
      try { v = parse(s); } catch (_) { return apply(native, JSON, [s]); } // the native throws
      if (typeof v === 'number' && (!isFiniteNumber(v) || s.length > 1000)) {
        throw new RangeErrorCtor('JSON.rawJSON: ' + stringSlice(s, 0, 40) + ' is not a number every JSON reader accepts');
      }
      return apply(native, JSON, [s]);
    }));
  };
  const toStrOnce = (v) => (typeof v === 'string' ? v : typeof v === 'symbol' ? '' + v : StringCtor(v));

  // The intrinsics the prelude relies on are frozen (it shares them with the guest, so a change would
  // fail loudly instead of reaching the prelude), with every Error constructor and prototype and the
  // hidden prototypes it put guards on. Freezing costs ~1 us per property, so the rest (Map, Date, ...)
  // stays as the engine made it: only the guest itself could see a change there.
  const reliedOn = () => {
    const list = [ObjectCtor, ObjectCtor.prototype, Array, Array.prototype, StringCtor, StringCtor.prototype,
      Number.prototype, Boolean.prototype, Symbol, Symbol.prototype, PromiseCtor, PromiseCtor.prototype, JSON,
      Math, Reflect, RegExp, RegExpProto, WeakSetCtor.prototype, WeakMapCtor.prototype, Date, G.Proxy,
      getPrototypeOf([][symbolIterator]()), getPrototypeOf(async () => {}), getPrototypeOf(function* () {}),
      getPrototypeOf(async function* () {})];
    const tryPush = (f) => { try { const v = f(); if (v !== null && v !== undefined) list[list.length] = v; } catch (_) { /* absent here */ } };
    tryPush(() => G.BigInt.prototype);
    tryPush(() => G.Uint8Array && getPrototypeOf(G.Uint8Array));
    tryPush(() => G.Uint8Array && getPrototypeOf(G.Uint8Array).prototype);
    tryPush(() => G.Iterator);
    tryPush(() => Array.prototype[Symbol.unscopables]);
    const ctors = errorConstructors();
    for (let i = 0; i < ctors.length; i++) list[list.length] = ctors[i];
    return list;
  };
  const freezeAll = (roots) => {
    for (let r = 0; r < roots.length; r++) {
      // Each one with its prototype chain (the function prototypes, %IteratorPrototype%, ...).
      for (let p = roots[r]; p !== null && (typeof p === 'object' || typeof p === 'function'); p = getPrototypeOf(p)) {
        if (p !== G) freeze(p);
      }
    }
  };
  // The global object itself: every binding locked, nothing added after `init`.
  const lockGlobal = () => {
    const keys = ownKeys(G);
    for (let i = 0; i < keys.length; i++) {
      const d = getOwnPropertyDescriptor(G, keys[i]);
      if (d !== undefined && d.configurable) {
        if ('value' in d) defineProperty(G, keys[i], { writable: false, configurable: false });
        else defineProperty(G, keys[i], { configurable: false });
      }
    }
    preventExtensions(G);
  };

  const harden = () => {
    const fnProtos = [
      Function.prototype,
      getPrototypeOf(async () => {}),
      getPrototypeOf(function* () {}),
      getPrototypeOf(async function* () {}),
    ];
    removeCodeGeneration(fnProtos);
    replayEntropy();
    removeLegacyAccessors();
    hardenErrors();
    hardenPromises();
    trackProxies();
    guardArrayMethods();
    guardArrayIterator();
    guardTypedArrays();
    guardStrings();
    guardRawJson();
  };

  const defineGlobal = (key, value) => lock(G, key, value);

  const deepFreeze = (v) => {
    if (v !== null && typeof v === 'object') {
      const keys = getOwnPropertyNames(v);
      for (let i = 0; i < keys.length; i++) deepFreeze(v[keys[i]]);
      freeze(v);
    }
    return v;
  };

  // Everything that does not depend on the run is done when the context is warmed, before a run.
  harden();
  defineGlobal('callTool', callTool);
  defineGlobal('console', consoleObject);
  defineGlobal('__ag_iter', iterHook);
  defineGlobal('__ag_tick', tickHook);
  defineGlobal('__ag_catch', catchHook);
  defineGlobal('__ag_thr', throwHook);
  freezeAll(reliedOn());

  // ---- the control function: only the host holds it ----
  return (op, arg) => {
    switch (op) {
      case 'init': {
        if (cfg !== null) throw new TypeErrorCtor('already initialised');
        const c = parse(arg);
        cfg = c;
        const globals = parse(c.globals);
        const names = getOwnPropertyNames(globals);
        for (let i = 0; i < names.length; i++) defineGlobal(names[i], deepFreeze(globals[names[i]]));
        if (isArray(c.toolNames)) defineGlobal('tools', toolsObject(c.toolNames));
        if (typeof c.state === 'string') {
          hasState = true;
          defineProperty(G, 'state', { value: parse(c.state), writable: true, enumerable: false, configurable: false });
        }
        recording = c.recordEntropy === true;
        if (isArray(c.entropy)) replay = c.entropy;
        lockGlobal();
        return undefined;
      }
      case 'start': {
        // `arg` is the compiled async function of the script.
        let p;
        try {
          p = arg();
        } catch (e) {
          onFail(e);
          return undefined;
        }
        apply(promiseThen, p, [onDone, onFail]);
        return undefined;
      }
      case 'settle': {
        // [[id, 1, value] | [id, 0, message], ...]: the results arrive already parsed with the array.
        const results = parse(arg);
        for (let i = 0; i < results.length; i++) {
          const r = results[i];
          const entry = pending[r[0]];
          if (entry === undefined) continue;
          delete pending[r[0]];
          if (entry[2]) entry[0](r[1] ? { ok: true, value: r[2] } : softFailure(r[2]));
          else if (r[1]) entry[0](r[2]);
          else entry[1](toolError(r[2]));
        }
        return undefined;
      }
      case 'trip': {
        trip(arg, 'terminated');
        return undefined;
      }
      case 'drain': {
        const rec = nullArray();
        rec[0] = sticky; rec[1] = stickyMessage; rec[2] = iterations; rec[3] = outbox; rec[4] = lines;
        rec[5] = final; rec[6] = levels; rec[7] = entropy; rec[8] = recordOverflow;
        outbox = nullArray();
        lines = nullArray();
        levels = nullArray();
        entropy = nullArray();
        return stringify(rec);
      }
    }
    throw new TypeErrorCtor('unknown op');
  };
})()
