/*
 * enclave_vm.engine._engine: the C binding between Python and QuickJS-NG.
 *
 * One `Engine` is one JSRuntime with one JSContext holding the prelude, created for one run and used
 * by one thread only. The contract this file keeps:
 *
 *  - While guest code can run (the script, promise jobs, getters, toJSON, any conversion the prelude
 *    does) the GIL is released and `on_interrupt` enforces the run's wall-clock deadline (monotonic
 *    clock) with a thread-CPU backstop.
 *  - The host never converts a guest value to text here. It reads only strings: the batch the
 *    prelude's `drain` builds with its captured JSON.stringify, and the message of an error object the
 *    compiler itself just created (own data properties only, never a getter).
 *  - Uncatchable ends (interrupted, out of memory, stack overflow) come back as status codes, decided
 *    from this file's own state (the interrupt flag, the allocator's refusal flag), not from messages.
 *  - Exactly one thread touches a runtime: every method refuses calls from any other thread.
 *
 * Memory is counted by the allocator below: it enforces the run's limit, tracks the peak and remembers
 * that an allocation was refused (a script cannot catch its way out of that: the run ends).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "quickjs.h"

/* Status codes of a step; mirrored in session.py. */
enum {
    ST_OK = 0,
    ST_ERROR = 1,         /* an exception the prelude did not turn into state (never expected) */
    ST_INTERRUPTED = 2,   /* the deadline or the CPU backstop stopped the engine */
    ST_OUT_OF_MEMORY = 3, /* the allocator refused an allocation during the run */
    ST_STACK_OVERFLOW = 4,
    ST_SYNTAX_ERROR = 5, /* the program did not compile; nothing of it ran */
};

#define SCRIPT_NAME "<input>" /* the name the host maps stack frames by (enclave.py) */
/* C stack kept free below QuickJS's own limit: native code between two of its checks, and us. */
#define STACK_SAFETY_BYTES (256 * 1024)
/* After the engine was stopped, the drain that salvages console lines gets this much time. */
#define SALVAGE_SECONDS 0.05
/* The thread CPU clock is a system call: read it on every 16th interrupt poll only. */
#define CPU_CHECK_EVERY 16
#define CPU_MARGIN_SECONDS 0.05
/* A step that keeps running promise jobs returns to the host this often (see run_jobs). */
#define SLICE_SECONDS 0.02
#define SLICE_CHECK_EVERY 16

/* ---------------------------------------------------------------- clocks */

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CLOCK_MONOTONIC is what Python's time.monotonic() reads: deadlines travel as plain floats. */
static double mono_now(void) { return clock_seconds(CLOCK_MONOTONIC); }
static double thread_cpu_now(void) { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }

/* ---------------------------------------------------------------- allocator */

typedef struct {
    size_t used;  /* bytes held now (usable sizes of the blocks handed out) */
    size_t peak;  /* most bytes held since the last reset */
    size_t limit; /* 0: no limit */
    int refused;  /* sticky: an allocation was refused since the last reset */
    /* Once a run is stopped, freed blocks are only chained here (through their own first word) and
       given back to malloc when the engine is closed: when the interrupt unwinds a script, dropping
       its last reference can free a whole heap of small blocks, and malloc's free() of a few hundred
       MB takes tens of milliseconds that would otherwise come before the run's answer. */
    int deferring;
    void *deferred;
} Heap;

static int heap_admits(Heap *h, size_t more)
{
    if (h->limit && (more > h->limit || h->used > h->limit - more)) {
        h->refused = 1;
        return 0;
    }
    return 1;
}

static void *heap_took(Heap *h, void *p)
{
    if (!p) {
        h->refused = 1;
        return NULL;
    }
    h->used += malloc_usable_size(p);
    if (h->used > h->peak)
        h->peak = h->used;
    return p;
}

static void *heap_malloc(void *opaque, size_t size)
{
    Heap *h = opaque;
    if (!heap_admits(h, size))
        return NULL;
    return heap_took(h, malloc(size));
}

static void *heap_calloc(void *opaque, size_t count, size_t size)
{
    Heap *h = opaque;
    if (size && count > SIZE_MAX / size) {
        h->refused = 1;
        return NULL;
    }
    if (!heap_admits(h, count * size))
        return NULL;
    return heap_took(h, calloc(count, size));
}

static void heap_free(void *opaque, void *ptr)
{
    Heap *h = opaque;
    if (!ptr)
        return;
    h->used -= malloc_usable_size(ptr);
    if (h->deferring) { /* every malloc block has room for a pointer */
        *(void **)ptr = h->deferred;
        h->deferred = ptr;
        return;
    }
    free(ptr);
}

