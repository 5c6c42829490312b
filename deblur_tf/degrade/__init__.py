"""Synthetic degradations: blur kernels, noise, JPEG, and configured chains of them."""

from deblur_tf.degrade.chain import (DEFAULT_DEGRADATIONS, Degradation, DegradationConfigError,
                                     KernelBank, build_kernel_bank, degrade_photo, kernel_picture)
from deblur_tf.degrade.kernels import (LITERATURE_KERNEL_SIZES, centre_of_mass_centred, disk_kernel,
                                       gaussian_kernel, linear_motion_kernel, trajectory_kernels)

__all__ = [
    "DEFAULT_DEGRADATIONS", "Degradation", "DegradationConfigError", "KernelBank",
    "LITERATURE_KERNEL_SIZES", "build_kernel_bank", "centre_of_mass_centred", "degrade_photo", "disk_kernel", "kernel_picture",
    "gaussian_kernel", "linear_motion_kernel", "trajectory_kernels",
]
