"""deblur-tf: restore blurred and damaged face photos with GANs (Keras 3 / TensorFlow)."""

__version__ = "0.1.0"

import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_muted():
    """Silence what native code (TensorFlow, LiteRT, libpng) writes straight to file descriptor 2
    while the block runs: start-up notices and duplicate error lines that would break a CLI's
    one-line errors. Python exceptions still propagate (and print after the block); set
    DEBLUR_TF_DEBUG=1 to see everything."""
    if os.environ.get("DEBLUR_TF_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with the C++ start-up chatter (oneDNN / CUDA-stub notices) hidden.

    Those lines are written to file descriptor 2 by native code before TF_CPP_MIN_LOG_LEVEL takes
    effect, so Python-level filtering cannot stop them; a CLI whose errors are one line, or a
    notebook, must. Import errors are still shown once the descriptor is restored.
    """
    if os.environ.get("DEBLUR_TF_DEBUG") or "tensorflow" in sys.modules:
        return
    with native_stderr_muted():
        import tensorflow as tf
        tf.config.list_physical_devices()  # triggers the CUDA probe while muted
