"""Murugan 2018's Markovian patch discriminator: ten conv layers, a score per patch."""

from __future__ import annotations

import keras

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import instance_norm, patch_scores
from deblur_tf.models.registry import register_critic


@register_critic("markovian10")
class Markovian10(ArchModel):
    """Ten 4x4 conv layers: four stride-2 / stride-1 pairs widening ``filters`` → 8·``filters``,
    a ninth stride-1 conv, and a tenth to one channel — a map of patch scores at 1/16 of the input.
    LeakyReLU(0.2) after each of the first nine, instance norm after layers 2–9 (per-sample, so the
    WGAN-GP gradient penalty stays per image).

    ``output_activation=None`` gives raw scores for WGAN-GP; ``"sigmoid"`` a probability map for BCE.
    """

    def __init__(self, filters: int = 64, output_activation: str | None = None,
                 image_shape=(None, None, 3), **kwargs):
        inputs = keras.Input(shape=image_shape, name="image")
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(inputs)
        plan = [(filters, 2), (filters, 1), (2 * filters, 2), (2 * filters, 1), (4 * filters, 2),
                (4 * filters, 1), (8 * filters, 2), (8 * filters, 1), (8 * filters, 1)]
        for i, (width, stride) in enumerate(plan):
            x = keras.layers.Conv2D(width, 4, strides=stride, padding="same", use_bias=i == 0,
                                    name=f"conv{i}")(x)
            if i:
                x = instance_norm(f"in{i}")(x)
            x = keras.layers.LeakyReLU(0.2, name=f"lrelu{i}")(x)
        outputs = patch_scores(x, output_activation)
        super().__init__(inputs, outputs, dict(filters=filters, output_activation=output_activation,
                                               image_shape=tuple(image_shape)), **kwargs)
