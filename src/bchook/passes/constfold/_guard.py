"""Run-time side of ``constfold.guard=1``: undo folds of module globals when one is written.

A module compiled with ``guard=1`` calls :func:`install` at the end of its body with what
was folded: the names, their values, and for every code object that used them the code it
had before folding. ``install`` gives the module a ``ModuleType`` subclass whose
``__setattr__``/``__delattr__`` notice a write to one of those names (``mod.DEBUG = True``,
``setattr``, ``del mod.DEBUG``); the first such write puts the unfolded code back into every
function of the module (``func.__code__``), so the next call sees the new value, and the
module gets its old class back. On Python 3.12+ the module's dict is also watched
(``PyDict_AddWatcher``), which catches writes through ``mod.__dict__``/``vars(mod)``; if
the interpreter has no watcher slot left (it has a few: 3.15 leaves five to programs),
the module runs unfolded from the start. On 3.10 and 3.11 such writes are not seen. Generators already running keep the code they
started with.

This module is imported by guarded modules: it imports nothing beyond the standard library.
"""

from __future__ import annotations

import gc
import sys
import types

_CodeType = types.CodeType
_FunctionType = types.FunctionType


class _State:
    __slots__ = ("module", "names", "values", "originals", "root", "done", "old_class",
                 "watched")

    def __init__(self, module, names, values, originals, root, old_class):
        self.module = module
        self.names = frozenset(names)
        self.values = dict(zip(names, values))
        self.originals = originals    # folded code object -> code before folding
        self.root = root              # the module's code object
        self.old_class = old_class
        self.done = False
        self.watched = None           # the module dict, while a dict watcher is on it


def _key(code: _CodeType) -> tuple:
    return (getattr(code, "co_qualname", code.co_name), code.co_firstlineno, code.co_name)


def _walk(code: _CodeType):
    yield code
    for const in code.co_consts:
        if type(const) is _CodeType:
            yield from _walk(const)


def install(data) -> None:
    """Called by the guarded module's own code, last thing in its body."""
    names, values, entries = data
    frame = sys._getframe(1)
    root = frame.f_code
    namespace = frame.f_globals
    by_key: dict = {}
    for code in _walk(root):
        by_key.setdefault(_key(code), []).append(code)
    originals = {}
    for key, original in entries:
        found = by_key.get(key, ())
        if len(found) == 1:
            originals[found[0]] = original
    module = sys.modules.get(namespace.get("__name__"))
    state = _State(module, names, values, originals, root, None)
    if module is None or getattr(module, "__dict__", None) is not namespace:
        _deoptimize(state)  # run some other way than imported: nothing could guard it
        return
    for name, value in state.values.items():
        if namespace.get(name, _MISSING) is not value:
            _deoptimize(state)  # changed while the module was being imported
            return
    old_class = type(module)
    state.old_class = old_class
    guarded = type(old_class.__name__, (old_class,), {
        "__setattr__": _setattr,
        "__delattr__": _delattr,
        "__module__": old_class.__module__,
        "__qualname__": old_class.__qualname__,
        "_bchook_guard": state,
    })
    try:
        module.__class__ = guarded
    except TypeError:
        _deoptimize(state)
        return
    if not _watch(state, namespace):
        # writes through the module's __dict__ would go unseen: keep the meaning instead
        _deoptimize(state)


_MISSING = object()


def _setattr(self, name, value):
    state = type(self).__dict__["_bchook_guard"]
    if name in state.names and not state.done:
        _deoptimize(state)
    state.old_class.__setattr__(self, name, value)


def _delattr(self, name):
    state = type(self).__dict__["_bchook_guard"]
    if name in state.names and not state.done:
        _deoptimize(state)
    state.old_class.__delattr__(self, name)


