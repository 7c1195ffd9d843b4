# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Data: MNIST in [-1, 1]
#
# **What you will learn**
# - where the course's MNIST digits come from, and what the raw IDX files hold;
# - the two transforms, `ToTensor` and `Normalize((0.5,), (0.5,))`, and why the pixels must end in [-1, 1];
# - the classic data mistakes, and how `check_images` catches them before training;
# - `torchvision.datasets.MNIST` as most courses load it, and proof that the course's own reader gives the
#   same tensors;
# - how a `DataLoader` serves batches, and the fast in-memory path the course trains on;
# - what real digits look like, with their labels.
#
# **Prerequisites:** notebook 01 (`seed_everything`), PyTorch tensors (`shape`, `min`, `max`), and a
# rough idea of a neural network's activation functions (Tanh).
#
# **Where we are:** notebook 2 of 7. The generator will have to imitate these images, so we look at them
# closely first.

# %% [markdown]
# We draw figures inline, and seed once at the top, as every course notebook does.

# %%
# %matplotlib inline
import inspect

import matplotlib.pyplot as plt
import torch

from gan_course.seeding import seed_everything

rng = seed_everything(0)
type(rng).__name__

# %% [markdown]
# ## Where the data comes from
#
# MNIST is 70,000 handwritten digits, 28 × 28 grey pixels each: 60,000 for training and 10,000 for
# testing. The first time you run the course, torchvision downloads it into the project's `data/`
# folder. Without internet you point the environment variable `GAN_COURSE_DATA` at a folder that already
# holds `MNIST/raw/`. `data_root()` says which folder is used (the full path depends on your machine):

# %% tags=["nbval-ignore-output"]
from gan_course.data import data_root

data_root()

# %% [markdown]
# Whatever the folder, the digits sit in its `MNIST/raw/` subfolder, exactly as torchvision lays them out:

# %%
raw = data_root() / "MNIST" / "raw"
print("MNIST/raw exists:", raw.is_dir())

# %% [markdown]
# ## The raw format: IDX
#
# Each split is two files: images and labels. An IDX file starts with a 16-byte header of four big-endian
# integers: a *magic number* (2051 for images), the number of images, the rows and the columns. Then come
# the pixels, one byte each. Let us read the header of the test images by hand (every machine has the
# test split; the file may be gzipped):

# %%
import gzip

from gan_course.data import split_files

images_path, labels_path = split_files(data_root(), "test")
with gzip.open(images_path) if images_path.suffix == ".gz" else open(images_path, "rb") as f:
    header = f.read(16)
print([int.from_bytes(header[i:i + 4], "big") for i in range(0, 16, 4)])

# %% [markdown]
# `read_idx` does the same and returns the pixels as a tensor of bytes: one 28 × 28 array per digit,
# values 0 (black) to 255 (white).

# %%
from gan_course.data import read_idx

raw_images = read_idx(images_path)
print(tuple(raw_images.shape), raw_images.dtype, int(raw_images.min()), int(raw_images.max()))

# %% [markdown]
# `load_mnist()` reads images and labels together. It takes the 60,000 training digits when they are
# there, else the 10,000 test digits (an offline copy may hold only those), so the count depends on your
# machine:

# %% tags=["nbval-ignore-output"]
from gan_course.data import load_mnist

all_images, all_labels = load_mnist()
print(len(all_images), "digits")

# %% [markdown]
# In this notebook we mostly use the test split, which every machine has, so the numbers you see are the
# ones printed here:

# %%
images, labels = load_mnist(split="test")
print(tuple(images.shape), images.dtype, tuple(labels.shape), labels[:10].tolist())

# %% [markdown]
# ## The transforms: bytes to [-1, 1]
#
# torchvision serves each digit as a PIL image and turns it into a tensor in two steps. First
# `ToTensor` divides by 255 and adds a channel dimension:

# %%
from PIL import Image
from torchvision import transforms

pil = Image.fromarray(images[0].numpy())
x = transforms.ToTensor()(pil)
print(tuple(x.shape), float(x.min()), float(x.max()))

# %% [markdown]
# Then `Normalize((0.5,), (0.5,))` computes `(x - 0.5) / 0.5`, which maps [0, 1] onto [-1, 1]:

# %%
y = transforms.Normalize((0.5,), (0.5,))(x)
print(tuple(y.shape), float(y.min()), float(y.max()))

# %% [markdown]
# The course's `mnist_transform()` is exactly these two steps, and gives the same numbers:

# %%
from gan_course.data import mnist_transform

print(mnist_transform())
print("same as the two steps:", torch.equal(mnist_transform()(pil), y))

# %% [markdown]
# ## Why [-1, 1]? Because the generator ends in Tanh
#
# The generator's last layer is `tanh`, whose outputs lie in (-1, 1) and nowhere else:

# %%
print(torch.tanh(torch.tensor([-100.0, -1.0, 0.0, 1.0, 100.0])))

