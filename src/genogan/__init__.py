"""genogan: GAN-based augmentation of genomic data for disease classification."""

__version__ = "0.1.0"