static void heap_release_deferred(Heap *h)
{
    void *p = h->deferred;
    while (p) {
        void *next = *(void **)p;
        free(p);
        p = next;
    }
    h->deferred = NULL;
}

static void *heap_realloc(void *opaque, void *ptr, size_t size)
{
    Heap *h = opaque;
    if (!ptr)
        return heap_malloc(opaque, size);
    if (size == 0) {
        heap_free(opaque, ptr);
        return NULL;
    }
    size_t old = malloc_usable_size(ptr);
    if (size > old && !heap_admits(h, size - old))
        return NULL;
    void *np = realloc(ptr, size);
    if (!np) {
        h->refused = 1;
        return NULL; /* the old block is still held and still counted */
    }
    h->used -= old;
    return heap_took(h, np);
}

static size_t heap_usable_size(const void *ptr) { return malloc_usable_size((void *)ptr); }

static const JSMallocFunctions heap_functions = {
    heap_calloc, heap_malloc, heap_free, heap_realloc, heap_usable_size,
};

/* ---------------------------------------------------------------- thread stack */

/* Lowest usable address of the calling thread's stack (0 if unknown). Asked once per thread: for the
   main thread glibc answers by reading /proc/self/maps, which costs more than a whole context. */
static uintptr_t thread_stack_low(void)
{
    static __thread uintptr_t low;
    static __thread int known;
    if (!known) {
        pthread_attr_t attr;
        void *addr = NULL;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &addr, &size);
            pthread_attr_destroy(&attr);
            low = (uintptr_t)addr;
        }
        known = 1;
    }
    return low;
}

/* Point QuickJS's stack limit `wanted` bytes below the current frame, but never past the real end of
   this thread's stack: a limit the thread cannot honour would crash the process instead of throwing. */
static void set_stack_limit(JSRuntime *rt, uintptr_t stack_low, size_t wanted)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (stack_low && here > stack_low) {
        uintptr_t room = here - stack_low;
        uintptr_t usable = room > 2 * STACK_SAFETY_BYTES ? room - STACK_SAFETY_BYTES : room / 2;
        if (wanted > usable)
            wanted = usable;
    }
    if (wanted < 16 * 1024)
        wanted = 16 * 1024;
    JS_SetMaxStackSize(rt, wanted);
    JS_UpdateStackTop(rt);
}

/* ---------------------------------------------------------------- module state */

static Py_ssize_t engines_leaked; /* see `leaked()` */

static int check_owner(unsigned long owner)
{
    if (PyThread_get_thread_ident() != owner) {
        PyErr_SetString(PyExc_RuntimeError, "this engine belongs to another thread");
        return -1;
    }
    return 0;
}

/* UTF-8 of a Python str, with lone surrogates passed through (as QuickJS's own strings may hold them).
   Returns a new bytes object or NULL; `data` and `len` point into it. */
static PyObject *utf8_of(PyObject *text, const char **data, Py_ssize_t *len)
{
    PyObject *bytes = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
    if (!bytes)
        return NULL;
    *data = PyBytes_AS_STRING(bytes);
    *len = PyBytes_GET_SIZE(bytes);
    return bytes;
}

static PyObject *str_of_utf8(const char *data, size_t len)
{
    return PyUnicode_DecodeUTF8(data, (Py_ssize_t)len, "surrogatepass");
}

/* A copy of the string `value` (a JS string, never an object: nothing runs), or NULL. */
static char *copy_js_string(JSContext *ctx, JSValueConst value, size_t *len)
{
    if (!JS_IsString(value))
        return NULL;
    const char *s = JS_ToCStringLen(ctx, len, value);
    if (!s)
        return NULL;
    char *copy = PyMem_RawMalloc(*len + 1);
    if (copy)
        memcpy(copy, s, *len + 1);
    JS_FreeCString(ctx, s);
    return copy;
}

/* The own *data* property `name` of an error object, when it is a string; an accessor or a proxy is
   never consulted. Returns a PyMem_Raw copy or NULL. */
static char *own_string(JSContext *ctx, JSValueConst obj, const char *name, size_t *len)
{
    if (!JS_IsError(obj)) /* the class check excludes proxies: no trap can run */
        return NULL;
    JSAtom atom = JS_NewAtom(ctx, name);
    if (atom == JS_ATOM_NULL)
        return NULL;
    JSPropertyDescriptor desc;
    char *out = NULL;
    int found = JS_GetOwnProperty(ctx, &desc, obj, atom);
    JS_FreeAtom(ctx, atom);
    if (found == 1) {
        if (!(desc.flags & JS_PROP_GETSET))
            out = copy_js_string(ctx, desc.value, len);
        JS_FreeValue(ctx, desc.value);
        JS_FreeValue(ctx, desc.getter);
        JS_FreeValue(ctx, desc.setter);
    } else if (found < 0) {
        JS_FreeValue(ctx, JS_GetException(ctx));
    }
    return out;
}

