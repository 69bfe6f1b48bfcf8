/* bchook.passes.trace.runtime._accel: the C recorder behind the trace pass's probes.
 *
 * The probes call enter(KEY) and leave(KEY), METH_O functions that CPython's
 * specializing interpreter calls directly. KEY is a constant tuple of the traced code
 * object (file, first line, name, qualified name); the recorder knows it by address.
 *
 * Each thread has a stack of open calls; every call is a node of a calling-context tree
 * (one root per thread), keyed by (parent node, KEY), holding the number of calls and
 * their inclusive time (the exclusive time is the inclusive less the children's, worked
 * out by snapshot()). Everything else (pstats, call graph, recursion, folded stacks) is
 * derived from that tree off the hot path, in Python.
 * In timeline mode every event also goes into a ring buffer of fixed size.
 *
 * The interpreter lock serializes every call into this module (the free-threaded
 * build is not supported: the extension does not declare Py_mod_gil).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

/* ---- clock -------------------------------------------------------------------------- */

/* The hot path reads the TSC when it is invariant (one read costs a third of a
 * clock_gettime here); ticks become nanoseconds with a rate measured against
 * CLOCK_MONOTONIC over the run. */
static int use_tsc = 0;
static int64_t tsc_base = 0;       /* ticks at calibration start */
static int64_t mono_base = 0;      /* ns at calibration start */

static inline int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t
now_ticks(void)
{
#if HAVE_TSC
    if (use_tsc) {
        return (int64_t)__rdtsc();
    }
#endif
    return mono_ns();
}

/* ---- data --------------------------------------------------------------------------- */

typedef struct {
    int32_t parent;       /* node index, -1 for a thread's root */
    int32_t func;         /* index into funcs, -1 for a root */
    PyObject *key;        /* borrowed: funcs holds the reference */
    int64_t count;
    int64_t total;        /* ticks; own time is the total less the children's, at the end */
    PyObject *last_key;   /* the child looked up last from here: loops call the same */
    int32_t last_child;   /* function again and again */
} Node;

typedef struct {
    int32_t node;
    int64_t t0;
} Frame;

typedef struct {
    unsigned long ident;
    PyObject *name;       /* threading's name for it when it first called, or NULL */
    int in_handler;       /* the handler's own calls are recorded, not handed to it */
    int regions;          /* regions this thread is in */
    PyObject **region_keys;  /* theirs, outermost first (strong references) */
    int region_keys_cap;
    int profiling;        /* profile_event is its profile function (profiled regions) */
    Py_tracefunc saved_profile;    /* the one it had before */
    PyObject *saved_profile_arg;
    uint32_t data_gen;    /* root and index are valid while this is data_generation */
    int32_t root;
    int32_t index;
    Frame *stack;
    Py_ssize_t depth;
    Py_ssize_t cap;
} Thread;

typedef struct {
    int64_t t;
    int32_t node;
    int32_t info;         /* thread index << 1 | (1 for enter, 0 for leave) */
} Event;

static PyObject *funcs = NULL;     /* list of KEY tuples */
static int32_t *func_table = NULL; /* open addressing: KEY address -> func index */
static Py_ssize_t func_mask = 0;

static Node *nodes = NULL;
static Py_ssize_t n_nodes = 0, nodes_cap = 0;
static int32_t *node_table = NULL; /* (parent, KEY) -> node index */
static Py_ssize_t node_mask = 0;

/* Threads seen since the last reset. A record is never freed (a thread-local pointer
 * refers to it for the life of its thread); a reset only makes it register again. */
static Thread **threads = NULL;
static Py_ssize_t n_threads = 0, threads_cap = 0;

#if defined(__GNUC__)
#define THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))
#elif defined(_MSC_VER)
#define THREAD_LOCAL __declspec(thread)
#else
#define THREAD_LOCAL _Thread_local
#endif
static THREAD_LOCAL Thread *tls_thread = NULL;

static Event *ring = NULL;
static Py_ssize_t ring_cap = 0;
static Py_ssize_t ring_pos = 0;    /* where the next event goes */
static int64_t ring_written = 0;   /* events ever written; the ring keeps the last ring_cap */
static int timeline = 0;

static int enabled = 0;          /* set_enabled(): stop() and start() */
/* Region mode (bchook.trace.region): a thread records only while it is inside a region,
 * and nothing is recorded while no thread is in one. */
static int region_mode = 0;
static Py_ssize_t regions_open = 0;
static int recording = 0;        /* what the probes test: enabled, and in a region if need be */

static inline void
update_recording(void)
{
    recording = enabled && (!region_mode || regions_open > 0);
}
static uint32_t token_generation = 0;  /* bumped when open calls are closed or forgotten */
static uint32_t data_generation = 1;   /* bumped when everything recorded is forgotten */
static PyObject *handler = NULL;
static PyObject *str_enter = NULL, *str_exit = NULL;

/* ---- tables ------------------------------------------------------------------------- */

static inline Py_ssize_t
hash_ptr(const void *p, int32_t salt)
{
    uint64_t h = (uint64_t)(uintptr_t)p >> 4;
    h ^= (uint64_t)(uint32_t)salt * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    return (Py_ssize_t)h;
}

/* Make room in a table holding `existing` entries for one more (load factor 1/2),
 * re-inserting the existing ones: funcs 0..existing-1, or the nodes (roots skipped). */
