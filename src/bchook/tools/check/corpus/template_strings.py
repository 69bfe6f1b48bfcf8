"""Template strings (PEP 750, 3.14+; the corpus skips it where it does not compile):
``t"..."`` builds string.templatelib.Template objects with their interpolations."""

from string.templatelib import Interpolation, Template

name = "world"
count = 3
template = t"hello {name!r} x{count:>4} {count * 2 = }"
print(type(template).__name__, template.strings)
print([(i.value, i.expression, i.conversion, i.format_spec) for i in template.interpolations])


def render(tmpl: Template) -> str:
    out = []
    for part in tmpl:
        if isinstance(part, Interpolation):
            value = part.value
            if part.conversion == "r":
                value = repr(value)
            out.append(format(value, part.format_spec))
        else:
            out.append(part)
    return "".join(out)


print(render(template))
nested = t"outer {t'inner {count}'!r}"
print(len(nested.interpolations), render(t"{'a' + 'b'}{[1, 2][count - 3]}"))


def lazy(values):
    return [render(t"item {v}") for v in values if v]


print(lazy([0, 1, 2]))