/* ---------------------------------------------------------------- Engine */

typedef struct {
    PyObject_HEAD
    JSRuntime *rt;
    JSContext *ctx;
    JSValue ctl; /* the prelude's control function: only C holds it */
    JSValue ops[4];
    Heap heap;
    unsigned long owner;
    uintptr_t stack_low;
    size_t stack_bytes;
    /* the run's limits */
    double deadline; /* monotonic seconds */
    size_t salvage_bytes;
    /* the active bounds of the current step, read by on_interrupt */
    double stop_at;
    double cpu_stop_at;
    unsigned polls;
    int interrupted;
} Engine;

enum { OP_INIT, OP_START, OP_SETTLE, OP_DRAIN };
static const char *const op_names[4] = {"init", "start", "settle", "drain"};

/* The run is over: no more garbage collection and no more free() until the engine is closed. A
   collection walks the whole heap without polling the interrupt (tens of ms for a heap of a few
   hundred MB), and so does freeing what the unwinding script dropped; nothing reclaimed now would be
   used: the salvaging drain needs little, then the runtime is freed whole. */
static void wind_down(JSRuntime *rt, Heap *heap)
{
    JS_SetGCThreshold(rt, SIZE_MAX);
    heap->deferring = 1;
}

static int on_interrupt(JSRuntime *rt, void *opaque)
{
    Engine *e = opaque;
    if (e->interrupted)
        return 1;
    if (mono_now() >= e->stop_at ||
        (++e->polls % CPU_CHECK_EVERY == 0 && thread_cpu_now() >= e->cpu_stop_at)) {
        e->interrupted = 1;
        wind_down(rt, &e->heap);
        return 1;
    }
    return 0;
}

/* Fresh runtime with our allocator and interrupt handler; NULL on failure. */
static JSRuntime *new_runtime(Heap *heap, void *opaque)
{
    JSRuntime *rt = JS_NewRuntime2(&heap_functions, heap);
    if (!rt)
        return NULL;
    if (opaque)
        JS_SetInterruptHandler(rt, on_interrupt, opaque);
    return rt;
}

/* What ended a step that returned an exception; takes and frees the pending exception without
   running JavaScript. */
static int classify(Engine *e)
{
    JSValue exc = JS_GetException(e->ctx);
    int status = ST_ERROR;
    if (e->interrupted || JS_IsUncatchableError(exc)) {
        status = ST_INTERRUPTED;
    } else if (e->heap.refused) {
        status = ST_OUT_OF_MEMORY;
    } else {
        size_t len = 0;
        char *message = own_string(e->ctx, exc, "message", &len);
        if (message && strcmp(message, "Maximum call stack size exceeded") == 0)
            status = ST_STACK_OVERFLOW;
        PyMem_RawFree(message);
    }
    JS_FreeValue(e->ctx, exc);
    return status;
}

/* The status a step ends with even if no exception reached us: a refused allocation ends the run
   although the script may have caught the error it caused. */
static int sticky_status(Engine *e, int status)
{
    if (status != ST_OK)
        return status;
    if (e->interrupted)
        return ST_INTERRUPTED;
    if (e->heap.refused)
        return ST_OUT_OF_MEMORY;
    return ST_OK;
}

/* Bounds for the step about to run: the wall-clock deadline, and as a backstop as much thread CPU time
   as there is wall time left (a thread cannot use more, so this only fires if the clock check fails). */
static void arm(Engine *e)
{
    double left = e->deadline - mono_now();
    e->stop_at = e->deadline;
    e->cpu_stop_at = thread_cpu_now() + (left > 0 ? left : 0) + CPU_MARGIN_SECONDS;
}

/* Run promise jobs until none is queued, or until the step has run for a slice: then it returns with
   jobs pending and the host comes back for more. The state drained at each such return reaches the
   host, so a run stopped later (or given up on) keeps what it printed so far. */
static int run_jobs(Engine *e)
{
    JSContext *job_ctx;
    double slice_end = mono_now() + SLICE_SECONDS;
    for (unsigned n = 1;; n++) {
        if (!JS_IsJobPending(e->rt))
            return ST_OK;
        int r = JS_ExecutePendingJob(e->rt, &job_ctx);
        if (r < 0)
            return classify(e);
        if (r == 0)
            return ST_OK;
        if (n % SLICE_CHECK_EVERY == 0 && mono_now() >= slice_end)
            return ST_OK;
    }
}

/* Ask the prelude for its state; returns a PyMem_Raw copy of the JSON batch or NULL (then *status is
   updated when it was still OK). */
