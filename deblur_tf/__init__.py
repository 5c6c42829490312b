"""deblur-tf: restore blurred and damaged face photos with GANs (Keras 3 / TensorFlow)."""

__version__ = "0.1.0"
