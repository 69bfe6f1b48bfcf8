"""Tools for reading and writing bytecode by hand: ``bchook dis`` (:mod:`.dis`) and
``bchook.asm`` (:mod:`.asm`), which share one text form of instructions (:mod:`.syntax`).
"""