static char *drain(Engine *e, int *status, size_t *len)
{
    JSValue r = JS_Call(e->ctx, e->ctl, JS_UNDEFINED, 1, &e->ops[OP_DRAIN]);
    if (JS_IsException(r)) {
        int why = classify(e);
        if (*status == ST_OK)
            *status = why;
        return NULL;
    }
    char *text = copy_js_string(e->ctx, r, len);
    JS_FreeValue(e->ctx, r);
    if (!text && *status == ST_OK)
        *status = e->heap.refused ? ST_OUT_OF_MEMORY : ST_ERROR;
    return text;
}

/* After the engine was stopped: one more drain on a short fresh budget and a little more memory, so
   the console lines printed so far are not lost. Nothing of the guest's runs in `drain`. */
static char *salvage(Engine *e, size_t *len)
{
    e->polls = 0;
    e->stop_at = mono_now() + SALVAGE_SECONDS;
    e->cpu_stop_at = thread_cpu_now() + SALVAGE_SECONDS;
    size_t limit = e->heap.limit;
    if (limit)
        e->heap.limit = (e->heap.used > limit ? e->heap.used : limit) + e->salvage_bytes;
    int refused = e->heap.refused, interrupted = e->interrupted;
    e->interrupted = 0;
    int ignored = ST_OK;
    char *text = drain(e, &ignored, len);
    e->heap.limit = limit;
    e->heap.refused = refused;
    e->interrupted = interrupted;
    return text;
}

typedef struct {
    int status;
    char *text; /* PyMem_Raw: the drained batch, or the syntax error's message */
    size_t len;
    char *detail; /* PyMem_Raw: the syntax error's stack text */
    size_t detail_len;
    int pending;
} StepResult;

/* Finish a step: drain (or salvage), note whether jobs are still queued. GIL released. */
static void finish(Engine *e, StepResult *out)
{
    out->status = sticky_status(e, out->status);
    if (out->status == ST_OK)
        out->text = drain(e, &out->status, &out->len);
    out->status = sticky_status(e, out->status);
    if (out->status != ST_OK)
        wind_down(e->rt, &e->heap);
    if (out->status != ST_OK && !out->text)
        out->text = salvage(e, &out->len);
    out->pending = JS_IsJobPending(e->rt);
}

/* Set the bounds of a step; false (with the status set) when the run is already past its deadline. */
static int begin(Engine *e, StepResult *out)
{
    set_stack_limit(e->rt, e->stack_low, e->stack_bytes);
    arm(e);
    if (e->interrupted || mono_now() >= e->deadline) {
        e->interrupted = 1;
        out->status = ST_INTERRUPTED;
        return 0;
    }
    return 1;
}

/* ctl(op, arg) where arg is the text (a JS string) or, without text, `value`. */
static int call_control(Engine *e, int op, const char *text, Py_ssize_t len, JSValueConst value)
{
    JSValue args[2];
    args[0] = e->ops[op];
    args[1] = text ? JS_NewStringLen(e->ctx, text, (size_t)len) : JS_DupValue(e->ctx, value);
    if (JS_IsException(args[1]))
        return classify(e);
    JSValue r = JS_Call(e->ctx, e->ctl, JS_UNDEFINED, 2, (JSValueConst *)args);
    JS_FreeValue(e->ctx, args[1]);
    int status = JS_IsException(r) ? classify(e) : ST_OK;
    JS_FreeValue(e->ctx, r);
    return status;
}

/* Call the control function with (op, text) when op >= 0, run jobs, drain. GIL released. */
static void advance(Engine *e, int op, const char *text, Py_ssize_t len, StepResult *out)
{
    if (begin(e, out)) {
        if (op >= 0)
            out->status = call_control(e, op, text, len, JS_UNDEFINED);
        if (out->status == ST_OK)
            out->status = run_jobs(e);
    }
    finish(e, out);
}

/* The error location text ("    at <input>:LINE:COL") of the last compile error. An error keeps
   its stack behind an accessor on Error.prototype; instead of calling that, this takes the backtrace
   text the engine records for the first error after it was cleared (js_std_cmd 2, as quickjs-libc
   does), a string the compiler built itself. */
static void clear_backtrace(JSContext *ctx)
{
    JSValue old = JS_UNDEFINED;
    js_std_cmd(2, ctx, &old);
    JS_FreeValue(ctx, old);
}

static char *compiler_backtrace(JSContext *ctx, size_t *len)
{
    JSValue trace = JS_UNDEFINED;
    js_std_cmd(2, ctx, &trace);
    char *text = copy_js_string(ctx, trace, len);
    JS_FreeValue(ctx, trace);
    return text;
}

/* The compiler's own error for `program`: status and (for a syntax error) its message and stack text,
   read from own data properties of the fresh error object. */