static int
table_grow(int32_t **table, Py_ssize_t *mask, Py_ssize_t existing, int for_nodes)
{
    Py_ssize_t size = *table ? (*mask + 1) : 0;
    if (size && (existing + 1) * 2 <= size) {
        return 0;
    }
    Py_ssize_t new_size = size ? size * 2 : 1024;
    int32_t *t = PyMem_RawMalloc(new_size * sizeof(int32_t));
    if (t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(t, 0xff, new_size * sizeof(int32_t));
    Py_ssize_t m = new_size - 1;
    for (Py_ssize_t i = 0; i < existing; i++) {
        Py_ssize_t h;
        if (for_nodes) {
            if (nodes[i].func < 0) {
                continue;
            }
            h = hash_ptr(nodes[i].key, nodes[i].parent);
        }
        else {
            h = hash_ptr(PyList_GET_ITEM(funcs, i), 0);
        }
        while (t[h & m] >= 0) {
            h++;
        }
        t[h & m] = (int32_t)i;
    }
    PyMem_RawFree(*table);
    *table = t;
    *mask = m;
    return 0;
}

static int32_t
func_index(PyObject *key)
{
    Py_ssize_t n = PyList_GET_SIZE(funcs);
    if (table_grow(&func_table, &func_mask, n, 0) < 0) {
        return -1;
    }
    Py_ssize_t h = hash_ptr(key, 0);
    for (;;) {
        int32_t i = func_table[h & func_mask];
        if (i < 0) {
            break;
        }
        if (PyList_GET_ITEM(funcs, i) == key) {
            return i;
        }
        h++;
    }
    if (PyList_Append(funcs, key) < 0) {
        return -1;
    }
    func_table[h & func_mask] = (int32_t)n;
    return (int32_t)n;
}

static int32_t
new_node(int32_t parent, int32_t func, PyObject *key)
{
    if (n_nodes >= INT32_MAX - 1) {
        PyErr_SetString(PyExc_OverflowError, "too many call paths");
        return -1;
    }
    if (n_nodes == nodes_cap) {
        Py_ssize_t cap = nodes_cap ? nodes_cap * 2 : 4096;
        Node *grown = PyMem_RawRealloc(nodes, cap * sizeof(Node));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        nodes = grown;
        nodes_cap = cap;
    }
    Node *n = &nodes[n_nodes];
    n->parent = parent;
    n->func = func;
    n->key = key;
    n->count = n->total = 0;
    n->last_key = NULL;
    n->last_child = -1;
    return (int32_t)n_nodes++;
}

static int32_t
child_lookup(int32_t parent, PyObject *key)
{
    Py_ssize_t h = hash_ptr(key, parent);
    if (node_table != NULL) {
        for (;;) {
            int32_t i = node_table[h & node_mask];
            if (i < 0) {
                break;
            }
            if (nodes[i].key == key && nodes[i].parent == parent) {
                return i;
            }
            h++;
        }
    }
    int32_t func = func_index(key);
    if (func < 0) {
        return -1;
    }
    if (table_grow(&node_table, &node_mask, n_nodes, 1) < 0) {
        return -1;
    }
    int32_t i = new_node(parent, func, PyList_GET_ITEM(funcs, func));
    if (i < 0) {
        return -1;
    }
    h = hash_ptr(key, parent);
    while (node_table[h & node_mask] >= 0) {
        h++;
    }
    node_table[h & node_mask] = i;
    return i;
}

static inline int32_t
child_node(int32_t parent, PyObject *key)
{
    Node *p = &nodes[parent];
    if (p->last_key == key) {
        return p->last_child;
    }
    int32_t i = child_lookup(parent, key);
    if (i >= 0) {
        p = &nodes[parent];  /* the array may have moved */
        p->last_key = key;
        p->last_child = i;
    }
    return i;
}

/* ---- threads ------------------------------------------------------------------------ */

/* threading._active[ident]._name, read without running Python code; NULL if unknown. */
static PyObject *
thread_name(unsigned long ident)
{
    PyObject *result = NULL;
    PyObject *modname = PyUnicode_FromString("threading");
    PyObject *threading = modname ? PyImport_GetModule(modname) : NULL;
    Py_XDECREF(modname);
    if (threading != NULL) {
        PyObject *active = PyObject_GetAttrString(threading, "_active");
        PyObject *key = PyLong_FromUnsignedLong(ident);
        if (active != NULL && key != NULL && PyDict_Check(active)) {
            PyObject *thread = PyDict_GetItemWithError(active, key);
            if (thread != NULL) {
                result = PyObject_GetAttrString(thread, "_name");
                if (result != NULL && !PyUnicode_Check(result)) {
                    Py_CLEAR(result);
                }
            }
        }
        Py_XDECREF(active);
        Py_XDECREF(key);
        Py_DECREF(threading);
    }
    PyErr_Clear();
    return result;
}

static void reopen_regions(Thread *th);

static Thread *
thread_slow(void)
{
    Thread *th = tls_thread;
    if (th == NULL) {
        th = PyMem_RawCalloc(1, sizeof(Thread));
        if (th == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        th->ident = PyThread_get_thread_ident();
        th->name = thread_name(th->ident);
        tls_thread = th;
    }
    if (n_threads == threads_cap) {
        Py_ssize_t cap = threads_cap ? threads_cap * 2 : 16;
        Thread **grown = PyMem_RawRealloc(threads, cap * sizeof(Thread *));
        if (grown == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        threads = grown;
        threads_cap = cap;
    }
    int32_t root = new_node(-1, -1, NULL);
    if (root < 0) {
        return NULL;
    }
    th->root = root;
    th->depth = 0;
    th->index = (int32_t)n_threads;
    th->data_gen = data_generation;
    threads[n_threads++] = th;
    reopen_regions(th);  /* what was recorded was forgotten inside them */
    return th;
}

static inline Thread *
current_thread(void)
{
    Thread *th = tls_thread;
    if (th != NULL && th->data_gen == data_generation) {
        return th;
    }
    return thread_slow();
}

static int
push(Thread *th, int32_t node, int64_t t)
{
    if (th->depth == th->cap) {
        Py_ssize_t cap = th->cap ? th->cap * 2 : 64;
        Frame *grown = PyMem_RawRealloc(th->stack, cap * sizeof(Frame));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        th->stack = grown;
        th->cap = cap;
    }
    Frame *f = &th->stack[th->depth++];
    f->node = node;
    f->t0 = t;
    return 0;
}

static inline void
record(int64_t t, int32_t node, int32_t info)
{
    Event *e = &ring[ring_pos];
    e->t = t;
    e->node = node;
    e->info = info;
    ring_written++;
    if (++ring_pos == ring_cap) {
        ring_pos = 0;
    }
}

/* Close the top frame of th at time t. */
static inline void
pop(Thread *th, int64_t t)
{
    Frame *f = &th->stack[--th->depth];
    Node *n = &nodes[f->node];
    n->count++;
    n->total += t - f->t0;
    if (timeline) {
        record(t, f->node, th->index << 1);
    }
}

static void
call_handler(Thread *th, PyObject *event, PyObject *key)
{
    if (th->in_handler) {
        return;
    }
    th->in_handler = 1;
    PyObject *h = handler;
    Py_INCREF(h);
    PyObject *res = PyObject_CallFunctionObjArgs(h, event, key, NULL);
    if (res == NULL) {
        /* reported once; a handler that fails is not called again */
        PyErr_WriteUnraisable(h);
        if (handler == h) {
            Py_CLEAR(handler);
        }
    }
    else {
        Py_DECREF(res);
    }
    Py_DECREF(h);
    th->in_handler = 0;
}

/* ---- the probes --------------------------------------------------------------------- */

static void
do_enter(PyObject *key)
{
    Thread *th = current_thread();
    if (th == NULL) {
        PyErr_Clear();
        return;
    }
    if (region_mode && !th->regions) {
        return;
    }
    int64_t t = now_ticks();
    int32_t parent = th->depth ? th->stack[th->depth - 1].node : th->root;
    int32_t node = child_node(parent, key);
    if (node < 0 || push(th, node, t) < 0) {
        PyErr_Clear();
        return;
    }
    if (timeline) {
        record(t, node, (th->index << 1) | 1);
    }
    if (handler != NULL) {
        call_handler(th, str_enter, key);
    }
}

static void
do_leave(PyObject *key)
{
    Thread *th = current_thread();
    if (th == NULL) {
        PyErr_Clear();
        return;
    }
    int64_t t = now_ticks();
    Py_ssize_t d = th->depth;
    if (d == 0) {
        return;  /* entered before tracing started */
    }
    if (nodes[th->stack[d - 1].node].key != key) {
        /* A missed exit (an exception where no probe could run): close the calls above
         * the matching one; with no match, this exit's entry was never seen. */
        Py_ssize_t i = d - 1;
        while (i >= 0 && nodes[th->stack[i].node].key != key) {
            i--;
        }
        if (i < 0) {
            return;
        }
        while (th->depth > i + 1) {
            pop(th, t);
        }
    }
    pop(th, t);
    if (handler != NULL) {
        call_handler(th, str_exit, key);
    }
}

static PyObject *
enter(PyObject *module, PyObject *key)
{
    if (recording) {
        do_enter(key);
    }
    Py_RETURN_NONE;
}

static PyObject *
leave(PyObject *module, PyObject *key)
{
    if (recording) {
        do_leave(key);
    }
    Py_RETURN_NONE;
}

/* ---- call tokens --------------------------------------------------------------------
 * A function that is not a generator calls call(KEY) on entry and keeps the token it
 * returns at the bottom of its value stack. The token's deallocation is the exit event:
 * the code pops it just before returning, and CPython pops it when an exception
 * leaves the frame. That is one call per traced call instead of two. */

typedef struct {
    PyObject_HEAD
    Thread *th;
    Py_ssize_t depth;     /* the frame's position in th->stack, 1-based */
    uint32_t generation;
} Token;

static PyTypeObject TokenType;
#define TOKEN_FREELIST 256
static Token *token_free[TOKEN_FREELIST];
static int n_token_free = 0;

static void
token_dealloc(Token *tok)
{
    Thread *th = tok->th;
    if (tok->generation == token_generation && th->depth >= tok->depth) {
        int64_t t = now_ticks();
        if (handler == NULL) {
            while (th->depth >= tok->depth) {
                pop(th, t);
            }
        }
        else {
            PyObject *key = nodes[th->stack[tok->depth - 1].node].key;
            while (th->depth >= tok->depth) {
                pop(th, t);
            }
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);  /* an exception may be on its way out */
            call_handler(th, str_exit, key);
            PyErr_Restore(type, value, tb);
        }
    }
    if (n_token_free < TOKEN_FREELIST) {
        token_free[n_token_free++] = tok;
    }
    else {
        PyObject_Free(tok);
    }
}

static PyObject *
call(PyObject *module, PyObject *key)
{
    if (!recording) {
        Py_RETURN_NONE;
    }
    Thread *th = current_thread();
    if (th == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (region_mode && !th->regions) {
        Py_RETURN_NONE;
    }
    int64_t t = now_ticks();
    int32_t parent = th->depth ? th->stack[th->depth - 1].node : th->root;
    int32_t node = child_node(parent, key);
    Token *tok;
    if (n_token_free) {
        tok = token_free[--n_token_free];
        (void)PyObject_INIT(tok, &TokenType);
    }
    else {
        tok = PyObject_New(Token, &TokenType);
    }
    if (node < 0 || tok == NULL || push(th, node, t) < 0) {
        PyErr_Clear();
        if (tok != NULL) {
            tok->th = th;
            tok->generation = token_generation - 1;  /* its deallocation closes nothing */
            Py_DECREF(tok);
        }
        Py_RETURN_NONE;
    }
    tok->th = th;
    tok->depth = th->depth;
    tok->generation = token_generation;
    if (timeline) {
        record(t, node, (th->index << 1) | 1);
    }
    if (handler != NULL) {
        call_handler(th, str_enter, key);
    }
    return (PyObject *)tok;
}

static PyTypeObject TokenType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bchook.passes.trace.runtime._accel.Token",
    .tp_basicsize = sizeof(Token),
    .tp_dealloc = (destructor)token_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

/* ---- the delegation proxy (3.10 and 3.11) --------------------------------------------
 * ``yield from``/``await`` suspend inside one instruction (3.10) or inside a loop that
 * takes no probes (3.11). The proxy stands between the frame and the iterator it
 * delegates to: when the iterator yields, the frame is suspended (leave); when the frame
 * sends into the proxy again, it was resumed (enter). gen.throw() and close() reach
 * the proxy's throw()/close() while the frame is suspended; the frame resumes after them
 * only when they end the delegation, and that is when enter is reported. */

typedef struct {
    PyObject_HEAD
    PyObject *inner;
    PyObject *key;
    int suspended;
} Proxy;

static PyTypeObject ProxyType;

static inline void
proxy_resumed(Proxy *p)
{
    if (p->suspended) {
        p->suspended = 0;
        if (recording) {
            do_enter(p->key);
        }
    }
}

static int
get_optional_attr(PyObject *obj, const char *name, PyObject **result)
{
    *result = PyObject_GetAttrString(obj, name);
    if (*result != NULL) {
        return 1;
    }
    if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        return 0;
    }
    return -1;
}

static PySendResult
proxy_am_send(PyObject *self, PyObject *arg, PyObject **result)
{
    Proxy *p = (Proxy *)self;
    proxy_resumed(p);
    PySendResult status = PyIter_Send(p->inner, arg, result);
    if (status == PYGEN_NEXT) {
        p->suspended = 1;
        if (recording) {
            do_leave(p->key);
        }
    }
    return status;
}

static void
set_stop_iteration(PyObject *value)
{
    if (value == Py_None) {
        PyErr_SetNone(PyExc_StopIteration);
        return;
    }
    PyObject *exc = PyObject_CallOneArg(PyExc_StopIteration, value);
    if (exc != NULL) {
        PyErr_SetObject(PyExc_StopIteration, exc);
        Py_DECREF(exc);
    }
}

static PyObject *
proxy_send(PyObject *self, PyObject *arg)
{
    PyObject *result;
    PySendResult status = proxy_am_send(self, arg, &result);
    if (status == PYGEN_RETURN) {
        set_stop_iteration(result);
        Py_DECREF(result);
        return NULL;
    }
    return status == PYGEN_NEXT ? result : NULL;
}

static PyObject *
proxy_iternext(PyObject *self)
{
    PyObject *result;
    PySendResult status = proxy_am_send(self, Py_None, &result);
    if (status == PYGEN_RETURN) {
        if (result != Py_None) {
            set_stop_iteration(result);
        }
        Py_DECREF(result);
        return NULL;
    }
    return status == PYGEN_NEXT ? result : NULL;
}

static PyObject *
proxy_throw(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Proxy *p = (Proxy *)self;
    PyObject *meth;
    if (get_optional_attr(p->inner, "throw", &meth) < 0) {
        return NULL;
    }
    PyObject *res;
    if (meth == NULL) {
        /* no throw(): the exception goes to the delegating frame, as CPython does */
        PyObject *typ = nargs ? args[0] : Py_None;
        if (PyExceptionInstance_Check(typ)) {
            PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
        }
        else if (PyExceptionClass_Check(typ)) {
            PyErr_SetObject(typ, nargs > 1 ? args[1] : NULL);
        }
        else {
            PyErr_SetString(PyExc_TypeError, "exceptions must derive from BaseException");
        }
        res = NULL;
    }
    else {
        res = PyObject_Vectorcall(meth, args, nargs, NULL);
        Py_DECREF(meth);
    }
    if (res == NULL) {
        proxy_resumed(p);  /* the delegation ended: the frame goes on */
    }
    return res;
}

static PyObject *
proxy_close(PyObject *self, PyObject *unused)
{
    Proxy *p = (Proxy *)self;
    PyObject *meth;
    if (get_optional_attr(p->inner, "close", &meth) < 0) {
        proxy_resumed(p);
        return NULL;
    }
    PyObject *res = Py_None;
    Py_INCREF(res);
    if (meth != NULL) {
        Py_DECREF(res);
        res = PyObject_CallNoArgs(meth);
        Py_DECREF(meth);
    }
    proxy_resumed(p);  /* close() always resumes the frame (with GeneratorExit) */
    return res;
}

static PyObject *
proxy_iter(PyObject *self)
{
    Py_INCREF(self);
    return self;
}

static int
proxy_traverse(Proxy *p, visitproc visit, void *arg)
{
    Py_VISIT(p->inner);
    Py_VISIT(p->key);
    return 0;
}

static int
proxy_clear(Proxy *p)
{
    Py_CLEAR(p->inner);
    Py_CLEAR(p->key);
    return 0;
}

static void
proxy_dealloc(Proxy *p)
{
    PyObject_GC_UnTrack(p);
    proxy_clear(p);
    PyObject_GC_Del(p);
}

static PyObject *
proxy_repr(Proxy *p)
{
    return PyUnicode_FromFormat("<bchook.trace proxy for %R>", p->inner);
}

/* Other attributes are the delegate's: gen.gi_yieldfrom.gi_code works as it did. */
static PyObject *
proxy_getattro(PyObject *self, PyObject *name)
{
    PyObject *res = PyObject_GenericGetAttr(self, name);
    if (res == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        res = PyObject_GetAttr(((Proxy *)self)->inner, name);
    }
    return res;
}

static PyObject *
proxy_get_inner(Proxy *p, void *unused)
{
    Py_INCREF(p->inner);
    return p->inner;
}

static PyMethodDef proxy_methods[] = {
    {"send", (PyCFunction)proxy_send, METH_O, NULL},
    {"throw", (PyCFunction)(void (*)(void))proxy_throw, METH_FASTCALL, NULL},
    {"close", (PyCFunction)proxy_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef proxy_getset[] = {
    {"delegate", (getter)proxy_get_inner, NULL, "the iterator delegated to", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyAsyncMethods proxy_async = {
    .am_send = proxy_am_send,
};

/* Two types: CPython's traced SEND/YIELD_FROM calls tp_iternext when the receiver has
 * one and send() otherwise, and the proxy must take the same path as its delegate
 * (the tracer sees a StopIteration only in the second case). */
static PyTypeObject ProxyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bchook.passes.trace.runtime._accel.Proxy",
    .tp_basicsize = sizeof(Proxy),
    .tp_dealloc = (destructor)proxy_dealloc,
    .tp_repr = (reprfunc)proxy_repr,
    .tp_getattro = proxy_getattro,
    .tp_as_async = &proxy_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)proxy_traverse,
    .tp_clear = (inquiry)proxy_clear,
    .tp_iter = proxy_iter,
    .tp_iternext = proxy_iternext,
    .tp_methods = proxy_methods,
    .tp_getset = proxy_getset,
};

static PyTypeObject AwaitProxyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bchook.passes.trace.runtime._accel.AwaitProxy",
    .tp_basicsize = sizeof(Proxy),
    .tp_dealloc = (destructor)proxy_dealloc,
    .tp_repr = (reprfunc)proxy_repr,
    .tp_getattro = proxy_getattro,
    .tp_as_async = &proxy_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)proxy_traverse,
    .tp_clear = (inquiry)proxy_clear,
    .tp_methods = proxy_methods,
    .tp_getset = proxy_getset,
};

static PyObject *
wrap(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "wrap(iterator, key)");
        return NULL;
    }
    Proxy *p = PyObject_GC_New(
        Proxy, PyIter_Check(args[0]) ? &ProxyType : &AwaitProxyType);
    if (p == NULL) {
        return NULL;
    }
    Py_INCREF(args[0]);
    Py_INCREF(args[1]);
    p->inner = args[0];
    p->key = args[1];
    p->suspended = 0;
    PyObject_GC_Track(p);
    return (PyObject *)p;
}

