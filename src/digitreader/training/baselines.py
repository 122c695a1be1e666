"""Classic baselines the seed tutorials mention (k-NN, SVM), with scikit-learn."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class BaselineResult:
    name: str
    description: str
    accuracy: float
    train_seconds: float
    ms_per_image: float  # batched prediction time / number of test images
    params: int  # stored numbers (training vectors, support vectors...)


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 255


def knn(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> BaselineResult:
    """3-NN on raw pixels, brute-force Euclidean: the textbook baseline."""
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=3, algorithm="brute", n_jobs=-1)
    t0 = time.perf_counter()
    clf.fit(_flat(x_train), y_train)
    fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = clf.predict(_flat(x_test))
    per = (time.perf_counter() - t0) / len(x_test) * 1e3
    return BaselineResult("knn", "3-NN, raw pixels", float((pred == y_test).mean()), fit, per, x_train.size)


def svm(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, train_limit: int = 20_000
) -> BaselineResult:
    """RBF SVM on 50 PCA components of the first train_limit images (full RBF training takes hours here)."""
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    clf = make_pipeline(PCA(50, random_state=0), SVC(C=10, gamma="scale"))
    t0 = time.perf_counter()
    clf.fit(_flat(x_train[:train_limit]), y_train[:train_limit])
    fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = clf.predict(_flat(x_test))
    per = (time.perf_counter() - t0) / len(x_test) * 1e3
    n_sv = int(clf[-1].support_vectors_.size)
    return BaselineResult(
        "svm", f"RBF SVM, PCA-50, {train_limit // 1000}k train images", float((pred == y_test).mean()), fit, per, n_sv
    )


BASELINES = {"knn": knn, "svm": svm}