static int compile_error(JSContext *ctx, Heap *heap, StepResult *out)
{
    JSValue exc = JS_GetException(ctx);
    int status = ST_SYNTAX_ERROR;
    if (heap->refused) {
        status = ST_OUT_OF_MEMORY;
    } else {
        out->text = own_string(ctx, exc, "message", &out->len);
        if (out->text && strcmp(out->text, "Maximum call stack size exceeded") == 0) {
            status = ST_STACK_OVERFLOW;
            PyMem_RawFree(out->text);
            out->text = NULL;
        } else {
            out->detail = compiler_backtrace(ctx, &out->detail_len);
        }
    }
    JS_FreeValue(ctx, exc);
    return status;
}

static JSValue compile_script(JSContext *ctx, const char *program, Py_ssize_t len)
{
    clear_backtrace(ctx);
    return JS_Eval(ctx, program, (size_t)len, SCRIPT_NAME,
                   JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_STRICT | JS_EVAL_FLAG_COMPILE_ONLY);
}

/* `init` the prelude with the run's config, compile `program`, evaluate it to the script's async
   function and hand that to the prelude's `start`, run jobs, drain. A compile error is read before
   anything of the script ran. GIL released. */
static void start_program(Engine *e, const char *config, Py_ssize_t config_len, const char *program,
                          Py_ssize_t program_len, StepResult *out)
{
    if (!begin(e, out))
        goto done;
    out->status = call_control(e, OP_INIT, config, config_len, JS_UNDEFINED);
    if (out->status != ST_OK)
        goto done;
    JSValue compiled = compile_script(e->ctx, program, program_len);
    if (JS_IsException(compiled)) {
        out->status = compile_error(e->ctx, &e->heap, out);
        if (out->status == ST_SYNTAX_ERROR)
            return; /* nothing ran: no state to drain */
        goto done;
    }
    /* The program is one parenthesised arrow: evaluating it only creates the function. */
    JSValue function = JS_EvalFunction(e->ctx, compiled);
    if (JS_IsException(function)) {
        out->status = classify(e);
        goto done;
    }
    out->status = call_control(e, OP_START, NULL, 0, function);
    JS_FreeValue(e->ctx, function);
    if (out->status == ST_OK)
        out->status = run_jobs(e);
done:
    finish(e, out);
}

static PyObject *step_result(StepResult *out)
{
    PyObject *text = Py_None, *detail = Py_None;
    Py_INCREF(text);
    Py_INCREF(detail);
    if (out->text) {
        Py_DECREF(text);
        text = str_of_utf8(out->text, out->len);
    }
    if (out->detail) {
        Py_DECREF(detail);
        detail = str_of_utf8(out->detail, out->detail_len);
    }
    PyMem_RawFree(out->text);
    PyMem_RawFree(out->detail);
    if (!text || !detail) {
        Py_XDECREF(text);
        Py_XDECREF(detail);
        return NULL;
    }
    return Py_BuildValue("(iNNO)", out->status, text, detail, out->pending ? Py_True : Py_False);
}

static void engine_free_js(Engine *e)
{
    if (e->ctx) {
        JS_FreeValue(e->ctx, e->ctl);
        for (int i = 0; i < 4; i++)
            JS_FreeValue(e->ctx, e->ops[i]);
        JS_FreeContext(e->ctx);
        e->ctx = NULL;
    }
    if (e->rt) {
        JS_FreeRuntime(e->rt);
        e->rt = NULL;
    }
    heap_release_deferred(&e->heap);
}

/* Engine(prelude: bytes | str, memory_limit: int, stack_bytes: int): a fresh runtime and context with
   the prelude loaded from its bytecode (bytes from compile_prelude) or, for comparison in tests,
   evaluated from its source (str). The creating thread owns it. */
