// The prelude runs first in every fresh context. It evaluates to one control function that only the
// host holds (it is never put on the global object). Guest code sees `callTool`, `console`, the
// instrumentation hooks and its globals; the bridge state lives in this closure.
//
// Everything that leaves the engine is built from primitives by the captured JSON.stringify or by
// string concatenation, so a guest that pollutes prototypes (toJSON, setters, then) cannot forge it.
(() => {
  'use strict';
  const G = globalThis;
  const apply = Reflect.apply;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const freeze = Object.freeze;
  const defineProperty = Object.defineProperty;
  const getPrototypeOf = Object.getPrototypeOf;
  const setPrototypeOf = Object.setPrototypeOf;
  const getOwnPropertyNames = Object.getOwnPropertyNames;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const isArray = Array.isArray;
  const PromiseCtor = Promise;
  const promiseThen = Promise.prototype.then;
  const now = Date.now;
  const WeakSetCtor = WeakSet;
  const weakSetAdd = WeakSet.prototype.add;
  const weakSetHas = WeakSet.prototype.has;
  // charCodeAt(s, i): the intrinsic, bound before any guest code runs (no argument array per call).
  const charCodeAt = Function.prototype.call.bind(String.prototype.charCodeAt);
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const RangeErrorCtor = RangeError;
  const ErrorProto = Error.prototype;
  const InternalErrorProto = G.InternalError ? G.InternalError.prototype : null;
  const StringCtor = String;

  const nullArray = () => setPrototypeOf([], null);
  const own = (obj, key) => {
    const d = getOwnPropertyDescriptor(obj, key);
    return d && 'value' in d ? d.value : undefined;
  };

  // ---- configuration (set once by `init`) ----
  let cfg = null;
  let maxArrayLength = 1000000;

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
  const pending = Object.create(null);
  const toolErrors = new WeakSetCtor();
  const terminalErrors = new WeakSetCtor();

  const isProtoOf = (proto, value) => {
    let p = value;
    for (let i = 0; i < 64 && p !== null && (typeof p === 'object' || typeof p === 'function'); i++) {
      p = getPrototypeOf(p);
      if (p === proto) return true;
    }
    return false;
  };

  // Engine resource exhaustion: the allocator failed (often it cannot even build an error and throws
  // null or an uninitialized value), or a string/array grew past what the engine can hold.
  const isExhaustion = (e) => {
    if (e === null || e === undefined) return !nullishThrown;
    const t = typeof e;
    if (t !== 'object' && t !== 'function' && t !== 'string' && t !== 'number' && t !== 'boolean' &&
        t !== 'bigint' && t !== 'symbol') return true;
    if (InternalErrorProto !== null && t === 'object' && isProtoOf(InternalErrorProto, e)) {
      const m = own(e, 'message');
      return m === 'out of memory' || m === 'string too long';
    }
    return false;
  };

  const terminal = () => {
    let e;
    try {
      e = new ErrorCtor(stickyMessage);
      apply(weakSetAdd, terminalErrors, [e]);
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
  const checkDeadline = () => {
    if (now() > cfg.deadline) throw trip('TIMEOUT', 'Execution timed out after ' + cfg.timeout + 'ms');
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
  // `target` is the `new.target` of a script's `function`: those are never constructors.
  const tickHook = (target) => {
    if (target !== undefined) throw new TypeErrorCtor('A function cannot be called with new; use a class');
    if (sticky) throw terminal();
    if (++ticks >= 64) { ticks = 0; checkDeadline(); }
  };
  const catchHook = (e) => {
    if (sticky) throw terminal();
    if (isExhaustion(e)) throw trip('MEMORY_LIMIT_EXCEEDED', 'Memory limit exceeded');
  };
  const throwHook = (v) => {
    if (v === null || v === undefined) nullishThrown = true;
    return v;
  };

  // ---- bounded byte counting (UTF-8) ----
  const utf8Length = (s, stopAt) => {
    if (s.length * 3 <= stopAt) return s.length; // cannot exceed; a lower bound is enough
    if (s.length > stopAt) return s.length;      // exceeds already, one byte per character at least
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = charCodeAt(s, i);
      n += c < 0x80 ? 1 : c < 0x800 ? 2 : (c >= 0xd800 && c <= 0xdbff) ? 2 : 3;
      if (n > stopAt) return n;
    }
    return n;
  };

  // ---- errors handed to the guest ----
  const toolError = (message) => {
    const e = new ErrorCtor(message);
    apply(weakSetAdd, toolErrors, [e]);
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
      if (isExhaustion(e) || isProtoOf(RangeErrorCtor.prototype, e)) {
        throw trip('MEMORY_LIMIT_EXCEEDED', 'Tool arguments for "' + name + '" are too large or too deep');
      }
      return failed(soft, 'callTool: arguments for "' + name + '" are not JSON-serializable');
    }
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

  // ---- console ----
  const formatError = (e) => {
    const name = own(e, 'name') ?? own(getPrototypeOf(e), 'name') ?? 'Error';
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
      if (isExhaustion(e)) throw trip('MEMORY_LIMIT_EXCEEDED', 'Memory limit exceeded');
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
    else if (isExhaustion(e)) { code = 'MEMORY_LIMIT_EXCEEDED'; sticky = code; stickyMessage = 'Memory limit exceeded'; }
    else if (e !== null && typeof e === 'object' && apply(weakSetHas, toolErrors, [e])) code = 'TOOL_ERROR';
    let name = 'Error', message = '', stack = '';
    if (sticky) {
      message = stickyMessage;
    } else if (e !== null && typeof e === 'object' && isProtoOf(ErrorProto, e)) {
      const n = own(e, 'name') ?? own(getPrototypeOf(e), 'name');
      const m = own(e, 'message');
      let s;
      try { s = e.stack; } catch (_) { s = ''; }
      name = typeof n === 'string' ? n : 'Error';
      message = typeof m === 'string' ? m : '';
      stack = typeof s === 'string' ? s : '';
    } else if (e !== null && typeof e === 'object') {
      try { const s = stringify(e); message = typeof s === 'string' ? s : '[object]'; } catch (_) { message = '[object]'; }
    } else {
      try { message = typeof e === 'symbol' ? '[Symbol]' : '' + e; } catch (_) { message = '[value]'; }
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
      if (sticky || isExhaustion(e)) { final = errorRecord(e); return; }
      const rec = nullArray();
      rec[0] = 'err'; rec[1] = 'RUNTIME_ERROR'; rec[2] = 'TypeError';
      rec[3] = 'The returned value is not JSON-serializable'; rec[4] = '';
      final = rec;
      return;
    }
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

  // ---- hardening: no code generation from strings; nothing of the prelude is writable ----
  const thrower = () => { throw new TypeErrorCtor('Code generation from strings is not allowed'); };
  const lock = (obj, key, value) => defineProperty(obj, key, { value, writable: false, enumerable: false, configurable: false });
  const harden = () => {
    const fnProtos = [
      Function.prototype,
      getPrototypeOf(async () => {}),
      getPrototypeOf(function* () {}),
      getPrototypeOf(async function* () {}),
    ];
    for (let i = 0; i < fnProtos.length; i++) {
      lock(fnProtos[i], 'constructor', thrower);
    }
    delete G.eval;
    delete G.Function;
    // Math.random() and the current time: recorded for durable runs, given back on their replay.
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
    // Natives that walk `length` without checking the interrupt: refuse absurd lengths up front.
    const AP = Array.prototype;
    const walkers = ['join', 'toString', 'toLocaleString', 'indexOf', 'lastIndexOf', 'includes', 'fill',
      'copyWithin', 'reverse', 'sort', 'splice', 'slice', 'concat', 'flat', 'flatMap', 'every', 'some',
      'forEach', 'map', 'filter', 'reduce', 'reduceRight', 'find', 'findIndex', 'findLast',
      'findLastIndex', 'keys', 'values', 'entries', 'toReversed', 'toSorted', 'toSpliced', 'with', 'at',
      'push', 'unshift', 'shift', 'pop'];
    for (let i = 0; i < walkers.length; i++) {
      const key = walkers[i];
      const native = AP[key];
      if (typeof native !== 'function') continue;
      const guarded = function (...args) {
        if (this !== null && this !== undefined) {
          const len = this.length;
          if (len > maxArrayLength) {
            throw new RangeErrorCtor('Array length ' + len + ' is over the sandbox limit (' + maxArrayLength + ')');
          }
        }
        return apply(native, this, args);
      };
      defineProperty(guarded, 'name', { value: key });
      defineProperty(AP, key, { value: guarded, writable: true, enumerable: false, configurable: true });
    }
    // Freeze the intrinsics the bridge and guest share, so pollution fails loudly.
    const frozen = [Object.prototype, AP, fnProtos[0], fnProtos[1], fnProtos[2], fnProtos[3],
      String.prototype, Number.prototype, Boolean.prototype, PromiseCtor.prototype, PromiseCtor,
      ErrorProto, JSON, Math, Reflect, Object, Array, Symbol.prototype];
    for (let i = 0; i < frozen.length; i++) freeze(frozen[i]);
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

  // ---- the control function: only the host holds it ----
  return (op, arg) => {
    switch (op) {
      case 'init': {
        if (cfg !== null) throw new TypeErrorCtor('already initialised');
        const c = parse(arg);
        cfg = c;
        maxArrayLength = c.maxArrayLength;
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
