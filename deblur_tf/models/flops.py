"""Floating-point operations of a model's forward pass, counted by TensorFlow's profiler."""

from __future__ import annotations

import keras
import tensorflow as tf


def count_flops(model: keras.Model, height: int = 128, width: int = 128) -> int:
    """FLOPs (multiply and add counted separately) of one [1, height, width, C] inference pass
    (every input of the model at that size: an inpainting model's image and mask)."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    specs = [tf.TensorSpec([1, height, width, t.shape[-1]], tf.float32) for t in model.inputs]
    fn = tf.function(lambda *x: model(list(x) if len(x) > 1 else x[0], training=False))
    concrete = fn.get_concrete_function(*specs)
    frozen = convert_variables_to_constants_v2(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the v1 profiler warns about its own deprecated internals
    try:
        info = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
    finally:
        logger.setLevel(level)
    return int(info.total_float_ops)
