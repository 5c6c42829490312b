"""PatchGAN critic (pix2pix / DeblurGAN): a score per overlapping patch."""

from __future__ import annotations

import keras

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import instance_norm, patch_scores
from deblur_tf.models.registry import register_critic


@register_critic("patchgan")
class PatchGAN(ArchModel):
    """Conv(4, s2)-LeakyReLU(0.2), then ``n_layers - 1`` Conv(4, s2)-IN-LeakyReLU, one Conv(4, s1)-IN-
    LeakyReLU and a final Conv(4, s1) to one channel: a map of patch scores (70x70 receptive field
    for n_layers=3).

    ``output_activation=None`` gives raw scores for WGAN-GP; ``"sigmoid"`` a probability map for BCE.
    Instance norm (per-sample) keeps the per-sample gradient penalty well defined; batch norm would not.
    """

    def __init__(self, filters: int = 64, n_layers: int = 3, output_activation: str | None = None,
                 image_shape=(None, None, 3), **kwargs):
        inputs = keras.Input(shape=image_shape, name="image")
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(inputs)
        x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", name="conv0")(x)
        x = keras.layers.LeakyReLU(0.2, name="lrelu0")(x)
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1
            x = keras.layers.Conv2D(filters * min(2 ** n, 8), 4, strides=stride, padding="same",
                                    use_bias=False, name=f"conv{n}")(x)
            x = instance_norm(f"in{n}")(x)
            x = keras.layers.LeakyReLU(0.2, name=f"lrelu{n}")(x)
        outputs = patch_scores(x, output_activation)
        super().__init__(inputs, outputs, dict(filters=filters, n_layers=n_layers,
                                               output_activation=output_activation,
                                               image_shape=tuple(image_shape)), **kwargs)