/* ---- probes by subscript ------------------------------------------------------------
 * In generators and coroutines the probes are ``PROBE[KEY]`` (BINARY_SUBSCR) rather than
 * calls: a CALL checks for pending signals when it returns, and CPython deliberately
 * checks none on the way back into a ``yield from``/``await`` (so that a KeyboardInterrupt
 * reaches the innermost generator, bpo-30039). ``WRAP[(iterator, KEY)]`` likewise. */

enum { PROBE_ENTER, PROBE_LEAVE, PROBE_WRAP, PROBE_CALL };

typedef struct {
    PyObject_HEAD
    int kind;
} Probe;

static PyObject *
probe_subscript(Probe *self, PyObject *key)
{
    switch (self->kind) {
    case PROBE_ENTER:
        if (recording) {
            do_enter(key);
        }
        Py_RETURN_NONE;
    case PROBE_LEAVE:
        if (recording) {
            do_leave(key);
        }
        Py_RETURN_NONE;
    case PROBE_CALL:
        return call(NULL, key);
    default:
        if (!PyTuple_Check(key) || PyTuple_GET_SIZE(key) != 2) {
            PyErr_SetString(PyExc_TypeError, "WRAP[(iterator, key)]");
            return NULL;
        }
        return wrap(NULL, &PyTuple_GET_ITEM(key, 0), 2);
    }
}

