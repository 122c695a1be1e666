"""Images -> MNIST-style 28x28 inputs: loading, ink extraction, preprocessing, segmentation."""

from digitreader.vision.io import load_image
from digitreader.vision.preprocess import preprocess

__all__ = ["load_image", "preprocess"]