static int Engine_init(Engine *e, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"prelude", "memory_limit", "stack_bytes", NULL};
    PyObject *given;
    Py_ssize_t memory_limit, stack_bytes;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Onn", kwlist, &given, &memory_limit, &stack_bytes))
        return -1;
    if (e->rt) {
        PyErr_SetString(PyExc_RuntimeError, "engine already initialised");
        return -1;
    }
    int from_source = PyUnicode_Check(given);
    PyObject *source_bytes = NULL;
    Py_buffer prelude;
    if (from_source) {
        const char *data;
        Py_ssize_t len;
        source_bytes = utf8_of(given, &data, &len);
        if (!source_bytes)
            return -1;
        given = source_bytes;
    }
    if (PyObject_GetBuffer(given, &prelude, PyBUF_SIMPLE) < 0) {
        Py_XDECREF(source_bytes);
        return -1;
    }
    e->owner = PyThread_get_thread_ident();
    e->ctl = JS_UNDEFINED;
    for (int i = 0; i < 4; i++)
        e->ops[i] = JS_UNDEFINED;
    e->heap.limit = memory_limit > 0 ? (size_t)memory_limit : 0;
    e->stack_bytes = stack_bytes > 0 ? (size_t)stack_bytes : 512 * 1024;
    e->deadline = mono_now() + 10.0; /* warming the prelude: generous, still bounded */
    int ok = 0;
    Py_BEGIN_ALLOW_THREADS
    e->stack_low = thread_stack_low();
    e->rt = new_runtime(&e->heap, e);
    if (e->rt) {
        set_stack_limit(e->rt, e->stack_low, e->stack_bytes);
        arm(e);
        e->ctx = JS_NewContext(e->rt);
    }
    if (e->ctx) {
        ok = 1;
        for (int i = 0; i < 4 && ok; i++) {
            e->ops[i] = JS_NewString(e->ctx, op_names[i]);
            ok = !JS_IsException(e->ops[i]);
        }
    }
    if (ok) {
        JSValue fn = from_source ? JS_Eval(e->ctx, prelude.buf, (size_t)prelude.len, "<input>",
                                           JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY)
                                 : JS_ReadObject(e->ctx, prelude.buf, (size_t)prelude.len, JS_READ_OBJ_BYTECODE);
        ok = !JS_IsException(fn);
        if (ok) {
            e->ctl = JS_EvalFunction(e->ctx, fn);
            ok = !JS_IsException(e->ctl) && JS_IsFunction(e->ctx, e->ctl);
        }
        if (!ok && e->ctx)
            JS_FreeValue(e->ctx, JS_GetException(e->ctx));
    }
    if (!ok)
        engine_free_js(e);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&prelude);
    Py_XDECREF(source_bytes);
    if (!ok) {
        if (e->heap.refused)
            PyErr_SetString(PyExc_MemoryError, "the engine could not load the prelude within its memory");
        else
            PyErr_SetString(PyExc_RuntimeError, "the engine could not load the prelude");
        return -1;
    }
    return 0;
}

static int engine_ready(Engine *e)
{
    if (check_owner(e->owner) < 0)
        return -1;
    if (!e->rt) {
        PyErr_SetString(PyExc_RuntimeError, "the engine is closed");
        return -1;
    }
    return 0;
}

/* configure(memory_limit, stack_bytes, deadline, salvage_bytes): the run's limits; `deadline` is on
   time.monotonic(). The peak restarts from what the warm context holds now. */
static PyObject *Engine_configure(Engine *e, PyObject *args)
{
    Py_ssize_t memory_limit, stack_bytes, salvage_bytes;
    double deadline;
    if (!PyArg_ParseTuple(args, "nndn", &memory_limit, &stack_bytes, &deadline, &salvage_bytes))
        return NULL;
    if (engine_ready(e) < 0)
        return NULL;
    e->heap.limit = memory_limit > 0 ? (size_t)memory_limit : 0;
    e->heap.peak = e->heap.used;
    e->heap.refused = 0;
    e->stack_bytes = stack_bytes > 0 ? (size_t)stack_bytes : e->stack_bytes;
    e->deadline = deadline;
    e->salvage_bytes = salvage_bytes > 0 ? (size_t)salvage_bytes : 0;
    e->interrupted = 0;
    Py_RETURN_NONE;
}

/* start(config: str, program: str) -> (status, text, detail, pending) */
static PyObject *Engine_start(Engine *e, PyObject *args)
{
    PyObject *config, *program;
    if (!PyArg_ParseTuple(args, "UU", &config, &program))
        return NULL;
    if (engine_ready(e) < 0)
        return NULL;
    const char *cdata, *pdata;
    Py_ssize_t clen, plen;
    PyObject *cbytes = utf8_of(config, &cdata, &clen);
    if (!cbytes)
        return NULL;
    PyObject *pbytes = utf8_of(program, &pdata, &plen); /* bytes objects end with a NUL, as JS_Eval needs */
    if (!pbytes) {
        Py_DECREF(cbytes);
        return NULL;
    }
    StepResult out = {0};
    Py_BEGIN_ALLOW_THREADS
    start_program(e, cdata, clen, pdata, plen, &out);
    Py_END_ALLOW_THREADS
    Py_DECREF(cbytes);
    Py_DECREF(pbytes);
    return step_result(&out);
}

/* step(op: str | None, text: str | None) -> (status, text, detail, pending): call the control function
   with (op, text) when op is given ("settle"), run jobs until none is queued, drain. */
