"""The program generator of ``bchook check``: whole modules that do something observable.

Each program defines functions with every kind of parameter, closures with ``nonlocal``,
generators (``send``, ``yield from``), coroutines driven without an event loop (``await``,
``async for``, ``async with``), classes with properties, ``super()`` and decorators,
``try``/``except``/``else``/``finally``, ``with``, ``match``, the walrus, comprehensions,
``global``, star-args and unpacking, f-strings, multi-line calls, and errors of every common
kind, and always terminates. Every function is called through ``report()`` (from
:mod:`.prelude`), which prints what it returned or what it raised, with the line numbers of
the traceback.

A :class:`Builder` writes one program from a source of choices: :class:`RandomChoices`
(``random.Random``, the built-in generator) or hypothesis's ``draw`` (:func:`strategy`,
whose programs shrink towards the first option of every choice). hypothesmith's
grammar-generated programs (:func:`grammar_programs`) add syntax the builder never writes;
they are valid but rarely run past their first lines, so they run with harmless builtins
and a budget of line events (``observe.run_limited``).
"""

from __future__ import annotations

import random

__all__ = ["Builder", "RandomChoices", "random_programs", "strategy", "hypothesis_programs",
           "grammar_programs", "PRELUDE_IMPORT", "have_hypothesis", "have_hypothesmith"]

#: The first line of every generated program.
PRELUDE_IMPORT = "from bchook.tools.check.prelude import *"


