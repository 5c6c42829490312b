"""Mask-aware generators for damaged faces: input an image and its mask (1 = damaged), output the
image with the holes filled and every other pixel kept.

Both generators share the seed paper's idea (Bidari & Nyaupane): the hole is first filled with
values taken from its surroundings, not with noise — here a push-pull fill (a mask-weighted image
pyramid, Gortler et al. 1996) in the graph, so the exported models do it too — and a network then
refines the whole face. The output is composited: the network's pixels inside the hole, blended
over ``seam`` px outside it, the input's own pixels everywhere else.

- ``gated_unet`` (ours): gated convolutions (Yu et al. 2019: each layer learns a soft mask of which
  features to let through), dilated convolutions at the lowest resolution for a receptive field
  wider than the largest hole, and the mask as an input channel.
- ``unet_bidari`` (the seed's): a plain conv-ReLU U-Net on the pre-filled image.

Everything here converts to TFLite (no contextual attention, which TFLite cannot run).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import CropToMatch, NearestUpsample, PadToMultiple
from deblur_tf.models.registry import register_generator


@keras.saving.register_keras_serializable(package="deblur_tf")
class BinaryMask(keras.layers.Layer):
    """A mask in [0, 1] to exactly 0 / 1 (> 0.5 is damaged): uint8 masks > 127 in the exports."""

    def call(self, mask):
        return tf.cast(mask > 0.5, self.compute_dtype)


@keras.saving.register_keras_serializable(package="deblur_tf")
class ChannelSlice(keras.layers.Layer):
    """Channels ``start:stop`` of a tensor (a named, serialisable slice)."""

    def __init__(self, start: int, stop: int, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = int(start), int(stop)

    def call(self, x):
        return x[..., self.start:self.stop]

    def compute_output_shape(self, shape):
        return (*shape[:-1], self.stop - self.start)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package="deblur_tf")
class PushPullFill(keras.layers.Layer):
    """Fill the holes of an image from their surroundings with a mask-weighted pyramid.

    Push: ``levels`` times, average the known pixels (weights = fraction known) at half the size.
    Pull: from the coarsest level up, each pixel keeps its own average where it had known pixels
    and takes the up-sampled coarser value in proportion to what it lacked. Known pixels are
    returned unchanged; a hole gets a smooth continuation of its border colours. A level where
    nothing at all is known gives mid-grey.
    """

    def __init__(self, levels: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.levels = int(levels)

    def call(self, image, mask):
        known = 1.0 - mask
        total, weight = image * known, known
        pyramid = []
        for _ in range(self.levels):
            pyramid.append((total, weight))
            total = tf.nn.avg_pool2d(total, 2, 2, "SAME")
            weight = tf.nn.avg_pool2d(weight, 2, 2, "SAME")
        fill = tf.where(weight > 1e-6, total / tf.maximum(weight, 1e-6), 0.5)
        for total, weight in reversed(pyramid):
            shape = tf.shape(total)
            up = tf.image.resize(fill, shape[1:3], method="bilinear")
            own = total / tf.maximum(weight, 1e-6)
            fill = weight * own + (1.0 - weight) * up
            fill = tf.reshape(fill, [shape[0], shape[1], shape[2], image.shape[-1]])
        return image * known + fill * mask

    def get_config(self):
        return {**super().get_config(), "levels": self.levels}


@keras.saving.register_keras_serializable(package="deblur_tf")
class SeamComposite(keras.layers.Layer):
    """``alpha * generated + (1 - alpha) * image``: alpha is 1 on the hole and ramps to 0 over
    ``2 * seam`` px outside it (a dilation, then a box blur), so the fill meets the known pixels
    without a visible edge and pixels farther than ``2 * seam`` px from a hole stay exactly as
    they were."""

    def __init__(self, seam: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.seam = int(seam)

    def alpha(self, mask):
        if self.seam <= 0:
            return mask
        k = 2 * self.seam + 1
        grown = tf.nn.max_pool2d(mask, k, 1, "SAME")
        return tf.nn.avg_pool2d(grown, k, 1, "SAME")

    def call(self, generated, image, mask):
        a = self.alpha(mask)
        return a * generated + (1.0 - a) * image

    def get_config(self):
        return {**super().get_config(), "seam": self.seam}


@keras.saving.register_keras_serializable(package="deblur_tf")
class GatedActivation(keras.layers.Layer):
    """Gated convolution's output: split 2C conv maps into features and gates, ELU(features) *
    sigmoid(gates) (Yu et al. 2019)."""

    def call(self, x):
        features, gates = tf.split(x, 2, axis=-1)
        return tf.nn.elu(features) * tf.sigmoid(gates)

    def compute_output_shape(self, shape):
        return (*shape[:-1], shape[-1] // 2)


def _gated_conv(x, filters, kernel, name, strides=1, dilation=1):
    x = keras.layers.Conv2D(2 * filters, kernel, strides=strides, dilation_rate=dilation,
                            padding="same", name=f"{name}conv")(x)
    return GatedActivation(name=f"{name}gate")(x)


def _inpainting_io(multiple: int, image_shape, fill_levels: int):
    """Shared head: the two inputs, binarised mask, padding to ``multiple`` and the pre-fill.
    Returns (inputs, padded image, padded mask, pre-filled image)."""
    shape = tuple(image_shape)
    image = keras.Input(shape=shape, name="image")
    mask = keras.Input(shape=(*shape[:2], 1), name="mask")
    binary = BinaryMask(name="binary_mask", dtype="float32")(mask)
    both = keras.layers.Concatenate(name="image_and_mask", dtype="float32")([image, binary])
    padded = PadToMultiple(multiple, name="pad_to_multiple", dtype="float32")(both)
    padded_image = ChannelSlice(0, 3, name="padded_image", dtype="float32")(padded)
    padded_mask = ChannelSlice(3, 4, name="padded_mask", dtype="float32")(padded)
    prefilled = PushPullFill(fill_levels, name="prefill", dtype="float32")(padded_image, padded_mask)
    return [image, mask], padded_image, padded_mask, prefilled


def _inpainting_tail(features, padded_image, padded_mask, prefilled, image, seam: int):
    """Shared tail: 3x3 conv to a residual over the pre-fill (float32), clip, composite, crop."""
    residual = keras.layers.Conv2D(3, 3, padding="same", name="tail_conv", dtype="float32")(features)
    generated = keras.layers.Add(name="refined", dtype="float32")([prefilled, residual])
    generated = keras.layers.ReLU(max_value=1.0, name="clip", dtype="float32")(generated)  # [0, 1]
    composite = SeamComposite(seam, name="composite", dtype="float32")(generated, padded_image, padded_mask)
    return CropToMatch(name="restored", dtype="float32")(composite, image)


@register_generator("gated_unet")
class GatedUNet(ArchModel):
    """Mask-aware U-Net of gated convolutions for inpainting faces.

    Pre-fill → [pre-filled RGB, mask] → 5x5 gated stem → per level a stride-2 gated conv and a
    gated conv → dilated gated convs (residual) at the lowest resolution → per level nearest
    up-sampling, the encoder's features concatenated, two gated convs → 3x3 conv → residual over the
    pre-fill → seam composite.

    Args:
        width: channels at full resolution; doubled per level up to ``max_width``.
        levels: down-samplings (the input is padded to a multiple of 2 ** levels).
        dilations: dilation rates of the gated convs at the lowest resolution.
        seam: px outside the hole over which the fill is blended into the known pixels.
        fill_levels: pyramid levels of the pre-fill (8: holes up to ~256 px wide get their colour
            from their whole surroundings).
        image_shape: ``(None, None, 3)`` for any size; the mask input is the same H x W with 1 channel.
    """

    def __init__(self, width: int = 16, levels: int = 3, max_width: int = 64, dilations=(2, 4, 8, 2),
                 seam: int = 2, fill_levels: int = 8, image_shape=(None, None, 3), **kwargs):
        multiple = 2 ** levels
        inputs, padded_image, padded_mask, prefilled = _inpainting_io(multiple, image_shape, fill_levels)
        x = keras.layers.Concatenate(name="prefilled_and_mask")([prefilled, padded_mask])
        x = _gated_conv(x, width, 5, "stem_")
        widths = [min(width * 2 ** level, max_width) for level in range(levels + 1)]
        skips = []
        for level in range(levels):
            skips.append(x)
            x = _gated_conv(x, widths[level + 1], 3, f"enc{level}_down_", strides=2)
            x = _gated_conv(x, widths[level + 1], 3, f"enc{level}_")
        for i, rate in enumerate(dilations):
            y = _gated_conv(x, widths[-1], 3, f"mid{i}_d{rate}_", dilation=rate)
            x = keras.layers.Add(name=f"mid{i}_add")([x, y])
        for level in reversed(range(levels)):
            x = NearestUpsample(2, name=f"dec{level}_up")(x)
            x = keras.layers.Concatenate(name=f"dec{level}_skip")([x, skips[level]])
            x = _gated_conv(x, widths[level], 3, f"dec{level}_a_")
            x = _gated_conv(x, widths[level], 3, f"dec{level}_b_")
        outputs = _inpainting_tail(x, padded_image, padded_mask, prefilled, inputs[0], seam)
        super().__init__(inputs, outputs, dict(
            width=width, levels=levels, max_width=max_width, dilations=list(dilations), seam=seam,
            fill_levels=fill_levels, image_shape=tuple(image_shape)), **kwargs)
        self.size_multiple = multiple


@register_generator("unet_bidari")
class UNetBidari(ArchModel):
    """The seed paper's generator (Bidari & Nyaupane): a U-Net refining the pre-filled face.

    Per level two 3x3 conv-ReLU and a 2x2 max-pool; up by a 2x2 transposed conv, the encoder's
    features concatenated, two 3x3 conv-ReLU. It sees the pre-filled RGB only (no mask channel);
    no batch norm, so a face is restored the same alone or in a batch. The same pre-fill, residual
    and seam composite as ``gated_unet``.
    """

    def __init__(self, width: int = 16, levels: int = 4, seam: int = 2, fill_levels: int = 8,
                 image_shape=(None, None, 3), **kwargs):
        multiple = 2 ** levels
        inputs, padded_image, padded_mask, prefilled = _inpainting_io(multiple, image_shape, fill_levels)

        def double_conv(x, filters, name):
            for i in range(2):
                x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}conv{i}")(x)
            return x

        x, skips = prefilled, []
        for level in range(levels):
            x = double_conv(x, width * 2 ** level, f"enc{level}_")
            skips.append(x)
            x = keras.layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
        x = double_conv(x, width * 2 ** levels, "bottom_")
        for level in reversed(range(levels)):
            x = keras.layers.Conv2DTranspose(width * 2 ** level, 2, strides=2, name=f"dec{level}_up")(x)
            x = keras.layers.Concatenate(name=f"dec{level}_skip")([x, skips[level]])
            x = double_conv(x, width * 2 ** level, f"dec{level}_")
        outputs = _inpainting_tail(x, padded_image, padded_mask, prefilled, inputs[0], seam)
        super().__init__(inputs, outputs, dict(width=width, levels=levels, seam=seam,
                                               fill_levels=fill_levels, image_shape=tuple(image_shape)),
                         **kwargs)
        self.size_multiple = multiple


def is_inpainting_model(model) -> bool:
    """Whether a Keras model takes (image, mask) rather than an image alone."""
    return len(getattr(model, "inputs", None) or []) == 2
