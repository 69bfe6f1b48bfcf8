"""A lexer written the way C lexers often are: one state per label, ``goto`` between them.

This is a line-for-line port of a C ``switch``/``goto`` tokenizer for a small expression
language (names, integers, decimals with exponents, strings with escapes, comments and
operators). Run it either way:

    python -m bchook -p goto examples/goto_state_machine.py   # the goto pass rewrites it
    python examples/goto_state_machine.py                     # @with_goto rewrites lex()

Both print the same tokens. Under the pass ``@with_goto`` finds the work already done and
leaves the function alone.
"""

from __future__ import annotations

import io

from bchook.goto import goto, label, with_goto

OPERATORS = "+-*/%=<>()!,"
TWO_CHAR_OPERATORS = ("==", "!=", "<=", ">=", "**")


class LexError(ValueError):
    pass


@with_goto
def lex(text: str) -> list[tuple[str, str]]:
    tokens = []
    i = 0
    n = len(text)
    line = 1

    label .start
    if i >= n:
        goto .done
    c = text[i]
    if c == "\n":
        line += 1
        i += 1
        goto .start
    if c in " \t\r":
        i += 1
        goto .start
    if c == "#":
        goto .comment
    begin = i
    if c.isalpha() or c == "_":
        goto .name
    if c.isdigit():
        goto .integer
    if c == '"':
        chars = io.StringIO()
        i += 1
        goto .string
    if c in OPERATORS:
        goto .operator
    goto .error

    label .comment  # skip to the end of the line
    while i < n and text[i] != "\n":
        i += 1
    goto .start

    label .name
    i += 1
    if i < n and (text[i].isalnum() or text[i] == "_"):
        goto .name
    tokens.append(("name", text[begin:i]))
    goto .start

    label .integer
    i += 1
    if i < n and text[i].isdigit():
        goto .integer
    if i < n and text[i] == ".":
        i += 1
        goto .fraction
    if i < n and text[i] in "eE":
        goto .exponent
    tokens.append(("int", text[begin:i]))
    goto .start

    label .fraction
    if i < n and text[i].isdigit():
        i += 1
        goto .fraction
    if i < n and text[i] in "eE":
        goto .exponent
    tokens.append(("float", text[begin:i]))
    goto .start

    label .exponent
    i += 1
    if i < n and text[i] in "+-":
        i += 1
    if not (i < n and text[i].isdigit()):
        goto .error
    while i < n and text[i].isdigit():
        i += 1
    tokens.append(("float", text[begin:i]))
    goto .start

    label .string  # chars collects the decoded text; the with block closes it on any exit
    with chars:
        label .string_char
        if i >= n or text[i] == "\n":
            goto .error  # leaves the with block: chars.close() runs first
        c = text[i]
        i += 1
        if c == '"':
            tokens.append(("string", chars.getvalue()))
            goto .start
        if c == "\\":
            if i >= n:
                goto .error
            c = {"n": "\n", "t": "\t"}.get(text[i], text[i])
            i += 1
        chars.write(c)
        goto .string_char

    label .operator
    if text[i:i + 2] in TWO_CHAR_OPERATORS:
        tokens.append(("op", text[i:i + 2]))
        i += 2
        goto .start
    tokens.append(("op", c))
    i += 1
    goto .start

    label .error
    raise LexError(f"line {line}: cannot read {text[begin:i + 1]!r}")

    label .done
    tokens.append(("end", ""))
    return tokens


SAMPLE = r'''
# compound interest
rate = 3.5e-2
years = 10
total = principal * (1 + rate) ** years   # grows
print("total:\t", total != 0)
'''


def main() -> None:
    for kind, value in lex(SAMPLE):
        print(f"{kind:6} {value!r}")
    for bad in ('x = "unterminated\n', "1e+", "a $ b"):
        try:
            lex(bad)
        except LexError as exc:
            print("error ", exc)


if __name__ == "__main__":
    main()
