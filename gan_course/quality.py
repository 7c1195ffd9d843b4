"""The digit meter: a small classifier that puts numbers on "looks like digits" (notebooks 05, 06).

It is trained on real MNIST in seconds, cached, and then scores a batch of generated
digits with three figures:
    confident  share of samples it classifies with p >= 0.9 whose features also look like real digits of
               that class ("recognisable"; blobs a classifier would call "8" with confidence do not count)
    classes    how many of the 10 digits appear among the confident ones (mode collapse drops it)
    fd         Fréchet distance between its features of the fakes and of real digits (lower is better)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gan_course.batches import normalise
from gan_course.data import cache_dir, load_mnist  # noqa: F401 (cache_dir: where the meter is kept)
from gan_course.errors import CourseError
from gan_course.models import check_image_batch

VERSION = 2  # 2: trained on one thread, so the same meter on every machine
CONFIDENCE = 0.9
TYPICAL = 0.99  # features farther from their class's real mean than 99% of real digits are "not a digit"
CLASS_SHARE = 0.02  # a class "appears" when at least this share of the samples is confidently that digit


class DigitClassifier(nn.Module):
    """images (B, 1, 28, 28) in [-1, 1] -> logits (B, 10); `features` gives the (B, 64) layer before them."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 16 x 14 x 14
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 7 x 7
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(),  # (B, 64)
        )
        self.head = nn.Linear(64, 10)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))


@dataclass
class Quality:
    """The meter's reading of one batch of samples."""

    confident: float  # share in [0, 1]
    classes: int  # 0..10
    fd: float  # Fréchet distance to real digits, >= 0
    counts: list[int]  # confident samples per digit 0..9
    n: int

    def summary(self) -> str:
        return f"confident {self.confident:.0%}, classes {self.classes}/10, FD {self.fd:.1f}"


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to feature rows a (N, F) and b (M, F)."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.atleast_2d(torch.cov(a.T)), torch.atleast_2d(torch.cov(b.T))  # (F, F), also for F = 1
    vals, vecs = torch.linalg.eigh(cov_a)
    sqrt_a = vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T
    # Tr(sqrt(A B)) = sum of sqrt of the eigenvalues of sqrt(A) B sqrt(A), a symmetric matrix
    cross = torch.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


class DigitMeter:
    """A trained `DigitClassifier` plus the feature statistics of real digits."""

    def __init__(self, classifier: DigitClassifier, real_features: torch.Tensor, accuracy: float):
        self.classifier = classifier.eval()
        self.real_features = real_features  # (M, 64) features of held-out real digits
        self.accuracy = accuracy  # on held-out real digits
        with torch.no_grad():  # per digit: the mean real feature and how far real digits stray from it
            predicted = self.classifier.head(real_features).argmax(1)
            self.class_means = torch.stack([real_features[predicted == c].mean(0) for c in range(10)])  # (10, 64)
            distances = (real_features - self.class_means[predicted]).norm(dim=1)
            self.max_distance = torch.stack([torch.quantile(distances[predicted == c], TYPICAL) for c in range(10)])

    @torch.no_grad()
    def score(self, images: torch.Tensor) -> Quality:
        """Score images (B, 1, 28, 28) in [-1, 1], B >= 2 (use a few hundred for stable figures)."""
        check_image_batch(images)
        if len(images) < 2:
            raise CourseError(f"The digit meter needs at least 2 images; got {len(images)}.")
        images = images.detach().float().cpu()
        features = self.classifier.features(images)
        probs = F.softmax(self.classifier.head(features), dim=1)
        predicted = probs.argmax(1)
        typical = (features - self.class_means[predicted]).norm(dim=1) <= self.max_distance[predicted]
        confident = (probs.max(1).values >= CONFIDENCE) & typical
        counts = torch.bincount(predicted[confident], minlength=10)
        classes = int((counts >= max(1, CLASS_SHARE * len(images))).sum())
        fd = frechet_distance(features, self.real_features)
        return Quality(float(confident.float().mean()), classes, fd, counts.tolist(), len(images))


def _train_classifier(images: torch.Tensor, labels: torch.Tensor, steps: int = 700) -> DigitClassifier:
    """Adam on shuffled batches of 64; deterministic, and leaves the global RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = DigitClassifier()
        optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
        order = torch.randperm(len(images)).repeat(1 + steps * 64 // len(images))
        for i in range(steps):
            batch = order[i * 64:(i + 1) * 64]
            optimiser.zero_grad()
            F.cross_entropy(model(images[batch]), labels[batch]).backward()
            optimiser.step()
    return model.eval()


def build_meter(images: torch.Tensor, labels: torch.Tensor, holdout: int = 2000) -> DigitMeter:
    """Train a meter on uint8 digits (N, 28, 28), keeping the last `holdout` for accuracy and real features.

    Trained on one CPU thread: another thread count sums in another order and would give every machine a
    slightly different meter, and so different readings of the same samples.
    """
    x, y, threads = normalise(images), labels.long(), torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        classifier = _train_classifier(x[:-holdout], y[:-holdout])
        with torch.no_grad():
            accuracy = float((classifier(x[-holdout:]).argmax(1) == y[-holdout:]).float().mean())
            real_features = classifier.features(x[-holdout:])
    finally:
        torch.set_num_threads(threads)
    return DigitMeter(classifier, real_features, accuracy)


def load_meter(root=None, verbose: bool = True) -> DigitMeter:
    """The course's digit meter for the data in `root`: loaded from its cache, or trained (seconds) and cached."""
    images, labels = load_mnist(root)
    # its convolutions round differently with AVX-512 kernels than with AVX2 ones: one cached meter for each
    kernels = torch.backends.cpu.get_cpu_capability().lower()
    path = cache_dir(root) / f"digit-meter-v{VERSION}-{len(images)}-{kernels}.pt"
    if path.is_file():
        try:
            saved = torch.load(path, weights_only=True)
            classifier = DigitClassifier()
            classifier.load_state_dict(saved["state_dict"])
            return DigitMeter(classifier, saved["real_features"], saved["accuracy"])
        except Exception:  # torch raises several types for a broken file (UnpicklingError for garbage)
            pass  # a stale or broken cache is simply rebuilt
    if verbose:
        print(f"Training the digit meter on {len(images)} real digits (once; cached in {path.parent}) ...")
    meter = build_meter(images, labels)
    from gan_course.checkpoint import atomic_save  # local import: checkpoint builds on models only

    try:
        atomic_save({"state_dict": meter.classifier.state_dict(), "real_features": meter.real_features,
                     "accuracy": meter.accuracy}, path)
    except OSError:
        pass  # caching is an optimisation: an unwritable cache folder only costs the retraining
    return meter
