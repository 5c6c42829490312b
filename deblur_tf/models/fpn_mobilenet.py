"""DeblurGAN-v2's FPN generator over a MobileNetV2 backbone (Kupyn et al. 2019): the phone one."""

from __future__ import annotations

import keras

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import NearestUpsample, PadToMultiple, conv_norm_act, residual_output
from deblur_tf.models.registry import register_generator, register_preset

# MobileNetV2 activations at strides 2, 4, 8, 16, 32.
TAPS = ("block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu",
        "block_13_expand_relu", "out_relu")


def _conv_in_relu(x, filters, name):
    return conv_norm_act(x, filters, 3, name)


@register_generator("fpn_mobilenet")
class FPNMobileNet(ArchModel):
    """MobileNetV2 features at 1/2 … 1/32 → a feature pyramid (1x1 laterals, top-down path with
    nearest up-sampling) → a two-conv head per level at 1/4 … 1/32, each up-sampled to 1/4 and
    concatenated → conv → up-sample, add the 1/2 lateral → conv → up-sample → conv → tanh, with
    the global skip clip(input + residual). All five pyramid levels are used: the four coarse ones
    concatenated at 1/4, the finest added at 1/2, as in DeblurGAN-v2.

    The backbone keeps its batch normalisation (moving statistics at inference).

    Args:
        alpha: MobileNetV2 width multiplier (1.0 as in DeblurGAN-v2).
        fpn_filters: pyramid width (128); heads output ``fpn_filters // 2``.
        backbone_weights: a MobileNetV2 ``include_top=False`` weights file (e.g. Keras' ImageNet
            ``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5``) to start from;
            None (default) starts from random weights. Not stored in the config: a saved model
            carries its own weights.
        image_shape: input shape, ``(None, None, 3)`` for any size (padded to a multiple of 32).
    """

    def __init__(self, alpha: float = 1.0, fpn_filters: int = 128, backbone_weights: str | None = None,
                 image_shape=(None, None, 3), **kwargs):
        inputs = keras.Input(shape=image_shape, name="blurred")
        padded = PadToMultiple(32, name="pad_to_multiple", dtype="float32")(inputs)
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(padded)
        mobilenet = keras.applications.MobileNetV2(input_shape=tuple(image_shape), alpha=alpha,
                                                   include_top=False, weights=None)
        if backbone_weights:
            mobilenet.load_weights(backbone_weights)
        backbone = keras.Model(mobilenet.input, [mobilenet.get_layer(n).output for n in TAPS],
                               name="mobilenet_v2")
        c1, c2, c3, c4, c5 = backbone(x)
        half = fpn_filters // 2
        lateral = lambda t, f, n: keras.layers.Conv2D(f, 1, use_bias=False, name=f"lateral{n}")(t)  # noqa: E731
        up = lambda t, k, n: NearestUpsample(k, name=n)(t)  # noqa: E731
        p5 = lateral(c5, fpn_filters, 5)
        p4 = _conv_in_relu(keras.layers.Add(name="td4_add")([lateral(c4, fpn_filters, 4), up(p5, 2, "td4_up")]), fpn_filters, "td4_")
        p3 = _conv_in_relu(keras.layers.Add(name="td3_add")([lateral(c3, fpn_filters, 3), up(p4, 2, "td3_up")]), fpn_filters, "td3_")
        p2 = _conv_in_relu(keras.layers.Add(name="td2_add")([lateral(c2, fpn_filters, 2), up(p3, 2, "td2_up")]), fpn_filters, "td2_")
        p1 = lateral(c1, half, 1)
        heads = []
        for level, (p, k) in enumerate(((p5, 8), (p4, 4), (p3, 2), (p2, 1))):
            h = _conv_in_relu(p, fpn_filters, f"head{level}_0_")
            h = _conv_in_relu(h, half, f"head{level}_1_")
            heads.append(up(h, k, f"head{level}_up") if k > 1 else h)
        y = _conv_in_relu(keras.layers.Concatenate(name="heads")(heads), half, "smooth0_")
        y = keras.layers.Add(name="fine_add")([up(y, 2, "smooth0_up"), p1])
        y = _conv_in_relu(y, half // 2, "smooth1_")
        y = up(y, 2, "smooth1_up")
        y = keras.layers.Conv2D(3, 3, padding="same", name="tail_conv")(y)
        outputs = residual_output(y, padded, inputs)
        super().__init__(inputs, outputs, dict(alpha=alpha, fpn_filters=fpn_filters,
                                               image_shape=tuple(image_shape)), **kwargs)
        self.size_multiple = 32


register_preset("fpn_mobilenet_compact", "fpn_mobilenet", alpha=0.5, fpn_filters=64)
