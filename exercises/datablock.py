# Exercises for lesson `datablock`, written by `petkit sync` from solutions/datablock.py.
# Replace each `raise NotImplementedError(...)` with your code; check it with `petkit check datablock`.

"""Lesson `datablock`: getting the pets ready, with presizing, and a DataBlock you can debug.

The chapter's DataBlock reads like a sentence: images in, breeds out; find the image files; keep
a random 20% aside to validate; read the breed from the file name; resize each image generously
on the CPU, then crop and augment whole batches at once (presizing). Check yourself with
`petkit check datablock`.
"""
import re
from pathlib import Path

from fastai.vision.all import (CategoryBlock, DataBlock, ImageBlock, RandomSplitter, Resize, aug_transforms,
                               get_image_files)

PATTERN = r"(.+)_\d+.jpg$"  # the book's regular expression


def breed_from_filename(name) -> str:
    """The breed in an Oxford-IIIT Pets file name: "great_pyrenees_173.jpg" -> "great_pyrenees".

    Takes a `str` or a `pathlib.Path` and uses the file name only (not the folders).
    A name that does not match `<breed>_<number>.jpg` is a ValueError that names the file.
    """
    # YOUR CODE HERE
    raise NotImplementedError("datablock.breed_from_filename is not written yet: replace this line with your code (stuck? run `petkit hint datablock.breed_from_filename`)")


def is_cat(name) -> bool:
    """True for a cat: in Oxford-IIIT Pets, cat breeds start with an upper-case letter.

    Takes a file name or a breed (`str` or `Path`; the folders are ignored).
    """
    # YOUR CODE HERE
    raise NotImplementedError("datablock.is_cat is not written yet: replace this line with your code (stuck? run `petkit hint datablock.is_cat`)")


def pets_datablock(item_size: int = 460, crop_size: int = 224, min_scale: float = 0.75, seed: int = 42) -> DataBlock:
    """The chapter's DataBlock with presizing: `Resize(item_size)` per item, then per batch
    `aug_transforms(size=crop_size, min_scale=min_scale)`; a seeded 20% validation split;
    labels from `breed_from_filename`."""
    # YOUR CODE HERE
    raise NotImplementedError("datablock.pets_datablock is not written yet: replace this line with your code (stuck? run `petkit hint datablock.pets_datablock`)")


def pets_dataloaders(path, bs: int = 64, item_size: int = 460, crop_size: int = 224, min_scale: float = 0.75,
                     seed: int = 42, num_workers: int = 0):
    """DataLoaders from `pets_datablock` over `path`: a folder of pet images, or one with an
    `images/` subfolder as the real data set has. A missing or empty folder is a clear error."""
    # YOUR CODE HERE
    raise NotImplementedError("datablock.pets_dataloaders is not written yet: replace this line with your code (stuck? run `petkit hint datablock.pets_dataloaders`)")
