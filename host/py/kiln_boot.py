"""kiln's host mode: runs the user's program as `python program.py` would,
with kiln's stand-in keras and tensorflow first on the import path."""

import os
import sys


def main():
    prog = sys.argv[1]
    sys.argv = sys.argv[1:]
    mods = os.path.dirname(os.path.abspath(__file__))
    # The stand-ins first, then the program's directory (which python
    # program.py puts first).
    sys.path[0] = mods
    sys.path.insert(1, os.path.dirname(os.path.abspath(prog)))
    import kiln_keras

    kiln_keras.patch_numpy()
    import runpy

    try:
        runpy.run_path(prog, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as e:
        kiln_keras.report(e)
        sys.exit(1)


main()
