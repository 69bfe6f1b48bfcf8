"""Tests of upper_docstrings, written with bchook's helpers for pass authors
(``bchook.testing``). The distribution must be installed: the pass is named as its users
name it."""

from bchook import testing

from bchook_example_plugin import UpperDocstringsPass

SOURCE = '''\
"""a module."""


class Thing:
    """a thing."""

    def method(self):
        """a method."""
        return "not a docstring"


def plain():
    return "no docstring here"


print(__doc__, Thing.__doc__, Thing.method.__doc__, plain())
'''


def test_registered_under_its_name():
    assert testing.pass_class("upper_docstrings") is UpperDocstringsPass


def test_only_the_code_with_a_docstring_changes():
    testing.assert_changes(SOURCE, "upper_docstrings", changed=["<module>", "Thing",
                                                                "Thing.method"])


def test_docstrings_in_capitals_and_the_suffix():
    outcome = testing.run(SOURCE, "upper_docstrings", options={"upper_docstrings":
                                                               {"suffix": "!"}})
    assert outcome.stdout == "A MODULE.! A THING.! A METHOD.! no docstring here\n"
