"""The import hook: the ``sys.meta_path`` finder and its loader (:mod:`.finder`), putting it
in place (:mod:`.install`), which modules it rewrites (:mod:`.targets`), living with other
import hooks (:mod:`.compose`), the private ``.pyc`` cache and its key (:mod:`.cache`), and
bchook's own imports under 3.15's lazy imports (:mod:`.lazy`).
"""