class RandomChoices:
    """Choices drawn from a seeded ``random.Random``: the same seed, the same programs."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def pick(self, options):
        return self.rng.choice(list(options))

    def number(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


class _DrawChoices:
    """Choices drawn by hypothesis (they shrink towards the first option / the low end)."""

    def __init__(self, draw):
        from hypothesis import strategies as st

        self.draw = draw
        self.st = st
        self.strategies: dict = {}

    def pick(self, options):
        options = tuple(options)
        strategy = self.strategies.get(options)
        if strategy is None:
            strategy = self.strategies[options] = self.st.sampled_from(options)
        return self.draw(strategy)

    def number(self, low: int, high: int) -> int:
        strategy = self.strategies.get((low, high, "integers"))
        if strategy is None:
            strategy = self.strategies[low, high, "integers"] = self.st.integers(low, high)
        return self.draw(strategy)


INT_VARS = ("a", "b", "n")
STR_VARS = ("s", "t")
LIST_VARS = ("xs",)
DICT_VARS = ("m",)
ALL_VARS = INT_VARS + STR_VARS + LIST_VARS + DICT_VARS

INTS = ["0", "1", "-1", "2", "3", "5", "7", "10", "-7", "255", "256", "1000",
        "2**31", "2**63", "10**20", "True", "False"]
STRS = ["''", "'a'", "'ab'", "'Abc'", "' x '", "'a,b'", "'q'", "'é'", "'10'", "'-3'"]
EXCEPTIONS = ["ValueError", "TypeError", "KeyError", "IndexError", "ZeroDivisionError",
              "AttributeError", "NameError", "UnboundLocalError", "RuntimeError",
              "ArithmeticError", "LookupError", "Exception"]


class Scope:
    """What code at one point may read and assign."""

    def __init__(self, kind, readable, assignable, *, loop=False, walrus=True,
                 funcs=(), can_global=False):
        self.kind = kind              # module, func, gen, async, class, method
        self.readable = dict(readable)  # name -> type (int, str, list, dict)
        self.assignable = set(assignable)
        self.loop = loop
        self.walrus = walrus
        self.funcs = list(funcs)      # (name, call-args template) callable from here
        self.can_global = can_global

    def child(self, **changes):
        new = Scope(self.kind, self.readable, self.assignable, loop=self.loop,
                    walrus=self.walrus, funcs=self.funcs, can_global=self.can_global)
        for key, value in changes.items():
            setattr(new, key, value)
        return new

    def of_type(self, kind, assign=False):
        pool = self.assignable if assign else self.readable
        return sorted(n for n in pool if self.readable.get(n) == kind)


class Builder:
    """Writes one program, line by line, from ``choices`` (``pick(options)`` and
    ``number(low, high)``)."""

    MAX_DEPTH = 3

    def __init__(self, choices):
        self.choices = choices
        self.lines: list[str] = []
        self.counter = 0
        self.in_fstring = False

    # -- choices (all of them shrink towards the first option / "no") --------------------
    def pick(self, options):
        return self.choices.pick(options)

    def chance(self, percent):
        return self.choices.number(0, 99) >= 100 - percent

    def number(self, low, high):
        return self.choices.number(low, high)

    def fresh(self, stem):
        self.counter += 1
        return f"{stem}{self.counter}"

    # -- expressions ---------------------------------------------------------------------
    def expr(self, kind, scope, depth=0):
        return getattr(self, f"{kind}_expr")(scope, depth)

    def _var(self, scope, kind):
        names = scope.of_type(kind)
        return self.pick(names) if names else None

    def int_expr(self, scope, depth=0):
        var = self._var(scope, "int")
        if depth >= 3 or self.chance(30):
            if var is not None and self.chance(60):
                return var
            return self.pick(INTS)
        d = depth + 1
        kind = self.pick(["bin", "var", "unary", "len", "cond", "index", "get", "builtin",
                          "call", "walrus", "genexp", "pow", "shift", "find", "lambda",
                          "star", "div0", "int_of_str", "attr", "float"])
        x = lambda: self.int_expr(scope, d)  # noqa: E731
        if kind == "var" and var is not None:
            return var
        if kind == "bin":
            return f"({x()} {self.pick(['+', '-', '*', '//', '%', '&', '|', '^'])} {x()})"
        if kind == "unary":
            return f"({self.pick(['-', '~', '+', 'not '])}{x()})"
        if kind == "len":
            return f"len({self.expr(self.pick(['str', 'list', 'dict']), scope, d)})"
        if kind == "cond":
            return f"({x()} if {self.bool_expr(scope, d)} else {x()})"
        if kind == "index":
            return f"{self.list_expr(scope, d)}[{x()} % 4]"
        if kind == "get":
            return f"{self.dict_expr(scope, d)}.get({self.str_expr(scope, d)}, {x()})"
        if kind == "builtin":
            fn = self.pick(["abs", "min", "max", "sum", "hash", "int", "bool", "len"])
            if fn in ("min", "max"):
                return f"{fn}({x()}, {x()}, {x()})"
            if fn == "sum":
                return f"sum({self.list_expr(scope, d)})"
            if fn == "len":
                return f"len({self.list_expr(scope, d)})"
            return f"{fn}({x()})"
        if kind == "call" and scope.funcs and not scope.loop:  # calls in loops multiply
            name, template = self.pick(scope.funcs)
            return f"{name}({template(self, scope, d)})"
        if kind == "walrus" and scope.walrus:
            targets = scope.of_type("int", assign=True)
            if targets:
                return f"({self.pick(targets)} := {x()})"
        if kind == "genexp":
            v = self.fresh("g")
            inner = scope.child(walrus=False, readable={**scope.readable, v: "int"},
                                assignable=set())
            cond = f" if {self.bool_expr(inner, d)}" if self.chance(50) else ""
            return f"sum({self.int_expr(inner, d)} for {v} in " \
                   f"{self.list_expr(scope.child(walrus=False), d)}{cond})"
        if kind == "pow":
            return f"({x()} ** {self.number(0, 3)})"
        if kind == "shift":
            return f"({x()} {self.pick(['<<', '>>'])} {self.number(0, 9)})"
        if kind == "find":
            return f"{self.str_expr(scope, d)}.{self.pick(['find', 'count'])}" \
                   f"({self.str_expr(scope, d)})"
        if kind == "lambda":
            return f"(lambda q, *r, k=2: q * k + len(r))({x()}, {x()}, k={x()})"
        if kind == "star":
            return f"max(*{self.list_expr(scope, d)}, {x()})"
        if kind == "div0":
            return f"({x()} // {self.pick(['0', var or '0', '(1 - 1)'])})"
        if kind == "int_of_str":
            return f"int({self.str_expr(scope, d)})"
        if kind == "attr":
            return f"({x()}).{self.pick(['real', 'imag', 'numerator', 'bit_length()', 'nope'])}"
        if kind == "float":
            return f"round({x()} / {self.pick(['2', '3', '0.5', '-4'])}, 2)"
        return self.pick(INTS)

    def str_expr(self, scope, depth=0):
        var = self._var(scope, "str")
        if depth >= 3 or self.chance(35):
            if var is not None and self.chance(60):
                return var
            return self.pick(STRS)
        d = depth + 1
        s = lambda: self.str_expr(scope, d)  # noqa: E731
        kinds = ["concat", "repeat", "slice", "method", "str", "fstring", "debug", "join",
                 "cond", "index", "chr", "format", "typename"]
        if self.in_fstring:  # before 3.12 an f-string cannot hold its own kind of quotes
            kinds = kinds[:5]
        kind = self.pick(kinds)
        if kind == "concat":
            return f"({s()} + {s()})"
        if kind == "repeat":
            return f"({s()} * ({self.int_expr(scope, d)} % 4))"
        if kind == "slice":
            return f"{s()}[{self.int_expr(scope, d)}:{self.int_expr(scope, d)}]"
        if kind == "method":
            return f"{s()}.{self.pick(['upper()', 'strip()', 'title()', 'lower()', 'swapcase()'])}"
        if kind == "str":
            return f"{self.pick(['str', 'repr', 'ascii'])}({self.int_expr(scope, d)})"
        if kind == "fstring":
            self.in_fstring = True
            try:  # parentheses, so that a dict display never starts with "{{"
                return f'f"<{{({self.int_expr(scope, d)})}}:{{({s()})!r}}:' \
                       f'{{({self.int_expr(scope, d)}):>4}}>"'
            finally:
                self.in_fstring = False
        if kind == "debug" and var is not None:
            return f'f"{{{var}=}}"'
        if kind == "join":
            return f"','.join(str(w) for w in {self.list_expr(scope.child(walrus=False), d)})"
        if kind == "cond":
            return f"({s()} if {self.bool_expr(scope, d)} else {s()})"
        if kind == "index":
            return f"{s()}[{self.int_expr(scope, d)}]"
        if kind == "chr":
            return f"chr(65 + {self.int_expr(scope, d)} % 26)"
        if kind == "format":
            return f"'%s-%d' % ({s()}, {self.int_expr(scope, d)})"
        if kind == "typename":
            return f"type({self.int_expr(scope, d)}).__name__"
        return self.pick(STRS)

    def bool_expr(self, scope, depth=0):
        d = depth + 1
        x = lambda: self.int_expr(scope, d)  # noqa: E731
        kind = self.pick(["cmp", "chain", "in", "not", "andor", "isinstance", "truth", "str",
                          "all"])
        if kind == "cmp":
            return f"({x()} {self.pick(['<', '<=', '==', '!=', '>', '>='])} {x()})"
        if kind == "chain":
            return f"({x()} < {x()} <= {x()})"
        if kind == "in":
            return f"({x()} {self.pick(['in', 'not in'])} {self.list_expr(scope, d)})"
        if kind == "not" and depth < 3:
            return f"(not {self.bool_expr(scope, d)})"
        if kind == "andor" and depth < 3:
            return f"({self.bool_expr(scope, d)} {self.pick(['and', 'or'])} " \
                   f"{self.bool_expr(scope, d)})"
        if kind == "isinstance":
            return f"isinstance({x()}, {self.pick(['int', 'bool', 'str', '(int, str)'])})"
        if kind == "str":
            return f"({self.str_expr(scope, d)} in {self.str_expr(scope, d)})"
        if kind == "all" and depth < 3:
            v = self.fresh("g")
            inner = scope.child(walrus=False, readable={**scope.readable, v: "int"},
                                assignable=set())
            return f"{self.pick(['all', 'any'])}({v} > {self.int_expr(inner, d)} for {v} " \
                   f"in {self.list_expr(scope.child(walrus=False), d)})"
        return f"bool({x()})"

    def list_expr(self, scope, depth=0):
        var = self._var(scope, "list")
        if depth >= 3 or self.chance(40):
            if var is not None and self.chance(70):
                return var
            return self.pick(["[]", "[1, 2, 3]", "[0]", "[-1, 5, 2]", "[7, 7]"])
        d = depth + 1
        x = lambda: self.int_expr(scope, d)  # noqa: E731
        kind = self.pick(["literal", "comp", "sorted", "range", "slice", "concat", "star",
                          "values", "filter"])
        if kind == "literal":
            return "[" + ", ".join(x() for _ in range(self.number(0, 3))) + "]"
        if kind == "comp":
            v = self.fresh("c")
            inner = scope.child(walrus=False, readable={**scope.readable, v: "int"},
                                assignable=set())
            cond = f" if {self.bool_expr(inner, d)}" if self.chance(50) else ""
            iterable = self.list_expr(scope.child(walrus=False), d)
            return f"[{self.int_expr(inner, d)} for {v} in {iterable}{cond}]"
        if kind == "sorted":
            return f"sorted({self.list_expr(scope, d)}, reverse={self.pick(['False', 'True'])})"
        if kind == "range":
            return f"list(range({x()} % 6))"
        if kind == "slice":
            return f"{self.list_expr(scope, d)}[{x()}:{x()}]"
        if kind == "concat":
            return f"({self.list_expr(scope, d)} + {self.list_expr(scope, d)})[:8]"
        if kind == "star":
            return f"[*{self.list_expr(scope, d)}, {x()}][:8]"
        if kind == "values":
            return f"list({self.dict_expr(scope, d)}.values())"
        if kind == "filter":
            return f"list(filter(None, {self.list_expr(scope, d)}))"
        return "[]"

    def dict_expr(self, scope, depth=0):
        var = self._var(scope, "dict")
        if depth >= 3 or self.chance(50):
            if var is not None and self.chance(70):
                return var
            return self.pick(["{}", "{'a': 1}", "{'a': 1, 'b': 2}", "{'q': -3}"])
        d = depth + 1
        kind = self.pick(["literal", "merge", "comp"])
        if kind == "literal":
            return f"{{{self.str_expr(scope, d)}: {self.int_expr(scope, d)}}}"
        if kind == "merge":
            return f"{{**{self.dict_expr(scope, d)}, {self.str_expr(scope, d)}: " \
                   f"{self.int_expr(scope, d)}}}"
        v = self.fresh("k")
        inner = scope.child(walrus=False, readable={**scope.readable, v: "int"},
                            assignable=set())
        iterable = self.list_expr(scope.child(walrus=False), d)
        return f"{{str({v}): {self.int_expr(inner, d)} for {v} in {iterable}}}"

    # -- statements ------------------------------------------------------------------------
    def emit(self, indent, text):
        for line in text.split("\n"):
            self.lines.append("    " * indent + line)

    def block(self, indent, scope, depth, count=None):
        count = self.number(1, 3) if count is None else count
        for _ in range(count):
            self.statement(indent, scope, depth)

    def statement(self, indent, scope, depth):
        kinds = ["assign", "assign", "augment", "show", "show", "here", "if", "for",
                 "while", "try", "with", "match", "comp", "unpack", "raise", "assert",
                 "lambda", "multiline"]
        if scope.kind in ("func", "gen", "async", "method"):
            kinds += ["closure", "generator", "return", "del", "class"]
        if scope.kind == "gen":
            kinds += ["yield", "yield", "yield_from"]
        if scope.kind == "async":
            kinds += ["await", "await", "async_with", "async_for"]
        if scope.loop:
            kinds += ["break", "continue"]
        if scope.can_global:
            kinds += ["global"]
        kind = self.pick(kinds)
        if depth >= self.MAX_DEPTH and kind in ("if", "for", "while", "try", "with", "match",
                                                "closure", "generator", "async_with",
                                                "async_for", "class"):
            kind = "show"
        getattr(self, f"st_{kind}")(indent, scope, depth)

    def _target(self, scope, kind):
        names = scope.of_type(kind, assign=True)
        return self.pick(names) if names else None

    def st_assign(self, indent, scope, depth):
        kind = self.pick(["int", "str", "list", "dict"])
        target = self._target(scope, kind)
        if target is None:
            return self.st_show(indent, scope, depth)
        value = self.expr(kind, scope)
        if kind == "int":  # keep numbers small whatever loops do to them
            value = f"{value} % 10007" if self.chance(80) else value
        elif kind in ("str", "list"):
            value = f"({value})[:{self.number(3, 12)}]"
        self.emit(indent, f"{target} = {value}")

    def st_augment(self, indent, scope, depth):
        kind = self.pick(["int", "str", "list", "dict"])
        target = self._target(scope, kind)
        if target is None:
            return self.st_show(indent, scope, depth)
        if kind == "int":
            self.emit(indent, f"{target} {self.pick(['+=', '-=', '^=', '|=', '//='])} "
                              f"{self.int_expr(scope, 1)} % 101")
        elif kind == "str":
            self.emit(indent, f"{target} = ({target} + {self.str_expr(scope, 1)})[-12:]")
        elif kind == "list":
            self.emit(indent, self.pick([
                f"{target}.append({self.int_expr(scope, 1)})\n{target} = {target}[-8:]",
                f"{target}[{self.int_expr(scope, 2)} % 3] = {self.int_expr(scope, 1)}",
                f"del {target}[:1]",
                f"{target}.sort()"]))
        else:
            self.emit(indent, f"{target}[{self.str_expr(scope, 2)}] = {self.int_expr(scope, 1)}")

    def st_show(self, indent, scope, depth):
        args = [self.expr(self.pick(["int", "str", "list", "dict", "bool"]), scope)
                for _ in range(self.number(1, 3))]
        extra = self.pick(["", ", sep='|'", ", end=';\\n'"])
        self.emit(indent, f"show({', '.join(args)}{extra})")

    def st_here(self, indent, scope, depth):
        self.emit(indent, f"show('line', here())")

    def st_multiline(self, indent, scope, depth):
        # a call spread over lines: the traceback names the line of the failing part
        parts = [self.expr(self.pick(["int", "str", "bool"]), scope)
                 for _ in range(self.number(2, 3))]
        self.emit(indent, "show(\n" + "".join(f"    {p},\n" for p in parts) + ")")

    def st_if(self, indent, scope, depth):
        cond = self.bool_expr(scope)
        if scope.walrus and self.chance(25):
            target = self._target(scope, "int")
            if target:
                cond = f"({target} := {self.int_expr(scope, 1)}) > {self.pick(INTS[:6])}"
        self.emit(indent, f"if {cond}:")
        self.block(indent + 1, scope, depth + 1)
        if self.chance(30):
            self.emit(indent, f"elif {self.bool_expr(scope)}:")
            self.block(indent + 1, scope, depth + 1)
        if self.chance(50):
            self.emit(indent, "else:")
            self.block(indent + 1, scope, depth + 1)

    def st_for(self, indent, scope, depth):
        v = self.fresh("i")
        source = self.pick([f"range({self.number(0, 4)})", f"list({self.list_expr(scope, 1)})",
                            f"{self.str_expr(scope, 2)}[:4]",
                            f"enumerate({self.list_expr(scope, 2)}[:4])"])
        inner = scope.child(loop=True, readable={**scope.readable, v: "int"})
        if source.startswith("enumerate"):
            w = self.fresh("w")
            inner.readable[w] = "int"
            self.emit(indent, f"for {v}, {w} in {source}:")
        elif source.endswith("[:4]"):
            inner.readable[v] = "str"
            self.emit(indent, f"for {v} in {source}:")
        else:
            self.emit(indent, f"for {v} in {source}:")
        self.block(indent + 1, inner, depth + 1)
        if self.chance(30):
            self.emit(indent, "else:")
            self.block(indent + 1, scope, depth + 1)

    def st_while(self, indent, scope, depth):
        guard = self.fresh("w")
        self.emit(indent, f"{guard} = 0")
        self.emit(indent, f"while {self.bool_expr(scope)} and {guard} < 3:")
        self.emit(indent + 1, f"{guard} += 1")  # first, so that continue cannot skip it
        self.block(indent + 1, scope.child(loop=True), depth + 1)
        if self.chance(25):
            self.emit(indent, "else:")
            self.block(indent + 1, scope, depth + 1)

    def st_try(self, indent, scope, depth):
        self.emit(indent, "try:")
        self.block(indent + 1, scope, depth + 1)
        handlers = self.number(0, 2)
        for _ in range(handlers):
            names = [self.pick(EXCEPTIONS) for _ in range(self.number(1, 2))]
            caught = names[0] if len(names) == 1 else f"({', '.join(names)})"
            e = self.fresh("e")
            self.emit(indent, f"except {caught} as {e}:")
            self.emit(indent + 1, f"show('caught', type({e}).__name__, {e}.args)")
            if self.chance(40):
                self.block(indent + 1, scope, depth + 1)
            if self.chance(15):
                self.emit(indent + 1, self.pick(["raise", f"raise RuntimeError('again') from {e}",
                                                 "raise KeyError('inner')"]))
        if handlers and self.chance(30):
            self.emit(indent, "else:")
            self.block(indent + 1, scope, depth + 1)
        if not handlers or self.chance(40):
            self.emit(indent, "finally:")
            self.emit(indent + 1, "show('finally', here())")
            if self.chance(40):
                self.block(indent + 1, scope, depth + 1)

    def st_with(self, indent, scope, depth):
        v = self.fresh("cm")
        items = [f"CM({self.str_expr(scope, 2)}, suppress={self.pick(['False', 'True'])}) as {v}"]
        if self.chance(30):
            items.append(f"CM('second')")
        inner = scope.child(readable={**scope.readable, v: "str"})
        self.emit(indent, f"with {', '.join(items)}:")
        self.block(indent + 1, inner, depth + 1)

    def st_match(self, indent, scope, depth):
        subject = self.pick(["int", "list", "dict", "str"])
        self.emit(indent, f"match {self.expr(subject, scope, 1)}:")
        v = self.fresh("p")
        cases = {
            "int": ["0", "1 | 2 | 3", f"int({v}) if {v} > 5", f"{v} if {v} < 0", "True",
                    f"(7 | 8) as {v}"],
            "list": ["[]", f"[{v}]", f"[1, *{v}]", f"[_, {v}, *_]", f"[{v}, 2] | [2, {v}]",
                     f"list({v}) if len({v}) > 3"],
            "dict": ["{}", f"{{'a': {v}}}", f"{{'a': 1, **{v}}}", f"{{'b': int({v})}}",
                     f"dict({v}) if not {v}"],
            "str": ["''", "'a' | 'ab'", f"str({v}) if {v}.isupper()", f"{v} if len({v}) > 2"],
        }[subject]
        inner = scope.child(readable={**scope.readable, v: None})
        for _ in range(self.number(1, 3)):
            self.emit(indent + 1, f"case {self.pick(cases)}:")
            self.emit(indent + 2, f"show('case', {subject!r}, here())")
            if self.chance(40):
                self.block(indent + 2, inner, depth + 1)
        if self.chance(60):
            self.emit(indent + 1, "case _:")
            self.emit(indent + 2, "show('default', here())")

    def st_comp(self, indent, scope, depth):
        target = self._target(scope, "list")
        v = self.fresh("c")
        inner = scope.child(walrus=False, readable={**scope.readable, v: "int"},
                            assignable=set())
        kind = self.pick(["list", "set", "dict", "nested", "walrus"])
        iterable = self.list_expr(scope.child(walrus=False), 1)
        if kind == "walrus" and scope.walrus and scope.kind != "class":
            w = self._target(scope, "int")
            if w:  # binds in the enclosing scope, honouring nonlocal
                self.emit(indent, f"show([{w} for {v} in {iterable} if "
                                  f"({w} := {v} * 2) > 2], {w})")
                return
        if kind == "set":
            self.emit(indent, f"show(sorted({{{self.int_expr(inner, 1)} for {v} in "
                              f"{iterable}}}))")
        elif kind == "dict":
            self.emit(indent, f"show({{{v}: {self.str_expr(inner, 1)} for {v} in "
                              f"{iterable}}})")
        elif kind == "nested":
            w = self.fresh("c")
            inner.readable[w] = "int"
            self.emit(indent, f"show([({v}, {w}) for {v} in range(3) for {w} in range({v}) "
                              f"if {self.bool_expr(inner, 1)}])")
        elif target is not None:
            self.emit(indent, f"{target} = [{self.int_expr(inner, 1)} for {v} in "
                              f"{iterable}][:8]")
        else:
            self.emit(indent, f"show([{self.int_expr(inner, 1)} for {v} in {iterable}])")

    def st_unpack(self, indent, scope, depth):
        ints = scope.of_type("int", assign=True)
        lists = scope.of_type("list", assign=True)
        if len(ints) >= 2 and lists and self.chance(50):
            self.emit(indent, f"{ints[0]}, *{lists[0]} = {self.list_expr(scope, 1)} or [0]")
        elif len(ints) >= 2:
            self.emit(indent, f"{ints[0]}, {ints[1]} = {ints[1]}, {ints[0]}")
        else:
            self.emit(indent, f"show(*{self.list_expr(scope, 1)}, "
                              f"**{{'sep': {self.str_expr(scope, 2)}}})")

    def st_raise(self, indent, scope, depth):
        self.emit(indent, f"if {self.bool_expr(scope)}:")
        exc = self.pick(["ValueError", "KeyError", "RuntimeError", "TypeError"])
        self.emit(indent + 1, f"raise {exc}({self.str_expr(scope, 1)}, {self.int_expr(scope, 2)})")

    def st_assert(self, indent, scope, depth):
        self.emit(indent, f"assert {self.bool_expr(scope)}, {self.str_expr(scope, 2)}")

    def st_lambda(self, indent, scope, depth):
        f = self.fresh("fn")
        self.emit(indent, f"{f} = lambda x, *r, k={self.pick(INTS[:5])}: "
                          f"(x, len(r), k, {self.int_expr(scope, 2)})")
        self.emit(indent, f"show({f}({self.int_expr(scope, 1)}, *{self.list_expr(scope, 2)}, "
                          f"k={self.int_expr(scope, 2)}))")

    def st_return(self, indent, scope, depth):
        if scope.kind == "async":
            self.emit(indent, f"return {self.int_expr(scope)}")
        elif scope.kind == "gen":
            self.emit(indent, f"return {self.str_expr(scope)}")
        else:
            self.emit(indent, f"return {self.expr(self.pick(['int', 'str', 'list']), scope)}")

    def st_break(self, indent, scope, depth):
        self.emit(indent, f"if {self.bool_expr(scope)}:")
        self.emit(indent + 1, "break")

    def st_continue(self, indent, scope, depth):
        self.emit(indent, f"if {self.bool_expr(scope)}:")
        self.emit(indent + 1, "continue")

    def st_global(self, indent, scope, depth):
        self.emit(indent, f"G += {self.int_expr(scope, 2)} % 7")
        self.emit(indent, "show('G', G)")

    def st_del(self, indent, scope, depth):
        names = sorted(scope.assignable & set(ALL_VARS))
        if not names:
            return self.st_show(indent, scope, depth)
        name = self.pick(names)
        self.emit(indent, f"del {name}")  # later reads raise UnboundLocalError

    def st_yield(self, indent, scope, depth):
        target = self._target(scope, "int")
        value = self.int_expr(scope, 1)
        if target and self.chance(40):
            self.emit(indent, f"got = yield {value}")
            self.emit(indent, f"show('got', got)")
        else:
            self.emit(indent, f"yield {value}")

    def st_yield_from(self, indent, scope, depth):
        iterable = self.list_expr(scope.child(walrus=False), 1)
        self.emit(indent, f"done = yield from (w * 2 for w in {iterable})")
        self.emit(indent, "show('delegated', done)")

    def st_await(self, indent, scope, depth):
        self.emit(indent, f"show('awaited', await Tick({self.int_expr(scope, 1)}))")

    def st_async_with(self, indent, scope, depth):
        v = self.fresh("acm")
        self.emit(indent, f"async with ACM({self.str_expr(scope, 2)}, "
                          f"suppress={self.pick(['False', 'True'])}) as {v}:")
        self.block(indent + 1, scope.child(readable={**scope.readable, v: "str"}), depth + 1)

    def st_async_for(self, indent, scope, depth):
        v = self.fresh("ai")
        self.emit(indent, f"async for {v} in ARange({self.number(0, 3)}):")
        self.block(indent + 1, scope.child(loop=True, readable={**scope.readable, v: "int"}),
                   depth + 1)

    def st_closure(self, indent, scope, depth):
        name = self.fresh("inner")
        ints = [n for n in scope.of_type("int", assign=True) if n not in ("p", "k")]
        shared = self.pick(ints) if ints and self.chance(60) else None
        decorated = self.chance(25)
        if decorated:
            self.emit(indent, "@deco")
        self.emit(indent, f"def {name}(p, *args, k=1, **kw):")
        readable = dict(scope.readable, p="int", k="int")
        assignable = {"p", "k"}
        if shared:
            self.emit(indent + 1, f"nonlocal {shared}")
            assignable.add(shared)
        inner = Scope("func", readable, assignable, funcs=scope.funcs)
        self.block(indent + 1, inner, depth + 1)
        self.emit(indent + 1, f"return (p, len(args), k, sorted(kw), "
                              f"{self.int_expr(inner, 2)})")
        self.emit(indent, f"show({name}({self.int_expr(scope, 1)}, "
                          f"*{self.list_expr(scope, 2)}, k=2, z=3))")
        if shared:
            self.emit(indent, f"show('after closure', {shared})")

    def st_generator(self, indent, scope, depth):
        name = self.fresh("gen")
        self.emit(indent, f"def {name}(limit):")
        inner = Scope("gen", dict(scope.readable, limit="int"), {"limit"}, funcs=scope.funcs)
        self.emit(indent + 1, "for step in range(limit):")
        loop = inner.child(loop=True, readable={**inner.readable, "step": "int"})
        self.emit(indent + 2, "received = yield step")
        self.emit(indent + 2, "show('received', received)")
        self.block(indent + 2, loop, depth + 2, count=self.number(0, 2))
        self.block(indent + 1, inner, depth + 1, count=self.number(0, 2))
        self.emit(indent + 1, "return 'gen done'")
        how = self.pick(["list", "send", "throw", "close"])
        g = self.fresh("g")
        self.emit(indent, f"{g} = {name}({self.number(0, 3)})")
        if how == "list":
            self.emit(indent, f"show(list({g}))")
        elif how == "send":
            self.emit(indent, f"show(next({g}, 'empty'), {g}.send('x') if "
                              f"{g}.gi_frame else None)")
        elif how == "throw":
            self.emit(indent, f"show(next({g}, 'empty'))")
            self.emit(indent, f"show({g}.throw(ValueError('thrown')) if {g}.gi_frame else 0)")
        else:
            self.emit(indent, f"show(next({g}, 'empty'), {g}.close())")

    def st_class(self, indent, scope, depth):
        self.class_def(indent, scope)

    def class_def(self, indent, scope, name=None):
        name = name or self.fresh("K")
        if self.chance(20):
            self.emit(indent, f"@tagged({self.pick(STRS)})")
        base = "(Exception)" if self.chance(15) else ""
        self.emit(indent, f"class {name}{base}:")
        body = Scope("class", {}, {"attr", "size"}, walrus=False)
        self.emit(indent + 1, f"attr = {self.int_expr(body, 2)}")
        self.emit(indent + 1, f"items = [w * 2 for w in range({self.number(0, 3)})]")
        self.emit(indent + 1, "")
        self.emit(indent + 1, "def __init__(self, v):")
        if base:
            self.emit(indent + 2, "super().__init__(v)")
        self.emit(indent + 2, "self.v = v")
        self.emit(indent + 1, "")
        self.emit(indent + 1, "def __repr__(self):")
        self.emit(indent + 2, f"return f'{name}({{self.v!r}})'")
        self.emit(indent + 1, "")
        self.emit(indent + 1, "@property")
        self.emit(indent + 1, "def double(self):")
        self.emit(indent + 2, "return self.v * 2")
        self.emit(indent + 1, "")
        self.emit(indent + 1, "@staticmethod")
        self.emit(indent + 1, "def helper(x, *rest):")
        self.emit(indent + 2, "return x, rest")
        self.emit(indent + 1, "")
        self.emit(indent + 1, "@classmethod")
        self.emit(indent + 1, "def make(cls, v=1):")
        self.emit(indent + 2, "return cls(v)")
        self.emit(indent + 1, "")
        self.emit(indent + 1, "def method(self, a, s='m'):")
        readable = {"a": "int", "s": "str", "b": "int", "xs": "list"}
        self.emit(indent + 2, "b = self.v if isinstance(self.v, int) else 0")
        self.emit(indent + 2, "xs = [b, a]")
        method = Scope("method", readable, set(readable), funcs=scope.funcs)
        self.block(indent + 2, method, 2)
        self.emit(indent + 2, "return (a, s, b, xs)")
        self.emit(indent, "")
        sub = self.fresh("Sub")
        self.emit(indent, f"class {sub}({name}):")
        self.emit(indent + 1, "def method(self, a, s='sub'):")
        self.emit(indent + 2, "return ('sub', super().method(a, s), __class__.__name__)")
        self.emit(indent, "")
        use = self.fresh("use")
        self.emit(indent, f"def {use}():")
        self.emit(indent + 1, f"obj = {self.pick([name, sub])}.make({self.int_expr(scope, 2)})")
        self.emit(indent + 1, f"show(obj, obj.double, obj.helper(1, 2), obj.items, "
                              f"getattr({name}, 'tag', None))")
        self.emit(indent + 1, f"return obj.method({self.int_expr(scope, 2)})")
        self.emit(indent, f"report('{name}', {use})")
        if base:
            self.emit(indent, f"report('raise {name}', lambda: (_ for _ in ()).throw({name}(3)))")

    # -- functions and the program -------------------------------------------------------
    def signature(self):
        """``(parameter text, locals bound by it, call-args template)``."""
        style = self.pick(["plain", "defaults", "star", "kwonly", "posonly", "all"])
        if style == "plain":
            return "a, s", {"a", "s"}, lambda b, sc, d: f"{b.int_expr(sc, d)}, {b.str_expr(sc, d)}"
        if style == "defaults":
            return "a, s='d', n=3", {"a", "s", "n"}, \
                lambda b, sc, d: f"{b.int_expr(sc, d)}"
        if style == "star":
            return "a, *xs", {"a", "xs"}, \
                lambda b, sc, d: f"{b.int_expr(sc, d)}, *{b.list_expr(sc, d)}"
        if style == "kwonly":
            return "a, *, s, n=1", {"a", "s", "n"}, \
                lambda b, sc, d: f"{b.int_expr(sc, d)}, s={b.str_expr(sc, d)}"
        if style == "posonly":
            return "a, /, s='p', **m", {"a", "s", "m"}, \
                lambda b, sc, d: f"{b.int_expr(sc, d)}, x=1, **{{'a': {b.int_expr(sc, d)}}}"
        return "a, b=2, /, *xs, s='z', **m", {"a", "b", "xs", "s", "m"}, \
            lambda b, sc, d: f"{b.int_expr(sc, d)}, *{b.list_expr(sc, d)}, " \
                             f"s={b.str_expr(sc, d)}, y=0"

    def function(self, funcs):
        """Write one function; returns its (name, args template, how to call it)."""
        kind = self.pick(["func", "func", "gen", "async"])
        name = self.fresh({"func": "f", "gen": "gen_f", "async": "coro"}[kind])
        params, bound, template = self.signature()
        if self.chance(20):
            self.emit(0, self.pick(["@deco", "@tagged('t')"]))
        self.emit(0, f"{'async ' if kind == 'async' else ''}def {name}({params}):")
        uses_global = self.chance(25)
        if uses_global:
            self.emit(1, "global G")
        inits = {"a": "1", "b": "2", "n": "3", "s": "'s'", "t": "'t'", "xs": "[1, 2]",
                 "m": "{'a': 1}"}
        local = set(bound)
        for var in ALL_VARS:
            # Sometimes a name is left unbound: reading it finds the module's global, or
            # raises NameError.
            if var not in bound and not self.chance(5):
                self.emit(1, f"{var} = {inits[var]}")
                local.add(var)
        types = {"a": "int", "b": "int", "n": "int", "s": "str", "t": "str", "xs": "list",
                 "m": "dict"}
        scope = Scope(kind, types, local, funcs=funcs, can_global=uses_global)
        self.block(1, scope, 1, count=self.number(1, 5))
        if kind == "gen":
            self.emit(1, "yield (a, s)")
        self.emit(1, f"return {self.pick(['(a, s, xs)', 'n', 'm', 'here()'])}")
        self.emit(0, "")
        self.emit(0, "")
        return name, kind, template

    def program(self) -> str:
        self.emit(0, PRELUDE_IMPORT)
        self.emit(0, "")
        self.emit(0, "G = 0")
        module = Scope("module", {"a": "int", "s": "str", "xs": "list", "m": "dict",
                                  "G": "int"},
                       {"a", "s", "xs", "m", "G"})
        self.emit(0, "a, s, xs, m = 4, 'mod', [3, 1, 2], {'a': 5}")
        funcs = []
        calls = []
        for _ in range(self.number(1, 3)):
            if self.chance(20):
                self.class_def(0, module)
                self.emit(0, "")
            name, kind, template = self.function(list(funcs))
            if kind == "func":
                funcs.append((name, template))
            calls.append((name, kind, template))
        for name, kind, template in calls:
            args = template(self, module, 2)
            if kind == "func":
                self.emit(0, f"report({name!r}, {name}, {args})")
            elif kind == "gen":
                how = self.pick(["list", "next"])
                if how == "list":
                    self.emit(0, f"report({name!r}, lambda: list({name}({args})))")
                else:
                    self.emit(0, f"report({name!r}, lambda: next({name}({args})))")
            else:
                self.emit(0, f"report({name!r}, lambda: drive({name}({args})))")
        self.block(0, module, 2, count=self.number(0, 3))
        if self.chance(30):  # and one exception that escapes the module
            name, kind, template = calls[-1]
            self.emit(0, f"{'drive(' if kind == 'async' else 'list(' if kind == 'gen' else '('}"
                         f"{name}({template(self, module, 2)}))")
        return "\n".join(self.lines) + "\n"


# -- sources of programs --------------------------------------------------------------------

def random_programs(count: int, seed: int = 0) -> list[str]:
    """``count`` programs of the built-in generator; program ``i`` depends only on
    ``seed`` and ``i``, so a run that stops early gives the first programs of a longer one."""
    return [Builder(RandomChoices(seed * 1_000_003 + i)).program() for i in range(count)]


def have_hypothesis() -> bool:
    """Is hypothesis installed? (Found, not imported: importing it takes a while.)"""
    import importlib.util

    return importlib.util.find_spec("hypothesis") is not None


def have_hypothesmith() -> bool:
    """Is hypothesmith installed?"""
    import importlib.util

    return importlib.util.find_spec("hypothesmith") is not None


def strategy():
    """A hypothesis strategy of generated programs (needs hypothesis)."""
    from hypothesis import strategies as st

    @st.composite
    def programs(draw):
        return Builder(_DrawChoices(draw)).program()

    return programs()


def _collect(search_strategy, count: int, seed: int) -> list[str]:
    """``count`` examples of a strategy, drawn by hypothesis outside any test (no database,
    no shrinking: the check minimizes what differs on its own)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed

    found: list[str] = []
    if count <= 0:
        return found

    @with_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(search_strategy)
    def collect(example):
        found.append(example)

    collect()
    return found[:count]


def hypothesis_programs(count: int, seed: int = 0) -> list[str]:
    """``count`` programs of the generator with hypothesis drawing the choices."""
    return _collect(strategy(), count, seed)


def grammar_programs(count: int, seed: int = 0) -> list[str]:
    """``count`` programs from hypothesmith's grammar (needs hypothesmith)."""
    import hypothesmith

    return _collect(hypothesmith.from_grammar(auto_target=False), count, seed)
