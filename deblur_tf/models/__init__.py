"""Generators and critics, built by registered name (``build_generator("deblurgan_resnet")``).

Importing this package registers every architecture; a new one is one module here plus its
``@register_generator("name")`` / ``@register_critic("name")`` decorator and an import below.
"""

from deblur_tf.models import (deblurgan_resnet, fpn_mobilenet, inception_deepdeblur,  # noqa: F401
                              inpainting, ird_chen, markovian10, nafnet, patchgan,  # (registers them)
                              unet_enhance_qi, unet_res_murugan)
from deblur_tf.models.base import ArchModel, inference_form
from deblur_tf.models.registry import (CRITICS, GENERATORS, PRESETS, build_critic, build_generator,
                                       register_critic, register_generator, register_preset)

__all__ = ["ArchModel", "inference_form", "CRITICS", "GENERATORS", "PRESETS", "build_critic", "build_generator",
           "register_critic", "register_generator", "register_preset"]