static PyMappingMethods probe_mapping = {
    .mp_subscript = (binaryfunc)probe_subscript,
};

/* Code compiled at run time holds its probes as constants: pickled by reference, as the
 * module attributes they are, so that pickling such code by value (cloudpickle does, for
 * functions compiled at run time such as attrs' methods) works, and gives the probes of
 * the process that unpickles it. */
static PyObject *
probe_reduce(Probe *self, PyObject *unused)
{
    static const char *const names[] = {"ENTER", "LEAVE", "WRAP", "CALL"};
    return PyUnicode_FromString(names[self->kind]);
}

static PyMethodDef probe_methods[] = {
    {"__reduce__", (PyCFunction)probe_reduce, METH_NOARGS,
     "Pickled by reference: bchook.passes.trace.runtime._accel.ENTER, LEAVE, WRAP or CALL."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProbeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bchook.passes.trace.runtime._accel.Probe",
    .tp_basicsize = sizeof(Probe),
    .tp_as_mapping = &probe_mapping,
    .tp_methods = probe_methods,
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

static int
add_probe(PyObject *module, const char *name, int kind)
{
    Probe *p = PyObject_New(Probe, &ProbeType);
    if (p == NULL) {
        return -1;
    }
    p->kind = kind;
    if (PyModule_AddObject(module, name, (PyObject *)p) < 0) {
        Py_DECREF(p);
        return -1;
    }
    return 0;
}

/* ---- control ------------------------------------------------------------------------ */

static void
flush_all(void)
{
    int64_t t = now_ticks();
    token_generation++;
    for (Py_ssize_t i = 0; i < n_threads; i++) {
        Thread *th = threads[i];
        while (th->depth) {
            pop(th, t);
        }
    }
}

static void
free_all(void)
{
    token_generation++;
    data_generation++;
    for (Py_ssize_t i = 0; i < n_threads; i++) {
        threads[i]->depth = 0;
    }
    n_threads = 0;
    PyMem_RawFree(nodes);
    nodes = NULL;
    n_nodes = nodes_cap = 0;
    PyMem_RawFree(node_table);
    node_table = NULL;
    node_mask = 0;
    PyMem_RawFree(func_table);
    func_table = NULL;
    func_mask = 0;
    ring_written = 0;
    ring_pos = 0;
}

static PyObject *
reset(PyObject *module, PyObject *unused)
{
    free_all();
    Py_CLEAR(funcs);
    funcs = PyList_New(0);
    if (funcs == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"timeline", "buffer", "handler", "tsc", NULL};
    int want_timeline = 0, want_tsc = 1;
    Py_ssize_t buffer = 1000000;
    PyObject *h = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|pnOp", kwlist,
                                     &want_timeline, &buffer, &h, &want_tsc)) {
        return NULL;
    }
    if (buffer < 1) {
        PyErr_SetString(PyExc_ValueError, "buffer must hold at least one event");
        return NULL;
    }
    if (want_timeline && buffer != ring_cap) {
        Event *r = PyMem_RawMalloc(buffer * sizeof(Event));
        if (r == NULL) {
            return PyErr_NoMemory();
        }
        PyMem_RawFree(ring);
        ring = r;
        ring_cap = buffer;
        ring_written = 0;
        ring_pos = 0;
    }
    timeline = want_timeline;
    Py_CLEAR(handler);
    if (h != Py_None) {
        Py_INCREF(h);
        handler = h;
    }
#if HAVE_TSC
    if (want_tsc != use_tsc && n_nodes == 0) {
        use_tsc = want_tsc;
    }
#endif
    tsc_base = now_ticks();
    mono_base = mono_ns();
    Py_RETURN_NONE;
}

static PyObject *
set_enabled(PyObject *module, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);
    if (on < 0) {
        return NULL;
    }
    int was = enabled;
    if (!on && enabled) {
        flush_all();
    }
    enabled = on;
    update_recording();
    if (on && !was) {
        for (Py_ssize_t i = 0; i < n_threads; i++) {
            reopen_regions(threads[i]);
        }
    }
    Py_RETURN_NONE;
}

/* ---- regions and marks ---------------------------------------------------------------
 * A region or a mark (a pytest test kept as a root) is a frame of its own, KEY naming it
 * like a function's; a region also lets its thread record (region mode). */

static PyObject *
set_region_mode(PyObject *module, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);
    if (on < 0) {
        return NULL;
    }
    region_mode = on;
    update_recording();
    Py_RETURN_NONE;
}

/* Regions without probes. Once a run records only inside regions, the runtime gives the
 * functions their untraced twins (so code outside any region runs as if never traced) and
 * tells this module each twin's KEY; a thread inside a region then has a profile function
 * that reports the twins' calls. Code objects are known by address, like KEYs. */

typedef struct {
    PyObject *code;
    PyObject *key;
} CodeKey;

static CodeKey *code_keys = NULL;
static Py_ssize_t code_keys_mask = 0, n_code_keys = 0;
static int profiled_regions = 0;

static inline PyObject *
key_of_code(PyObject *code)
{
    if (code_keys == NULL) {
        return NULL;
    }
    Py_ssize_t i = hash_ptr(code, 0) & code_keys_mask;
    while (code_keys[i].code != NULL) {
        if (code_keys[i].code == code) {
            return code_keys[i].key;
        }
        i = (i + 1) & code_keys_mask;
    }
    return NULL;
}