static PyObject *Engine_step(Engine *e, PyObject *args)
{
    const char *op_name = NULL;
    PyObject *text = Py_None;
    if (!PyArg_ParseTuple(args, "z|O", &op_name, &text))
        return NULL;
    if (engine_ready(e) < 0)
        return NULL;
    int op = -1;
    if (op_name) {
        if (strcmp(op_name, "settle") == 0)
            op = OP_SETTLE;
        else {
            PyErr_SetString(PyExc_ValueError, "step: only 'settle' or None");
            return NULL;
        }
    }
    const char *data = NULL;
    Py_ssize_t len = 0;
    PyObject *bytes = NULL;
    if (text != Py_None) {
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "step: text must be a str or None");
            return NULL;
        }
        bytes = utf8_of(text, &data, &len);
        if (!bytes)
            return NULL;
    }
    StepResult out = {0};
    Py_BEGIN_ALLOW_THREADS
    advance(e, op, data, len, &out);
    Py_END_ALLOW_THREADS
    Py_XDECREF(bytes);
    return step_result(&out);
}

/* memory() -> (bytes held now, peak since configure) */
static PyObject *Engine_memory(Engine *e, PyObject *unused)
{
    (void)unused;
    if (check_owner(e->owner) < 0)
        return NULL;
    return Py_BuildValue("(nn)", (Py_ssize_t)e->heap.used, (Py_ssize_t)e->heap.peak);
}

/* close(): free the context and runtime (idempotent). Freeing a large heap takes a while: the GIL is
   released meanwhile. */
static PyObject *Engine_close(Engine *e, PyObject *unused)
{
    (void)unused;
    if (check_owner(e->owner) < 0)
        return NULL;
    if (e->rt) {
        Py_BEGIN_ALLOW_THREADS
        engine_free_js(e);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

static void Engine_dealloc(Engine *e)
{
    if (e->rt) {
        if (PyThread_get_thread_ident() == e->owner)
            engine_free_js(e);
        else
            engines_leaked++; /* never touch a runtime from a second thread, not even to free it */
    }
    Py_TYPE(e)->tp_free((PyObject *)e);
}

static PyMethodDef Engine_methods[] = {
    {"configure", (PyCFunction)Engine_configure, METH_VARARGS, "Set the run's limits."},
    {"start", (PyCFunction)Engine_start, METH_VARARGS, "Initialise the prelude, compile and start the script."},
    {"step", (PyCFunction)Engine_step, METH_VARARGS, "Advance the run: settle results, run jobs, drain."},
    {"memory", (PyCFunction)Engine_memory, METH_NOARGS, "(bytes held now, peak of the run)."},
    {"close", (PyCFunction)Engine_close, METH_NOARGS, "Free the engine."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "enclave_vm.engine._engine.Engine",
    .tp_basicsize = sizeof(Engine),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One QuickJS-NG runtime and context with the prelude, for one run on one thread.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Engine_init,
    .tp_dealloc = (destructor)Engine_dealloc,
    .tp_methods = Engine_methods,
};

/* ---------------------------------------------------------------- Compiler */

/* A compile-only context for validate(): it never runs anything, so one per thread can serve every
   check on that thread. */
typedef struct {
    PyObject_HEAD
    JSRuntime *rt;
    JSContext *ctx;
    Heap heap;
    unsigned long owner;
    uintptr_t stack_low;
} Compiler;

static int Compiler_init(Compiler *c, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"memory_limit", NULL};
    Py_ssize_t memory_limit;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "n", kwlist, &memory_limit))
        return -1;
    if (c->rt) {
        PyErr_SetString(PyExc_RuntimeError, "compiler already initialised");
        return -1;
    }
    c->owner = PyThread_get_thread_ident();
    c->heap.limit = memory_limit > 0 ? (size_t)memory_limit : 0;
    c->stack_low = thread_stack_low();
    c->rt = new_runtime(&c->heap, NULL);
    if (c->rt)
        c->ctx = JS_NewContext(c->rt);
    if (!c->ctx) {
        if (c->rt)
            JS_FreeRuntime(c->rt);
        c->rt = NULL;
        PyErr_SetString(PyExc_MemoryError, "could not create a compile context");
        return -1;
    }
    return 0;
}

/* compile(source: str, stack_bytes: int) -> None | (status, message, stack): whether `source` compiles
   as a strict global script; nothing is run. */
static PyObject *Compiler_compile(Compiler *c, PyObject *args)
{
    PyObject *source;
    Py_ssize_t stack_bytes;
    if (!PyArg_ParseTuple(args, "Un", &source, &stack_bytes))
        return NULL;
    if (check_owner(c->owner) < 0)
        return NULL;
    const char *data;
    Py_ssize_t len;
    PyObject *bytes = utf8_of(source, &data, &len);
    if (!bytes)
        return NULL;
    int status = ST_OK;
    StepResult out = {0};
    Py_BEGIN_ALLOW_THREADS
    c->heap.refused = 0;
    set_stack_limit(c->rt, c->stack_low, stack_bytes > 0 ? (size_t)stack_bytes : 512 * 1024);
    JSValue compiled = compile_script(c->ctx, data, len);
    if (JS_IsException(compiled))
        status = compile_error(c->ctx, &c->heap, &out);
    else
        JS_FreeValue(c->ctx, compiled);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes);
    if (status == ST_OK)
        Py_RETURN_NONE;
    out.status = status;
    PyObject *r = step_result(&out); /* (status, message, stack, pending) */
    if (!r)
        return NULL;
    PyObject *triple = PyTuple_GetSlice(r, 0, 3);
    Py_DECREF(r);
    return triple;
}

