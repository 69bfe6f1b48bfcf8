"""``bchook dis``: what a code object holds (:mod:`.listing`), written as text or JSON
(:mod:`.format`) or as a control-flow graph (:mod:`.graph`), and the command (:mod:`.command`).
"""