static int
code_keys_put(CodeKey *table, Py_ssize_t mask, PyObject *code, PyObject *key)
{
    Py_ssize_t i = hash_ptr(code, 0) & mask;
    while (table[i].code != NULL && table[i].code != code) {
        i = (i + 1) & mask;
    }
    int added = table[i].code == NULL;
    table[i].code = code;
    table[i].key = key;
    return added;
}

static void
clear_code_keys(void)
{
    CodeKey *table = code_keys;
    Py_ssize_t size = code_keys ? code_keys_mask + 1 : 0;
    code_keys = NULL;
    code_keys_mask = n_code_keys = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        if (table[i].code != NULL) {
            Py_DECREF(table[i].code);
            Py_DECREF(table[i].key);
        }
    }
    PyMem_Free(table);
}

static PyObject *
set_code_key(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyCode_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "set_code_key(code, key)");
        return NULL;
    }
    PyObject *code = args[0], *key = args[1];
    if ((n_code_keys + 1) * 2 > (code_keys ? code_keys_mask + 1 : 0)) {
        Py_ssize_t size = code_keys ? (code_keys_mask + 1) * 2 : 1024;
        CodeKey *table = PyMem_Calloc(size, sizeof(CodeKey));
        if (table == NULL) {
            return PyErr_NoMemory();
        }
        for (Py_ssize_t i = 0; code_keys != NULL && i <= code_keys_mask; i++) {
            if (code_keys[i].code != NULL) {
                code_keys_put(table, size - 1, code_keys[i].code, code_keys[i].key);
            }
        }
        PyMem_Free(code_keys);
        code_keys = table;
        code_keys_mask = size - 1;
    }
    PyObject *old = key_of_code(code);
    Py_INCREF(key);
    if (code_keys_put(code_keys, code_keys_mask, code, key)) {
        Py_INCREF(code);
        n_code_keys++;
    }
    else {
        Py_DECREF(old);
    }
    Py_RETURN_NONE;
}

static int
profile_event(PyObject *unused, PyFrameObject *frame, int what, PyObject *arg)
{
    if (what != PyTrace_CALL && what != PyTrace_RETURN) {
        return 0;
    }
    PyCodeObject *code = PyFrame_GetCode(frame);
    PyObject *key = key_of_code((PyObject *)code);
    Py_DECREF(code);
    if (key != NULL && recording) {
        if (what == PyTrace_CALL) {
            do_enter(key);
        }
        else {
            do_leave(key);
        }
    }
    return 0;
}

/* On 3.12+ the recorder is a sys.monitoring tool of its own (events of Python code only;
 * code without a KEY is disabled where it can be), its events switched on while any
 * thread is inside a region. Before 3.12 it is each such thread's profile function. */
static PyObject *monitoring_set_events = NULL;  /* sys.monitoring.set_events */
static PyObject *monitoring_disable = NULL;     /* sys.monitoring.DISABLE */
static PyObject *monitoring_tool = NULL;        /* our tool id (an int), NULL: none */
static PyObject *monitoring_events = NULL;      /* the events we use (an int) */
static PyObject *monitoring_none = NULL;        /* no events: 0 */

static PyObject *
set_monitoring(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "set_monitoring(tool, events, set_events, DISABLE)");
        return NULL;
    }
    Py_XSETREF(monitoring_tool, Py_NewRef(args[0]));
    Py_XSETREF(monitoring_events, Py_NewRef(args[1]));
    Py_XSETREF(monitoring_set_events, Py_NewRef(args[2]));
    Py_XSETREF(monitoring_disable, Py_NewRef(args[3]));
    if (monitoring_none == NULL && (monitoring_none = PyLong_FromLong(0)) == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static void
monitoring_switch(int on)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *res = PyObject_CallFunctionObjArgs(
        monitoring_set_events, monitoring_tool, on ? monitoring_events : monitoring_none,
        NULL);
    if (res == NULL) {
        PyErr_WriteUnraisable(monitoring_set_events);
    }
    Py_XDECREF(res);
    PyErr_Restore(type, value, tb);
}