static void Compiler_dealloc(Compiler *c)
{
    if (c->rt) {
        if (PyThread_get_thread_ident() == c->owner) {
            JS_FreeContext(c->ctx);
            JS_FreeRuntime(c->rt);
        } else {
            engines_leaked++;
        }
    }
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyMethodDef Compiler_methods[] = {
    {"compile", (PyCFunction)Compiler_compile, METH_VARARGS, "Compile without running."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CompilerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "enclave_vm.engine._engine.Compiler",
    .tp_basicsize = sizeof(Compiler),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A compile-only QuickJS-NG context for one thread.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Compiler_init,
    .tp_dealloc = (destructor)Compiler_dealloc,
    .tp_methods = Compiler_methods,
};

/* ---------------------------------------------------------------- module functions */

/* compile_prelude(source: str) -> bytes: the prelude compiled once, to be loaded by every Engine. The
   bytecode is only ever read back by this same build in this same process. */
static PyObject *compile_prelude(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *source;
    if (!PyArg_ParseTuple(args, "U", &source))
        return NULL;
    const char *data;
    Py_ssize_t len;
    PyObject *bytes = utf8_of(source, &data, &len);
    if (!bytes)
        return NULL;
    Heap heap = {0};
    uint8_t *buf = NULL;
    size_t size = 0;
    Py_BEGIN_ALLOW_THREADS
    JSRuntime *rt = new_runtime(&heap, NULL);
    JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
    if (ctx) {
        JSValue fn = JS_Eval(ctx, data, (size_t)len, "<input>", JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
        if (!JS_IsException(fn)) {
            uint8_t *js_buf = JS_WriteObject(ctx, &size, fn, JS_WRITE_OBJ_BYTECODE);
            if (js_buf) {
                buf = PyMem_RawMalloc(size);
                if (buf)
                    memcpy(buf, js_buf, size);
                js_free(ctx, js_buf);
            }
        } else {
            JS_FreeValue(ctx, JS_GetException(ctx));
        }
        JS_FreeValue(ctx, fn);
        JS_FreeContext(ctx);
    }
    if (rt)
        JS_FreeRuntime(rt);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes);
    if (!buf) {
        PyErr_SetString(PyExc_RuntimeError, "the prelude does not compile");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)size);
    PyMem_RawFree(buf);
    return out;
}

static PyObject *leaked(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromSsize_t(engines_leaked);
}

static PyObject *version(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(JS_GetVersion());
}

static PyMethodDef module_methods[] = {
    {"compile_prelude", compile_prelude, METH_VARARGS, "Compile the prelude to bytecode."},
    {"leaked", leaked, METH_NOARGS, "Engines dropped on a thread that did not own them (never freed)."},
    {"version", version, METH_NOARGS, "The QuickJS-NG version compiled in."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef engine_module = {
    PyModuleDef_HEAD_INIT, "_engine", "QuickJS-NG for enclave-vm: one runtime per run, one thread per runtime.",
    -1, module_methods,
};

PyMODINIT_FUNC PyInit__engine(void)
{
    if (PyType_Ready(&EngineType) < 0 || PyType_Ready(&CompilerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&engine_module);
    if (!m)
        return NULL;
    Py_INCREF(&EngineType);
    Py_INCREF(&CompilerType);
    if (PyModule_AddObject(m, "Engine", (PyObject *)&EngineType) < 0 ||
        PyModule_AddObject(m, "Compiler", (PyObject *)&CompilerType) < 0 ||
        PyModule_AddIntConstant(m, "OK", ST_OK) < 0 || PyModule_AddIntConstant(m, "ERROR", ST_ERROR) < 0 ||
        PyModule_AddIntConstant(m, "INTERRUPTED", ST_INTERRUPTED) < 0 ||
        PyModule_AddIntConstant(m, "OUT_OF_MEMORY", ST_OUT_OF_MEMORY) < 0 ||
        PyModule_AddIntConstant(m, "STACK_OVERFLOW", ST_STACK_OVERFLOW) < 0 ||
        PyModule_AddIntConstant(m, "SYNTAX_ERROR", ST_SYNTAX_ERROR) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