# %% [markdown]
# The discriminator compares real and generated images, so both must live on the same scale. A
# histogram of the pixels of 1,000 digits before and after `Normalize` shows the shift: most pixels are
# background (0, then -1), a few are ink (1), and after `Normalize` all of them sit inside Tanh's range.

# %%
from gan_course.batches import normalise

before = images[:1000].float().div(255).flatten()
after = normalise(images[:1000]).flatten()
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, values, title in zip(axes, (before, after), ("ToTensor: [0, 1]", "ToTensor + Normalize: [-1, 1]")):
    ax.hist(values.numpy(), bins=50, log=True)
    ax.axvspan(-1, 1, color="orange", alpha=0.15, label="Tanh's range (-1, 1)")
    ax.set(title=title, xlabel="pixel value", ylabel="number of pixels (log scale)", xlim=(-1.2, 1.2))
    ax.legend(loc="upper center")

# %% [markdown]
# With [0, 1] data the generator would waste half of Tanh's range on values no real digit has, and the
# discriminator could tell fakes apart by a single negative pixel. The background share:

# %%
print("share of pixels that are pure background (-1):", round(float((after == -1).float().mean()), 3))

# %% [markdown]
# ## Pitfalls, and the check that catches them
#
# **Pitfall 1: Normalize with MNIST's mean and std.** Many classifier tutorials use
# `Normalize((0.1307,), (0.3081,))`, MNIST's mean and standard deviation. That gives mean about 0 and
# standard deviation about 1, which is right for a classifier, but the range is no longer [-1, 1]:

# %%
wrong = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
batch = torch.stack([wrong(Image.fromarray(image.numpy())) for image in images[:64]])
print(tuple(batch.shape), "min", round(float(batch.min()), 2), "max", round(float(batch.max()), 2),
      "mean", round(float(batch.mean()), 2), "std", round(float(batch.std()), 2))

# %% [markdown]
# `check_images` looks at a batch before training and says what is wrong (this cell fails on purpose):

# %% tags=["raises-exception"]
from gan_course.batches import check_images

check_images(batch)

# %% [markdown]
# **Pitfall 2: forgetting `Normalize`.** `ToTensor` alone gives [0, 1]; `check_images` catches that too:

# %% tags=["raises-exception"]
check_images(torch.stack([transforms.ToTensor()(Image.fromarray(image.numpy())) for image in images[:64]]))

# %% [markdown]
# **Pitfall 3: a three-channel Normalize.** Code copied from a colour-image (CIFAR) tutorial uses
# `Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))`. On one-channel MNIST it fails (on purpose here):

# %% tags=["raises-exception"]
three = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
three(pil)

# %% [markdown]
# The tempting "fix" is to make three grey channels with `Grayscale(3)`. Now the transform runs, but the
# images are (3, 28, 28) and no longer fit the course's models, which expect one channel:

# %%
three = transforms.Compose([transforms.Grayscale(3), transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
batch = torch.stack([three(Image.fromarray(image.numpy())) for image in images[:64]])
tuple(batch.shape)

# %% [markdown]
# `check_images` catches this one as well, and says how to fix it (this cell fails on purpose):

# %% tags=["raises-exception"]
check_images(batch)

# %% [markdown]
# A correct batch passes silently:

# %%
check_images(normalise(images[:64]))
print("the course's transform passes check_images")

# %% [markdown]
# ## Batches from a DataLoader
#
# `load_dataset()` wraps the digits in a PyTorch `Dataset` that applies `mnist_transform` to each image,
# and `make_loader` shuffles it into batches. Passing our seeded `rng` makes the order repeatable, and
# `num_workers=0` (the default) keeps everything in this process. One batch of 64:

# %%
from gan_course.batches import load_dataset, make_loader

loader = make_loader(load_dataset(), 64, rng)
real, digit_labels = next(iter(loader))
print(tuple(real.shape), real.dtype, float(real.min()), float(real.max()), tuple(digit_labels.shape))

# %% [markdown]
# An epoch is one pass over the data; `make_loader` drops the last incomplete batch. How many batches that
# is depends on how many digits your machine has:

# %% tags=["nbval-ignore-output"]
print(len(loader.dataset), "digits ->", len(loader), "batches of 64")

# %% [markdown]
# ## torchvision's MNIST, as most courses load it
#
# Most PyTorch courses load MNIST in one call:
#
# ```python
# transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
# mnist = torchvision.datasets.MNIST(root, train=True, download=True, transform=transform)
# ```
#
# It downloads the four IDX files (about 12 MB) into `root` the first time and serves item `i` as
# `(transform(PIL image), label)`. `torchvision_mnist()` makes exactly that call in the project's `data/`
# folder. Why the course also reads the IDX files itself: torchvision insists on all four files, unpacked,
# while an offline copy (a classroom without internet) may hold only the gzipped 10,000 test digits; there
# the helper unpacks what is present and torchvision's own class reads it. Which split you get depends on
# your machine:

# %% tags=["nbval-ignore-output"]
from torchvision import datasets

from gan_course.data import torchvision_mnist

transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
mnist = torchvision_mnist(transform=transform)
print(mnist)

# %% [markdown]
# It is torchvision's dataset class. (Where only the offline split exists, as in the run stored here,
# it is `OfflineMNIST`: torchvision's `MNIST` with one change, it accepts a folder that holds only the
# split it reads, here the cache folder the files were unpacked into.) A `DataLoader` over it works as in
# every tutorial:

# %%
from torch.utils.data import DataLoader

print("a torchvision MNIST dataset:", isinstance(mnist, datasets.MNIST))
tv_loader = DataLoader(mnist, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
tv_real, tv_labels = next(iter(tv_loader))
print(tuple(tv_real.shape), tuple(tv_labels.shape))

# %% [markdown]
# Both roads lead to the same tensors. With the same seed for the shuffling, torchvision's loader and the
# course's give the same first batch, pixel for pixel, and the same labels, in [-1, 1]:

# %%
course_loader = make_loader(load_dataset(), 64, torch.Generator().manual_seed(0))
course_real, course_labels = next(iter(course_loader))
print("same images:", torch.equal(tv_real, course_real), "  same labels:", torch.equal(tv_labels, course_labels))
print(f"min {tv_real.min():.0f}, max {tv_real.max():.0f}")

# %% [markdown]
# ## The fast path: normalise the whole tensor at once
#
# Going through PIL image by image is slow. `normalise()` does the same arithmetic on the whole uint8
# tensor in one go, and gives exactly the same numbers as the transform:

# %%
print(inspect.getsource(normalise))
per_image = torch.stack([mnist_transform()(Image.fromarray(image.numpy())) for image in images[:256]])
print("normalise == mnist_transform:", torch.equal(normalise(images[:256]), per_image))

# %% [markdown]
# How much faster? (The timings depend on your machine.)

# %% tags=["nbval-ignore-output"]
import time

start = time.perf_counter()
_ = torch.stack([mnist_transform()(Image.fromarray(image.numpy())) for image in images[:1000]])
per_image_s = time.perf_counter() - start
start = time.perf_counter()
_ = normalise(images[:1000])
print(f"1,000 digits: transform {per_image_s * 1000:.1f} ms, normalise {(time.perf_counter() - start) * 1000:.2f} ms")

# %% [markdown]
# ## The course's training set
#
# The course trains on the first 10,000 digits, already normalised, held in memory: `training_images()`.
# Using the same number everywhere makes an epoch equally long on a machine that downloaded the 60,000
# training digits and on one that has only the offline test split of 10,000 (as the run stored here):

# %%
from gan_course.batches import training_images

train_images = training_images()
print(tuple(train_images.shape), train_images.dtype, float(train_images.min()), float(train_images.max()))

# %% [markdown]
# ## What the digits look like
#
# Finally, the first 16 digits of the DataLoader's batch `real`, each with its label. `show_labelled_digits` maps [-1, 1]
# back to [0, 1] for display:

# %%
from gan_course.visualisation import show_labelled_digits

fig = show_labelled_digits(real[:16], digit_labels[:16])

# %% [markdown]
# ## Recap
#
# - MNIST lives in `<data root>/MNIST/raw/` as IDX files: a 16-byte header, then one byte per pixel.
# - `ToTensor` gives [0, 1]; `Normalize((0.5,), (0.5,))` maps that to [-1, 1], the range of the
#   generator's Tanh. `mnist_transform()` is those two steps; `normalise()` does the same to a whole tensor.
# - MNIST's mean/std gives about [-0.42, 2.82]; a three-channel Normalize fails, and `Grayscale(3)`
#   "fixes" it into three channels; `check_images` catches the range and the channels before training.
# - `make_loader(dataset, batch_size, rng)` gives shuffled, repeatable batches of shape (B, 1, 28, 28).
# - The course trains on `training_images()`: 10,000 digits in [-1, 1], in memory.
#
# ## Try this
#
# 1. In the histogram cell, set
#    `after = torch.stack([wrong(Image.fromarray(i.numpy())) for i in images[:1000]]).flatten()` (MNIST's
#    mean/std) and widen `xlim` to `(-1.2, 3)`. Where do the pixels end up relative to Tanh's range?
# 2. Run the DataLoader cell twice. Are the two batches the same? Now re-run the seeding cell first.
# 3. Plot the mean image `train_images.mean(0)` with `plt.imshow(..., cmap="gray")`. What does it show?
# 4. Count the digits per label in `all_labels` with `torch.bincount`. Is MNIST balanced?
# 5. Read `inspect.getsource(check_images)`: which mistake would it *not* catch?
