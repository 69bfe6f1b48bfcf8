"""Class bodies: metaclasses with __prepare__, __init_subclass__, __set_name__, descriptors,
properties, slots, class decorators, dataclasses, super() in every form, __class__ cell,
nested classes, class-level control flow."""

import dataclasses
import functools


class Meta(type):
    @classmethod
    def __prepare__(mcs, name, bases, **kw):
        ns = {"prepared_by": mcs.__name__}
        return ns

    def __new__(mcs, name, bases, ns, **kw):
        ns["order"] = [k for k in ns if not k.startswith("__")]
        cls = super().__new__(mcs, name, bases, ns)
        cls.kw = kw
        return cls


class Plugin:
    registry = []

    def __init_subclass__(cls, key=None, **kw):
        super().__init_subclass__(**kw)
        Plugin.registry.append((cls.__name__, key))


class Named:
    def __set_name__(self, owner, name):
        self.name = f"{owner.__name__}.{name}"

    def __get__(self, obj, owner=None):
        return self if obj is None else (self.name, obj.value)


class Thing(Plugin, metaclass=Meta, key="thing"):
    a = 1
    if a:
        b = 2
    else:
        c = 3
    for i in range(2):
        locals()[f"gen{i}"] = i
    del i
    label = Named()
    __slots__ = ("value", "_cached")

    def __init__(self, value):
        self.value = value

    @property
    def double(self):
        return self.value * 2

    @double.setter
    def double(self, new):
        self.value = new // 2

    @functools.cached_property if False else property
    def same(self):
        return self.value

    def __repr__(self):
        return f"Thing({self.value!r})"


t = Thing(3)
t.double = 10
print(Thing.prepared_by, Thing.order, Thing.kw, Plugin.registry, t.label, t, t.double)
print(sorted(k for k in vars(Thing) if k.startswith("gen")))
try:
    t.other = 1
except AttributeError as exc:
    print("slots", type(exc).__name__)


def add_greeting(cls):
    cls.greet = lambda self: f"hello from {type(self).__name__}"
    return cls


@add_greeting
@dataclasses.dataclass(order=True, frozen=True)
class Version:
    major: int
    minor: int = 0
    tags: tuple = dataclasses.field(default=(), compare=False)

    def bump(self):
        return dataclasses.replace(self, minor=self.minor + 1)


v = Version(1, 2, ("x",))
print(v, v.bump(), v < v.bump(), sorted([Version(2), Version(1, 5)]), v.greet())
try:
    v.major = 3
except dataclasses.FrozenInstanceError as exc:
    print("frozen", type(exc).__name__)


class A:
    def who(self):
        return ["A"]


class B(A):
    def who(self):
        return ["B"] + super().who()


class C(A):
    def who(self):
        return ["C"] + super().who()


class D(B, C):
    def who(self):
        return ["D"] + super().who()

    @classmethod
    def cls_who(cls):
        return super(D, cls).__name__ if False else cls.__mro__[1].__name__

    @staticmethod
    def static():
        return __class__.__name__


print(D().who(), D.cls_who(), D.static(), [k.__name__ for k in D.__mro__])


class Outer:
    class Inner:
        class Deepest:
            def where(self):
                return type(self).__qualname__

    def make(self):
        return self.Inner.Deepest().where()


print(Outer().make(), Outer.Inner.__qualname__)


class Broken:
    def method(self):
        return self.missing_attribute


try:
    Broken().method()
except AttributeError as exc:
    print(exc.args, exc.__traceback__.tb_next.tb_lineno)
