"""Wang et al.'s DeepDeblur as described by Anand et al.: stacked multi-scale inception modules at
full resolution, trained with MSE only — the non-adversarial baseline."""

from __future__ import annotations

import keras

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import GlobalSkip
from deblur_tf.models.registry import register_generator, register_preset


def _inception(x, branch_filters, kernel_sizes, name):
    """One branch per kernel size, concatenated; a 1x1 bottleneck before each kernel over 1x1."""
    branches = []
    for k in kernel_sizes:
        y = x
        if k > 1:
            y = keras.layers.Conv2D(branch_filters, 1, activation="relu", name=f"{name}k{k}_bottleneck")(y)
        branches.append(keras.layers.Conv2D(branch_filters, k, padding="same", activation="relu",
                                            name=f"{name}k{k}_conv")(y))
    return keras.layers.Concatenate(name=f"{name}concat")(branches)


@register_generator("inception_deepdeblur")
class InceptionDeepDeblur(ArchModel):
    """3x3 conv (``filters`` maps, ReLU) → ``num_modules`` inception modules, each with one branch
    per kernel size from 1x1 up to 14x14 → 1x1 conv to 3 channels. No down-sampling, no
    normalisation: every layer sees the full image, so any H x W works without padding.

    ``global_skip=True`` (default) predicts a tanh residual added to the input (the description
    says only "1x1 conv to 3 channels"; predicting the residual trains much faster on a CPU
    budget); ``False`` outputs the image through a sigmoid. Trained with MSE only, RMSProp
    lr 1e-3 (experiment ``lfw_inception_deepdeblur``).

    Args:
        filters: maps of the first conv (64).
        num_modules: inception modules (6).
        branch_filters: maps per branch (a module outputs branch_filters * len(kernel_sizes)).
        kernel_sizes: the branch kernels (1, 3, 5, 9, 14).
        image_shape: input shape, ``(None, None, 3)`` for any size.
    """

    def __init__(self, filters: int = 64, num_modules: int = 6, branch_filters: int = 16,
                 kernel_sizes=(1, 3, 5, 9, 14), global_skip: bool = True,
                 image_shape=(None, None, 3), **kwargs):
        inputs = keras.Input(shape=image_shape, name="blurred")
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(inputs)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name="head_conv")(x)
        for m in range(num_modules):
            x = _inception(x, branch_filters, kernel_sizes, f"inception{m}_")
        x = keras.layers.Conv2D(3, 1, name="tail_conv")(x)
        if global_skip:
            residual = keras.layers.Activation("tanh", name="residual", dtype="float32")(x)
            outputs = GlobalSkip(name="restored", dtype="float32")(inputs, residual)
        else:
            outputs = keras.layers.Activation("sigmoid", name="restored", dtype="float32")(x)
        super().__init__(inputs, outputs, dict(
            filters=filters, num_modules=num_modules, branch_filters=branch_filters,
            kernel_sizes=tuple(kernel_sizes), global_skip=global_skip,
            image_shape=tuple(image_shape)), **kwargs)


register_preset("inception_deepdeblur_compact", "inception_deepdeblur", filters=32, branch_filters=8)
