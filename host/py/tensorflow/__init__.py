# kiln's stand-in for tensorflow: tf.keras is kiln's stand-in keras; the
# program's Keras calls are recorded and run by kiln (Go). See kiln_keras.py.
import sys as _sys

import kiln_keras

_sys.modules[__name__] = kiln_keras.modules["tensorflow"]
