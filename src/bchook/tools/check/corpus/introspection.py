"""What a program can see of its own frames and code: f_lineno, f_back, tracebacks of the
current stack, co_firstlineno, argument names, signatures, locals(), and line numbers
reported by warnings. Passes must keep every one of them."""

import inspect
import sys
import traceback
import warnings


def where():
    frame = sys._getframe(1)
    return frame.f_code.co_name, frame.f_lineno, frame.f_back.f_lineno


def caller():
    a = where()
    b = [where() for _ in range(1)]
    c = (lambda: where())()
    return a, b, c


print(caller())


def signature_of(a, b: int = 2, *args, c, d=4, **kw) -> str:
    local_value = a + b  # noqa: F841
    return locals()


print(inspect.signature(signature_of), signature_of(1, c=3))
code = signature_of.__code__
print(code.co_name, code.co_argcount, code.co_kwonlyargcount, code.co_posonlyargcount,
      code.co_varnames[:code.co_argcount + code.co_kwonlyargcount + 2],
      code.co_firstlineno, bool(code.co_flags & inspect.CO_VARARGS),
      getattr(code, "co_qualname", code.co_name))


def stack_lines():
    return [(f.name, f.lineno) for f in traceback.extract_stack(limit=3)]


def stack_user():
    return stack_lines()


print(stack_user()[-2:])


def warns():
    warnings.warn("careful", UserWarning, stacklevel=2)


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    warns()
print([(str(w.message), w.lineno) for w in caught])

print(inspect.getframeinfo(inspect.currentframe()).lineno)


def generator_frames():
    yield inspect.currentframe().f_lineno
    yield sys._getframe().f_code.co_name


print(list(generator_frames()))


class Probe:
    def method(self):
        return type(self).__name__, sys._getframe().f_code.co_name


print(Probe().method(), Probe.method.__qualname__, Probe.method.__code__.co_firstlineno)

lines = [line for _, line, _ in [] or []]
f = sys._getframe()
print(f.f_code.co_name, f.f_lineno, f.f_globals is globals(), "f" in f.f_locals)


def trace_lines():
    events = []

    def tracer(frame, event, arg):
        if frame.f_code.co_name == "traced":
            events.append((event, frame.f_lineno))
        return tracer

    def traced(n):
        total = 0
        for i in range(n):
            total += i
        return total

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        traced(2)
    finally:
        sys.settrace(old)
    first = traced.__code__.co_firstlineno
    return [(event, line - first) for event, line in events]


print(trace_lines())