/* The callbacks: args[0] is the code object. */
static inline PyObject *
monitored(PyObject *const *args, Py_ssize_t nargs, int entering, int may_disable)
{
    PyObject *key = nargs ? key_of_code(args[0]) : NULL;
    if (key == NULL) {
        return Py_NewRef(may_disable ? monitoring_disable : Py_None);
    }
    if (recording) {
        if (entering) {
            do_enter(key);
        }
        else {
            do_leave(key);
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
monitor_start(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    return monitored(args, nargs, 1, 1);  /* PY_START, PY_RESUME */
}

static PyObject *
monitor_throw(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    return monitored(args, nargs, 1, 0);  /* PY_THROW */
}

static PyObject *
monitor_return(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    return monitored(args, nargs, 0, 1);  /* PY_RETURN, PY_YIELD */
}

static PyObject *
monitor_unwind(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    return monitored(args, nargs, 0, 0);  /* PY_UNWIND */
}

/* A profile function already set (cProfile, sys.setprofile) is put back at the region's
 * end; it hears nothing while the thread is inside. */
static void
profile_on(Thread *th)
{
    PyThreadState *ts = PyThreadState_Get();
    th->saved_profile = ts->c_profilefunc;
    th->saved_profile_arg = ts->c_profileobj;
    Py_XINCREF(th->saved_profile_arg);
    PyEval_SetProfile(profile_event, NULL);
}

static void
profile_off(Thread *th)
{
    PyObject *arg = th->saved_profile_arg;
    Py_tracefunc func = th->saved_profile;
    th->saved_profile = NULL;
    th->saved_profile_arg = NULL;
    PyEval_SetProfile(func == profile_event ? NULL : func, arg);
    Py_XDECREF(arg);
}

static PyObject *
forget_code_keys(PyObject *module, PyObject *unused)
{
    clear_code_keys();
    Py_RETURN_NONE;
}

static PyObject *
set_profiled_regions(PyObject *module, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);
    if (on < 0) {
        return NULL;
    }
    profiled_regions = on;
    if (!on) {
        clear_code_keys();
    }
    Py_RETURN_NONE;
}

/* A region still open when recording starts again (start() after stop(), reset()) is
 * a frame again, from the thread's root: the calls made in it stay under it. */
static void
reopen_regions(Thread *th)
{
    if (!recording || th->depth || !th->regions) {
        return;
    }
    int64_t t = now_ticks();
    int32_t node = th->root;
    for (int i = 0; i < th->regions; i++) {
        node = child_node(node, th->region_keys[i]);
        if (node < 0 || push(th, node, t) < 0) {
            PyErr_Clear();
            return;
        }
        if (timeline) {
            record(t, node, (th->index << 1) | 1);
        }
    }
}

static int
remember_region(Thread *th, PyObject *key)
{
    if (th->regions == th->region_keys_cap) {
        int cap = th->region_keys_cap ? th->region_keys_cap * 2 : 8;
        PyObject **grown = PyMem_RawRealloc(th->region_keys, cap * sizeof(PyObject *));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        th->region_keys = grown;
        th->region_keys_cap = cap;
    }
    Py_INCREF(key);
    th->region_keys[th->regions++] = key;
    return 0;
}

/* Regions of tasks sharing a thread need not end in the order they began. */
static void
forget_region(Thread *th, PyObject *key)
{
    int i = th->regions - 1;
    while (i >= 0 && th->region_keys[i] != key) {
        i--;
    }
    if (i < 0) {
        i = th->regions - 1;
    }
    PyObject *gone = th->region_keys[i];
    memmove(&th->region_keys[i], &th->region_keys[i + 1],
            (th->regions - 1 - i) * sizeof(PyObject *));
    th->regions--;
    Py_DECREF(gone);
}

static PyObject *
region_enter(PyObject *module, PyObject *key)
{
    Thread *th = current_thread();
    if (th == NULL || remember_region(th, key) < 0) {
        return NULL;
    }
    regions_open++;
    update_recording();
    if (recording) {
        do_enter(key);
    }
    if (profiled_regions && monitoring_tool != NULL) {
        if (regions_open == 1) {
            monitoring_switch(1);
        }
    }
    else if (profiled_regions && th->regions == 1 && !th->profiling) {
        th->profiling = 1;
        profile_on(th);
    }
    Py_RETURN_NONE;
}

static PyObject *
region_exit(PyObject *module, PyObject *key)
{
    Thread *th = current_thread();
    if (th == NULL) {
        return NULL;
    }
    if (recording) {
        do_leave(key);  /* and whatever the region left open above it */
    }
    if (th->regions > 0) {
        forget_region(th, key);
        regions_open--;
        if (regions_open == 0 && profiled_regions && monitoring_tool != NULL) {
            monitoring_switch(0);
        }
    }
    if (th->regions == 0 && th->profiling) {
        th->profiling = 0;
        profile_off(th);
    }
    update_recording();
    Py_RETURN_NONE;
}

static PyObject *
is_enabled(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(enabled);
}

/* {"funcs": [...], "nodes": [(parent, func, count, own_ns, total_ns)...],
 *  "threads": [(ident, root, name or None)...], "events": bytes, "event_format": "qii",
 *  "events_dropped": n, "ns_per_tick": float, "tick_base": t, "ns_base": ns}
 * Calls still running are in it as if they ended now (with their exit events), but they
 * go on being recorded: a program may ask for results while it runs. */
static PyObject *
snapshot(PyObject *module, PyObject *unused)
{
    int64_t t1 = now_ticks(), m1 = mono_ns();
    double ns_per_tick = 1.0;
    if (use_tsc && t1 > tsc_base && m1 > mono_base) {
        ns_per_tick = (double)(m1 - mono_base) / (double)(t1 - tsc_base);
    }
    PyObject *result = PyDict_New();
    PyObject *node_list = PyList_New(n_nodes);
    PyObject *thread_list = PyList_New(n_threads);
    PyObject *func_list = PyList_GetSlice(funcs, 0, PyList_GET_SIZE(funcs));
    if (!result || !node_list || !thread_list || !func_list) {
        goto error;
    }
    Py_ssize_t n_open = 0;
    for (Py_ssize_t i = 0; i < n_threads; i++) {
        n_open += threads[i]->depth;
    }
    /* Own time: the total less the children's totals (calls nest), worked out here
     * rather than on every exit. */
    Py_ssize_t n_alloc = n_nodes ? n_nodes : 1;
    int64_t *own = PyMem_RawMalloc(n_alloc * sizeof(int64_t));
    int64_t *total = PyMem_RawMalloc(n_alloc * sizeof(int64_t));
    int64_t *count = PyMem_RawMalloc(n_alloc * sizeof(int64_t));
    if (own == NULL || total == NULL || count == NULL) {
        PyMem_RawFree(own);
        PyMem_RawFree(total);
        PyMem_RawFree(count);
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t i = 0; i < n_nodes; i++) {
        total[i] = nodes[i].total;
        count[i] = nodes[i].count;
    }
    for (Py_ssize_t i = 0; i < n_threads; i++) {
        Thread *th = threads[i];
        for (Py_ssize_t d = 0; d < th->depth; d++) {
            total[th->stack[d].node] += t1 - th->stack[d].t0;
            count[th->stack[d].node]++;
        }
    }
    for (Py_ssize_t i = 0; i < n_nodes; i++) {
        own[i] = total[i];
    }
    for (Py_ssize_t i = 0; i < n_nodes; i++) {
        if (nodes[i].parent >= 0) {
            own[nodes[i].parent] -= total[i];
        }
    }
    for (Py_ssize_t i = 0; i < n_nodes; i++) {
        Node *n = &nodes[i];
        PyObject *item = Py_BuildValue(
            "(iiLLL)", n->parent, n->func, (long long)count[i],
            (long long)(own[i] * ns_per_tick), (long long)(total[i] * ns_per_tick));
        if (item == NULL) {
            break;
        }
        PyList_SET_ITEM(node_list, i, item);
    }
    PyMem_RawFree(own);
    PyMem_RawFree(total);
    PyMem_RawFree(count);
    if (PyErr_Occurred()) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n_threads; i++) {
        PyObject *item = Py_BuildValue("(kiO)", threads[i]->ident, threads[i]->root,
                                       threads[i]->name ? threads[i]->name : Py_None);
        if (item == NULL) {
            goto error;
        }
        PyList_SET_ITEM(thread_list, i, item);
    }
    Py_ssize_t kept = 0, start = 0;
    if (ring != NULL && timeline) {
        kept = ring_written < ring_cap ? (Py_ssize_t)ring_written : ring_cap;
        start = ring_written < ring_cap ? 0 : ring_pos;
    }
    Py_ssize_t closing = (ring != NULL && timeline) ? n_open : 0;
    PyObject *events = PyBytes_FromStringAndSize(
        NULL, (kept + closing) * (Py_ssize_t)sizeof(Event));
    if (events == NULL) {
        goto error;
    }
    Event *out = (Event *)PyBytes_AS_STRING(events);
    if (kept) {
        Py_ssize_t first = ring_cap - start < kept ? ring_cap - start : kept;
        memcpy(out, ring + start, first * sizeof(Event));
        memcpy(out + first, ring, (kept - first) * sizeof(Event));
    }
    if (closing) {
        Event *e = out + kept;
        for (Py_ssize_t i = 0; i < n_threads; i++) {
            Thread *th = threads[i];
            for (Py_ssize_t d = th->depth - 1; d >= 0; d--, e++) {
                e->t = t1;
                e->node = th->stack[d].node;
                e->info = th->index << 1;
            }
        }
    }
    int rc = PyDict_SetItemString(result, "events", events);
    Py_DECREF(events);
    if (rc < 0
        || PyDict_SetItemString(result, "funcs", func_list) < 0
        || PyDict_SetItemString(result, "nodes", node_list) < 0
        || PyDict_SetItemString(result, "threads", thread_list) < 0) {
        goto error;
    }
    PyObject *extra = Py_BuildValue(
        "{s:s,s:L,s:d,s:L,s:L}", "event_format", "qii",
        "events_dropped", (long long)(ring_written - kept),
        "ns_per_tick", ns_per_tick, "tick_base", (long long)tsc_base,
        "ns_base", (long long)mono_base);
    if (extra == NULL || PyDict_Update(result, extra) < 0) {
        Py_XDECREF(extra);
        goto error;
    }
    Py_DECREF(extra);
    Py_DECREF(node_list);
    Py_DECREF(thread_list);
    Py_DECREF(func_list);
    return result;
error:
    Py_XDECREF(result);
    Py_XDECREF(node_list);
    Py_XDECREF(thread_list);
    Py_XDECREF(func_list);
    return NULL;
}

/* set_code(func, code): func.__code__ = code, and on 3.13+ give the function the version
 * it would have had if made from that code: 3.13+ never specialize calls to a function
 * whose code was replaced (version 0), which would make stop() cost 10-20 %. */
static PyObject *
set_code(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyFunction_Check(args[0]) || !PyCode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "set_code(function, code)");
        return NULL;
    }
    if (PyObject_SetAttrString(args[0], "__code__", args[1]) < 0) {
        return NULL;
    }
#if PY_VERSION_HEX >= 0x030D0000
    ((PyFunctionObject *)args[0])->func_version = ((PyCodeObject *)args[1])->co_version;
#endif
    Py_RETURN_NONE;
}

/* ---- code compiled at run time -------------------------------------------------------
 * In targeted modules the trace pass turns the globals exec, eval and compile into these
 * functions, which compile as the builtins would (called from C, they see the caller's
 * frame: its globals, locals and __future__ flags), hand the code to the runtime to be
 * probed, and run it with the builtin. A name the module (or someone) redefined means
 * what it means there: the call goes to that object, untouched. */

static PyObject *instrument_hook = NULL;  /* code -> probed code (never raises) */
static PyObject *builtin_exec = NULL, *builtin_eval = NULL, *builtin_compile = NULL;
static PyObject *name_exec = NULL, *name_eval = NULL, *name_compile = NULL;
static PyObject *name_frozen = NULL;