def _deoptimize(state: _State) -> None:
    """Put the unfolded code back into every function of the module."""
    if state.done:
        return
    state.done = True
    _unwatch(state)
    originals = state.originals
    memo: dict = {}

    def restored(code: _CodeType) -> _CodeType:
        got = memo.get(code)
        if got is not None:
            return got
        base = originals.get(code, code)
        consts = base.co_consts
        new = tuple(restored(c) if type(c) is _CodeType else c for c in consts)
        if any(a is not b for a, b in zip(new, consts)):
            base = base.replace(co_consts=new)
        memo[code] = base
        return base

    changed = {}
    for code in _walk(state.root):
        new = restored(code)
        if new is not code:
            changed[code] = new
    if changed:
        for obj in gc.get_objects():
            if type(obj) is _FunctionType:
                new = changed.get(obj.__code__)
                if new is not None:
                    obj.__code__ = new
    module = state.module
    if module is not None and state.old_class is not None and (
            type(module).__dict__.get("_bchook_guard") is state):
        try:
            module.__class__ = state.old_class
        except TypeError:
            pass


# -- dict watchers (3.12+): writes through the module's __dict__ -----------------------

#: (watcher id, the ctypes callback (kept alive), {id(dict): state}); one per process,
#: since an interpreter has only a few watcher slots.
_watcher = None
_CLONED, _CLEARED, _DEALLOCATED = 3, 4, 5   # PyDict_WatchEvent


def _watch(state: _State, namespace: dict) -> bool:
    """Watch the module's dict; False if the interpreter has dict watchers but this dict
    cannot be watched (no watcher slot left: an interpreter has only a few)."""
    global _watcher
    try:
        import ctypes

        api = ctypes.pythonapi
        api.PyDict_AddWatcher  # 3.12+ only: a lookup, not a version test
    except (ImportError, AttributeError):
        return True  # 3.10/3.11: the attribute guard is all there is (see the README)
    if _watcher is None:
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                         ctypes.c_void_p, ctypes.c_void_p)
        watched: dict = {}

        def on_event(event, dict_ptr, key_ptr, new_ptr):
            try:
                st = watched.get(dict_ptr)
                if st is None or st.done:
                    return 0
                if event == _DEALLOCATED:
                    del watched[dict_ptr]
                elif event == _CLEARED or event == _CLONED:
                    _deoptimize(st)
                elif key_ptr:
                    key = ctypes.cast(key_ptr, ctypes.py_object).value
                    if key in st.names:
                        _deoptimize(st)
            except Exception:  # a watcher must not raise
                pass
            return 0

        callback = callback_type(on_event)
        api.PyDict_AddWatcher.restype = ctypes.c_int
        api.PyDict_AddWatcher.argtypes = [callback_type]
        try:  # ctypes raises the error the C API sets (RuntimeError: no more IDs)
            watcher_id = api.PyDict_AddWatcher(callback)
        except Exception:
            return False
        if watcher_id < 0:
            return False
        _watcher = (watcher_id, callback, watched)
        # the callback must be unregistered before this module's globals (and with them the
        # callback's memory) go away at shutdown, while watched dicts may still be freed
        import atexit

        atexit.register(_stop_watching)
    watcher_id, _callback, watched = _watcher
    api.PyDict_Watch.restype = ctypes.c_int
    api.PyDict_Watch.argtypes = [ctypes.c_int, ctypes.py_object]
    try:
        if api.PyDict_Watch(watcher_id, namespace) != 0:
            return False
    except Exception:
        return False
    watched[id(namespace)] = state
    state.watched = namespace
    return True


def _unwatch(state: _State) -> None:
    namespace = state.watched
    if namespace is None or _watcher is None:
        return
    state.watched = None
    import ctypes

    watcher_id, _callback, watched = _watcher
    watched.pop(id(namespace), None)
    api = ctypes.pythonapi
    api.PyDict_Unwatch.restype = ctypes.c_int
    api.PyDict_Unwatch.argtypes = [ctypes.c_int, ctypes.py_object]
    try:  # ctypes raises what the C API sets; a dict no longer watched is no matter
        api.PyDict_Unwatch(watcher_id, namespace)
    except Exception:
        pass


def _stop_watching() -> None:
    global _watcher
    if _watcher is None:
        return
    import ctypes

    watcher_id, _callback, watched = _watcher
    watched.clear()
    api = ctypes.pythonapi
    api.PyDict_ClearWatcher.restype = ctypes.c_int
    api.PyDict_ClearWatcher.argtypes = [ctypes.c_int]
    try:
        api.PyDict_ClearWatcher(watcher_id)
    except Exception:
        pass
    _watcher = None
