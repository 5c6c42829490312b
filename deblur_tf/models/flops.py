"""Floating-point operations of a model's forward pass, counted by TensorFlow's profiler."""

from __future__ import annotations

import keras
import tensorflow as tf


def count_flops(model: keras.Model, height: int = 128, width: int = 128) -> int:
    """FLOPs (multiply and add counted separately) of one [1, height, width, 3] inference pass."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    fn = tf.function(lambda x: model(x, training=False))
    concrete = fn.get_concrete_function(tf.TensorSpec([1, height, width, 3], tf.float32))
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