/* What NAME means in the calling frame: its global, or the builtin. Borrowed. */
static PyObject *
resolve_name(PyObject *name)
{
    PyObject *globals = PyEval_GetGlobals();
    if (globals != NULL && PyDict_Check(globals)) {
        PyObject *v = PyDict_GetItemWithError(globals, name);
        if (v != NULL || PyErr_Occurred()) {
            return v;
        }
    }
    PyObject *builtins = PyEval_GetBuiltins();
    PyObject *v = builtins ? PyDict_GetItemWithError(builtins, name) : NULL;
    if (v == NULL && !PyErr_Occurred()) {
        PyErr_Format(PyExc_NameError, "name '%U' is not defined", name);
    }
    return v;
}

/* Steals code. */
static PyObject *
probed(PyObject *code)
{
    if (code == NULL || !PyCode_Check(code) || instrument_hook == NULL) {
        return code;
    }
    PyObject *res = PyObject_CallOneArg(instrument_hook, code);
    if (res == NULL) {
        PyErr_Clear();
        return code;
    }
    Py_DECREF(code);
    return res;
}

static PyObject *
run_hooked(PyObject *name, PyObject *builtin, const char *mode,
           PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *target = resolve_name(name);
    if (target == NULL) {
        return NULL;
    }
    if (target != builtin || nargs < 1 || instrument_hook == NULL) {
        Py_INCREF(target);
        PyObject *res = PyObject_Vectorcall(target, args, nargs, kwnames);
        Py_DECREF(target);
        return res;
    }
    if (mode == NULL) {  /* compile() */
        return probed(PyObject_Vectorcall(builtin, args, nargs, kwnames));
    }
    PyObject *source = args[0], *code;
    if (PyCode_Check(source)) {
        Py_INCREF(source);
        code = probed(source);
    }
    else if (PyUnicode_Check(source) || PyBytes_Check(source)) {
        PyObject *text = source;
        Py_INCREF(text);
        if (mode[1] == 'v') {  /* eval() skips leading spaces and tabs */
            Py_ssize_t n = PyUnicode_Check(text) ? PyUnicode_GET_LENGTH(text)
                                                 : PyBytes_GET_SIZE(text);
            Py_ssize_t i = 0;
            while (i < n) {
                Py_UCS4 c = PyUnicode_Check(text) ? PyUnicode_READ_CHAR(text, i)
                                                  : (Py_UCS4)(unsigned char)PyBytes_AS_STRING(text)[i];
                if (c != ' ' && c != '\t') {
                    break;
                }
                i++;
            }
            if (i) {
                PyObject *rest = PySequence_GetSlice(text, i, n);
                Py_DECREF(text);
                if (rest == NULL) {
                    return NULL;
                }
                text = rest;
            }
        }
        code = PyObject_CallFunction(builtin_compile, "Oss", text, "<string>", mode);
        Py_DECREF(text);
        code = probed(code);
    }
    else {  /* not something this hook knows: the builtin says what is wrong */
        return PyObject_Vectorcall(builtin, args, nargs, kwnames);
    }
    if (code == NULL) {
        return NULL;
    }
    Py_ssize_t total = nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *small[8];
    PyObject **argv = total <= 8 ? small : PyMem_Malloc(total * sizeof(PyObject *));
    if (argv == NULL) {
        Py_DECREF(code);
        return PyErr_NoMemory();
    }
    argv[0] = code;
    for (Py_ssize_t i = 1; i < total; i++) {
        argv[i] = args[i];
    }
    PyObject *res = PyObject_Vectorcall(builtin, argv, nargs, kwnames);
    if (argv != small) {
        PyMem_Free(argv);
    }
    Py_DECREF(code);
    return res;
}

static PyObject *
hooked_exec(PyObject *m, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return run_hooked(name_exec, builtin_exec, "exec", args, nargsf, kwnames);
}

static PyObject *
hooked_eval(PyObject *m, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return run_hooked(name_eval, builtin_eval, "eval", args, nargsf, kwnames);
}

static PyObject *
hooked_compile(PyObject *m, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return run_hooked(name_compile, builtin_compile, NULL, args, nargsf, kwnames);
}

static PyObject *
set_compile_hook(PyObject *module, PyObject *hook)
{
    if (builtin_exec == NULL) {
        PyObject *b = PyImport_ImportModule("builtins");
        if (b == NULL) {
            return NULL;
        }
        builtin_exec = PyObject_GetAttrString(b, "exec");
        builtin_eval = PyObject_GetAttrString(b, "eval");
        builtin_compile = PyObject_GetAttrString(b, "compile");
        Py_DECREF(b);
        name_exec = PyUnicode_InternFromString("exec");
        name_eval = PyUnicode_InternFromString("eval");
        name_compile = PyUnicode_InternFromString("compile");
        if (!builtin_exec || !builtin_eval || !builtin_compile || !name_exec || !name_eval
                || !name_compile) {
            return NULL;
        }
    }
    Py_XSETREF(instrument_hook, hook == Py_None ? NULL : Py_NewRef(hook));
    Py_RETURN_NONE;
}

/* Functions a class or module got from code compiled at run time by modules that are not
 * traced (dataclasses, namedtuple, attrs): sweep_class(cls) after each class statement of
 * traced code, sweep_module() at the end of a traced module body. Both only look, in C,
 * and hand what has such functions to the runtime's sweep hook. */

static PyObject *sweep_hook = NULL;

static int
compiled_at_run_time(PyObject *obj)
{
    if (PyObject_TypeCheck(obj, &PyStaticMethod_Type)
            || PyObject_TypeCheck(obj, &PyClassMethod_Type)) {
        PyObject *func = PyObject_GetAttrString(obj, "__func__");
        if (func == NULL) {
            PyErr_Clear();
            return 0;
        }
        int found = compiled_at_run_time(func);
        Py_DECREF(func);
        return found;
    }
    if (!PyFunction_Check(obj)) {
        return 0;
    }
    PyObject *name = ((PyCodeObject *)PyFunction_GET_CODE(obj))->co_filename;
    if (!PyUnicode_Check(name) || PyUnicode_GET_LENGTH(name) < 1
            || PyUnicode_READ_CHAR(name, 0) != '<') {
        return 0;
    }
    return PyUnicode_Tailmatch(name, name_frozen, 0, 7, -1) == 0;
}

static int
class_has_compiled(PyObject *cls)
{
    PyObject *dict = ((PyTypeObject *)cls)->tp_dict;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    if (dict == NULL || !PyDict_Check(dict)) {
        return 0;
    }
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if (compiled_at_run_time(value)) {
            return 1;
        }
    }
    return 0;
}

