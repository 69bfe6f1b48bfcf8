"""Coroutines, async generators, async for/with, await in comprehensions, tasks and
exceptions crossing awaits, run by asyncio (and once by hand)."""

import asyncio


class Resource:
    def __init__(self, name, log):
        self.name = name
        self.log = log

    async def __aenter__(self):
        await asyncio.sleep(0)
        self.log.append(f"open {self.name}")
        return self

    async def __aexit__(self, kind, value, tb):
        self.log.append(f"close {self.name} {kind.__name__ if kind else None}")
        return kind is KeyError


async def ticker(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i
    yield "end"


async def worker(name, delay_steps, log):
    for _ in range(delay_steps):
        await asyncio.sleep(0)
    log.append(name)
    if name == "bad":
        raise ValueError(name)
    return name.upper()


async def main():
    log = []
    async with Resource("a", log) as r1, Resource("b", log):
        log.append(f"inside {r1.name}")
    async with Resource("c", log):
        raise KeyError("suppressed")
    values = [v async for v in ticker(3)]
    doubled = [await worker(str(v), 0, log) for v in values if v != "end"]
    results = await asyncio.gather(worker("x", 2, log), worker("y", 1, log),
                                   worker("bad", 0, log), return_exceptions=True)
    try:
        await asyncio.wait_for(worker("bad", 1, log), timeout=5)
    except ValueError as exc:
        log.append(f"wait_for {exc!r}")
    agen = ticker(2)
    first = await agen.__anext__()
    await agen.aclose()
    return log, values, doubled, [repr(r) for r in results], first


print(asyncio.run(main()))


class Step:
    def __await__(self):
        value = yield "step"
        return value * 2


async def by_hand():
    a = await Step()
    b = await Step()
    try:
        await Step()
    except RuntimeError as exc:
        return a, b, str(exc)


coro = by_hand()
print(coro.send(None), coro.send(1), coro.send(5))
try:
    coro.throw(RuntimeError("thrown in"))
except StopIteration as stop:
    print("result", stop.value)


async def fails_deep():
    await asyncio.sleep(0)
    return {}["missing"]


async def caller():
    try:
        await fails_deep()
    except KeyError as exc:
        tb = exc.__traceback__
        lines = []
        while tb:
            lines.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))
            tb = tb.tb_next
        return lines


print(asyncio.run(caller()))
