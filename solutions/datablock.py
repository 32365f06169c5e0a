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
    ### BEGIN SOLUTION
    if not isinstance(name, (str, Path)):
        raise TypeError(f"breed_from_filename takes a file name (str or Path), got {type(name).__name__}")
    filename = Path(name).name
    match = re.search(PATTERN, filename)
    if match is None:
        raise ValueError(f"{filename!r} is not a Pets file name like 'great_pyrenees_173.jpg' "
                         f"(<breed>_<number>.jpg)")
    return match.group(1)
    ### END SOLUTION


def is_cat(name) -> bool:
    """True for a cat: in Oxford-IIIT Pets, cat breeds start with an upper-case letter.

    Takes a file name or a breed (`str` or `Path`; the folders are ignored).
    """
    ### BEGIN SOLUTION
    if not isinstance(name, (str, Path)):
        raise TypeError(f"is_cat takes a file name (str or Path), got {type(name).__name__}")
    filename = Path(name).name
    if not filename:
        raise ValueError("is_cat needs a file name, got an empty one")
    return filename[0].isupper()
    ### END SOLUTION


def pets_datablock(item_size: int = 460, crop_size: int = 224, min_scale: float = 0.75, seed: int = 42) -> DataBlock:
    """The chapter's DataBlock with presizing: `Resize(item_size)` per item, then per batch
    `aug_transforms(size=crop_size, min_scale=min_scale)`; a seeded 20% validation split;
    labels from `breed_from_filename`."""
    ### BEGIN SOLUTION
    if item_size < crop_size:
        raise ValueError(f"item_size ({item_size}) must be at least crop_size ({crop_size}): presizing resizes "
                         f"each image to a size larger than the final crop, so augmentation has room to work")
    if not 0 < min_scale <= 1:
        raise ValueError(f"min_scale must be in (0, 1], the smallest share of the image a crop keeps; got {min_scale}")
    return DataBlock(blocks=(ImageBlock, CategoryBlock),
                     get_items=get_image_files,
                     splitter=RandomSplitter(valid_pct=0.2, seed=seed),
                     get_y=breed_from_filename,
                     item_tfms=Resize(item_size),
                     batch_tfms=aug_transforms(size=crop_size, min_scale=min_scale))
    ### END SOLUTION


def pets_dataloaders(path, bs: int = 64, item_size: int = 460, crop_size: int = 224, min_scale: float = 0.75,
                     seed: int = 42, num_workers: int = 0):
    """DataLoaders from `pets_datablock` over `path`: a folder of pet images, or one with an
    `images/` subfolder as the real data set has. A missing or empty folder is a clear error."""
    ### BEGIN SOLUTION
    path = Path(path)
    folder = path / "images" if (path / "images").is_dir() else path
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: make the synthetic pets with `petkit data --out {path}`")
    if not get_image_files(folder):
        raise ValueError(f"{folder} holds no images: make the synthetic pets with `petkit data --out {path}`")
    block = pets_datablock(item_size=item_size, crop_size=crop_size, min_scale=min_scale, seed=seed)
    return block.dataloaders(folder, bs=bs, num_workers=num_workers)
    ### END SOLUTION
