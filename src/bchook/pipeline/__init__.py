"""The pass pipeline: the API every pass is written against and the one loop that runs a
chain of passes over a module's syntax tree and all its code objects (:mod:`.api`), and the
registry that finds passes, built-in and plugins, through entry points (:mod:`.registry`).
"""
