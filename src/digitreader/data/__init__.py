"""MNIST and other data: readers (IDX, CSV, npz), locating, downloading."""

from digitreader.data.errors import DataError, DataFormatError
from digitreader.data.mnist import download_mnist, find, load_mnist

__all__ = ["DataError", "DataFormatError", "download_mnist", "find", "load_mnist"]