static void
call_sweep_hook(PyObject *what)
{
    PyObject *res = PyObject_CallOneArg(sweep_hook, what);
    if (res == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(res);
}

static PyObject *
sweep_class(PyObject *module, PyObject *obj)
{
    if (sweep_hook != NULL && PyType_Check(obj) && class_has_compiled(obj)) {
        call_sweep_hook(obj);
    }
    Py_RETURN_NONE;
}

static PyObject *
sweep_module(PyObject *module, PyObject *unused)
{
    PyObject *globals = PyEval_GetGlobals();
    if (sweep_hook == NULL || globals == NULL || !PyDict_Check(globals)) {
        Py_RETURN_NONE;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(globals, &pos, &key, &value)) {
        if (compiled_at_run_time(value) || (PyType_Check(value) && class_has_compiled(value))) {
            call_sweep_hook(globals);
            break;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
set_sweep_hook(PyObject *module, PyObject *hook)
{
    if (name_frozen == NULL && (name_frozen = PyUnicode_InternFromString("<frozen")) == NULL) {
        return NULL;
    }
    Py_XSETREF(sweep_hook, hook == Py_None ? NULL : Py_NewRef(hook));
    Py_RETURN_NONE;
}

/* exit_status_at_end(status): end the process with this status once the interpreter
 * has finalized. An output that could not be written at exit must make the status
 * non-zero, and atexit handlers cannot change it; Py_AtExit's functions run last, after
 * the program's own atexit handlers and finalizers, and every buffer is flushed. */
static int final_status = 0;

static void
exit_with_final_status(void)
{
    if (final_status) {
        fflush(NULL);
        _exit(final_status);
    }
}

static PyObject *
exit_status_at_end(PyObject *module, PyObject *arg)
{
    static int registered = 0;
    int status = PyLong_AsLong(arg);
    if (status == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (!registered) {
        if (Py_AtExit(exit_with_final_status) < 0) {
            PyErr_SetString(PyExc_RuntimeError, "no room left for an exit function");
            return NULL;
        }
        registered = 1;
    }
    final_status = status;
    Py_RETURN_NONE;
}

static PyObject *
clock_now(PyObject *module, PyObject *unused)
{
    return PyLong_FromLongLong(mono_ns());
}

static PyMethodDef methods[] = {
    {"enter", enter, METH_O,
     "enter($module, key, /)\n--\n\nProbe: a call of KEY starts or resumes."},
    {"leave", leave, METH_O,
     "leave($module, key, /)\n--\n\nProbe: a call of KEY returns, raises or suspends."},
    {"call", call, METH_O,
     "call($module, key, /)\n--\n\n"
     "Probe: a call of KEY starts; the exit is when the returned token is freed."},
    {"wrap", (PyCFunction)(void (*)(void))wrap, METH_FASTCALL,
     "wrap($module, iterator, key, /)\n--\n\n"
     "A proxy that reports the suspensions of the frame delegating to iterator."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(timeline=False, buffer=1000000, handler=None, tsc=True)"},
    {"set_enabled", set_enabled, METH_O, "Switch recording on or off (off closes open calls)."},
    {"enabled", is_enabled, METH_NOARGS, "Is recording on?"},
    {"set_region_mode", set_region_mode, METH_O,
     "Record only inside regions (each thread inside its own)."},
    {"region_enter", region_enter, METH_O, "The current thread enters the region KEY."},
    {"set_profiled_regions", set_profiled_regions, METH_O,
     "Inside regions, report the calls of code given a KEY by set_code_key (off: forget them)."},
    {"set_monitoring", (PyCFunction)(void (*)(void))set_monitoring, METH_FASTCALL,
     "set_monitoring(tool, events, set_events, DISABLE): record regions as that "
     "sys.monitoring tool, with the monitor_* callbacks registered."},
    {"monitor_start", (PyCFunction)(void (*)(void))monitor_start, METH_FASTCALL, NULL},
    {"monitor_throw", (PyCFunction)(void (*)(void))monitor_throw, METH_FASTCALL, NULL},
    {"monitor_return", (PyCFunction)(void (*)(void))monitor_return, METH_FASTCALL, NULL},
    {"monitor_unwind", (PyCFunction)(void (*)(void))monitor_unwind, METH_FASTCALL, NULL},
    {"forget_code_keys", forget_code_keys, METH_NOARGS, "Forget every set_code_key."},
    {"set_code_key", (PyCFunction)(void (*)(void))set_code_key, METH_FASTCALL,
     "set_code_key(code, key): calls of code are reported as KEY's inside regions."},
    {"region_exit", region_exit, METH_O, "The current thread leaves the region KEY."},
    {"reset", reset, METH_NOARGS, "Forget everything recorded."},
    {"snapshot", snapshot, METH_NOARGS, "What was recorded, as Python objects."},
    {"now", clock_now, METH_NOARGS, "CLOCK_MONOTONIC in nanoseconds."},
    {"exec", (PyCFunction)(void (*)(void))hooked_exec, METH_FASTCALL | METH_KEYWORDS,
     "exec() for code of traced modules: the code is probed, then run by the builtin."},
    {"eval", (PyCFunction)(void (*)(void))hooked_eval, METH_FASTCALL | METH_KEYWORDS,
     "eval() for code of traced modules: the code is probed, then run by the builtin."},
    {"compile", (PyCFunction)(void (*)(void))hooked_compile, METH_FASTCALL | METH_KEYWORDS,
     "compile() for code of traced modules: the code it returns is probed."},
    {"set_compile_hook", set_compile_hook, METH_O,
     "set_compile_hook(func): func(code) returns the probed code (None: no probes)."},
    {"sweep_class", sweep_class, METH_O,
     "After a class statement of traced code: probe its functions compiled at run time."},
    {"sweep_module", sweep_module, METH_NOARGS,
     "At the end of a traced module body: probe its functions compiled at run time."},
    {"set_sweep_hook", set_sweep_hook, METH_O,
     "set_sweep_hook(func): func(class or module namespace) probes such functions."},
    {"exit_status_at_end", exit_status_at_end, METH_O,
     "End the process with this status once the interpreter has finalized."},
    {"set_code", (PyCFunction)(void (*)(void))set_code, METH_FASTCALL,
     "set_code(function, code): replace the code, keeping calls to it specializable."},
    {NULL, NULL, 0, NULL},
};

/* The hooks stand for the builtins exec, eval and compile in traced code: they take the
 * builtins' documentation, signature line included, so that help(), __doc__ and
 * inspect.signature() say there what they say plainly. Where a builtin has no text
 * signature, the hook keeps its own doc. */
static int
adopt_builtin_docs(void)
{
    static PyObject *texts = NULL;  /* owns the strings the method table points to */
    if (texts != NULL) {
        return 0;
    }
    PyObject *b = PyImport_ImportModule("builtins");
    if (b == NULL || (texts = PyList_New(0)) == NULL) {
        Py_XDECREF(b);
        return -1;
    }
    for (PyMethodDef *def = methods; def->ml_name != NULL; def++) {
        if (strcmp(def->ml_name, "exec") && strcmp(def->ml_name, "eval")
                && strcmp(def->ml_name, "compile")) {
            continue;
        }
        PyObject *builtin = PyObject_GetAttrString(b, def->ml_name);
        PyObject *sig = builtin ? PyObject_GetAttrString(builtin, "__text_signature__") : NULL;
        PyObject *doc = sig ? PyObject_GetAttrString(builtin, "__doc__") : NULL;
        PyObject *text = NULL;
        if (doc != NULL && PyUnicode_Check(sig) && PyUnicode_Check(doc)) {
            text = PyUnicode_FromFormat("%s%U\n--\n\n%U", def->ml_name, sig, doc);
        }
        const char *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;
        if (utf8 != NULL && PyList_Append(texts, text) == 0) {
            def->ml_doc = utf8;
        }
        Py_XDECREF(text);
        Py_XDECREF(doc);
        Py_XDECREF(sig);
        Py_XDECREF(builtin);
        PyErr_Clear();  /* a doc is not worth failing the import for */
    }
    Py_DECREF(b);
    return 0;
}

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "bchook.passes.trace.runtime._accel",
    "C recorder for the trace pass's probes.", -1, methods,
};

PyMODINIT_FUNC
PyInit__accel(void)
{
    if (PyType_Ready(&ProxyType) < 0 || PyType_Ready(&AwaitProxyType) < 0
        || PyType_Ready(&TokenType) < 0 || PyType_Ready(&ProbeType) < 0) {
        return NULL;
    }
    if (adopt_builtin_docs() < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) {
        return NULL;
    }
    if (funcs == NULL && (funcs = PyList_New(0)) == NULL) {
        return NULL;
    }
    str_enter = PyUnicode_InternFromString("enter");
    str_exit = PyUnicode_InternFromString("exit");
    if (str_enter == NULL || str_exit == NULL) {
        return NULL;
    }
    Py_INCREF(&ProxyType);
    if (PyModule_AddObject(m, "Proxy", (PyObject *)&ProxyType) < 0) {
        Py_DECREF(&ProxyType);
        return NULL;
    }
    if (add_probe(m, "ENTER", PROBE_ENTER) < 0 || add_probe(m, "LEAVE", PROBE_LEAVE) < 0
        || add_probe(m, "WRAP", PROBE_WRAP) < 0 || add_probe(m, "CALL", PROBE_CALL) < 0) {
        return NULL;
    }
#if HAVE_TSC
    use_tsc = 1;
#endif
    tsc_base = now_ticks();
    mono_base = mono_ns();
    return m;
}
