"""The ways users turn bchook on: the ``bchook`` command (:mod:`.cli`), running a program as
``python`` would (:mod:`.runner`), the ``.pth``/``.start`` autoload (:mod:`.autoload`) and the
pytest plugin (:mod:`.pytest_plugin`). All of them take their settings from
:mod:`bchook.config`; :mod:`.launch` says whether bchook's own command started the process.
"""
