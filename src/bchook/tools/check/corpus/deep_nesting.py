"""The deepest nests CPython compiles: 20 blocks in one function (try, with, for,
while), a traceback from the innermost, and long chains of expressions."""


class Box:
    log = []

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        Box.log.append(self.n)


def deepest(flag):
    try:
        with Box(1):
            for i2 in range(1):
                try:
                    while True:
                        with Box(5):
                            try:
                                for i7 in range(1):
                                    with Box(8):
                                        try:
                                            with Box(10):
                                                try:
                                                    for i12 in range(1):
                                                        with Box(13):
                                                            try:
                                                                while True:
                                                                    with Box(16):
                                                                        try:
                                                                            with Box(18):
                                                                                try:
                                                                                    if flag:
                                                                                        raise ValueError('innermost')
                                                                                    Box.log.append('core')
                                                                                finally:
                                                                                    Box.log.append('f19')
                                                                        finally:
                                                                            Box.log.append('f17')
                                                                    break
                                                            finally:
                                                                Box.log.append('f14')
                                                finally:
                                                    Box.log.append('f11')
                                        finally:
                                            Box.log.append('f9')
                            finally:
                                Box.log.append('f6')
                        break
                finally:
                    Box.log.append('f3')
    finally:
        Box.log.append('f0')
    return Box.log


print(deepest(False))
Box.log.clear()
try:
    deepest(True)
except ValueError as exc:
    tb = exc.__traceback__
    print(Box.log, tb.tb_next.tb_lineno)


def long_expression(x):
    return ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((x * 1) + 1) * 1) + 3) * 1) + 5) * 1) + 7) * 1) + 9) * 1) + 11) * 1) + 13) * 1) + 15) * 1) + 17) * 1) + 19) * 1) + 21) * 1) + 23) * 1) + 25) * 1) + 27) * 1) + 29) * 1) + 31) * 1) + 33) * 1) + 35) * 1) + 37) * 1) + 39) * 1) + 41) * 1) + 43) * 1) + 45) * 1) + 47) * 1) + 49) * 1) + 51) * 1) + 53) * 1) + 55) * 1) + 57) * 1) + 59)


print(long_expression(1))
nested = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
depth = 0
while isinstance(nested, list):
    nested = nested[0]
    depth += 1
print(depth)
