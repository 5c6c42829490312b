"""Generators and critics, built by registered name (``build_generator("deblurgan_resnet")``).

Importing this package registers every architecture; a new one is one module here plus its
``@register_generator("name")`` / ``@register_critic("name")`` decorator and an import below.
"""

from deblur_tf.models import deblurgan_resnet, patchgan  # noqa: F401  (registers them)
from deblur_tf.models.base import ArchModel
from deblur_tf.models.registry import (CRITICS, GENERATORS, PRESETS, build_critic, build_generator,
                                       register_critic, register_generator, register_preset)

__all__ = ["ArchModel", "CRITICS", "GENERATORS", "PRESETS", "build_critic", "build_generator",
           "register_critic", "register_generator", "register_preset"]
