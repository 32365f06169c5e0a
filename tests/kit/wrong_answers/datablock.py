"""Wrong answers to lesson `datablock` that learners really write, and the checks that catch them."""
import re
from pathlib import Path

from fastai.vision.all import (CategoryBlock, DataBlock, ImageBlock, RandomSplitter, RegexLabeller, Resize,
                               aug_transforms, get_image_files, parent_label)

from petkit.corpus import wrong
from solutions.datablock import breed_from_filename, is_cat, pets_datablock

PATTERN = r"(.+)_\d+.jpg$"


@wrong("datablock.breed_from_filename", "splits on the first underscore: great_pyrenees becomes great",
       rejected_by=["breed_roundtrip", "breed_oracle", "breed_book"],
       probes=[("great_pyrenees_12.jpg",), ("Abyssinian_3.jpg",)],
       hint="The breed is everything before the LAST underscore and the number: a regex such as r'(.+)_\\d+.jpg$' on the file name.")
def breed_first_underscore(name):
    return Path(name).name.split("_")[0]


@wrong("datablock.breed_from_filename", "runs the regex on the whole path, so the folders end up in the breed",
       rejected_by=["breed_roundtrip", "breed_oracle", "breed_book"],
       probes=[("pets/images/great_pyrenees_12.jpg",), ("Abyssinian_3.jpg",)],
       hint='Run the regex on the file name only (Path(name).name), not on the whole path.')
def breed_whole_path(name):
    match = re.search(PATTERN, str(name))
    if match is None:
        raise ValueError(f"{name!r} is not a Pets file name")
    return match.group(1)


@wrong("datablock.breed_from_filename", "no check that the name matches: None.group(1) raises AttributeError",
       rejected_by=["breed_bad_input"],
       probes=[("pets/images/great_pyrenees_12.jpg",), ("notes.txt",)],
       hint='re.search returns None when the name does not match: check it and raise a ValueError that names the file.')
def breed_unchecked(name):
    return re.search(PATTERN, Path(name).name).group(1)


@wrong("datablock.breed_from_filename", "calls fastai's RegexLabeller instead of the regex",
       rejected_by=["breed_oracle", "breed_book"])
def breed_fastai(name):
    return RegexLabeller(PATTERN)(Path(name).name)


@wrong("datablock.is_cat", "looks at the first character of the whole path, not of the file name",
       rejected_by=["cat_by_case", "cat_book"],
       probes=[("images/Abyssinian_1.jpg",), ("Pets/beagle_2.jpg",)],
       hint='Look at the first letter of the file name (Path(name).name[0]), not of the whole path.')
def cat_whole_path(name):
    text = str(name)
    if not text:
        raise ValueError("empty name")
    return text[0].isupper()


@wrong("datablock.is_cat", "a hand-made list of cat breeds that forgets two of them",
       rejected_by=["cat_by_case", "cat_oracle"],
       probes=[("Sphynx_1.jpg",), ("Egyptian_Mau_2.jpg",), ("beagle_3.jpg",)],
       hint='In Pets, cat breeds are the names that start with a capital letter: Path(name).name[0].isupper() needs no list.')
def cat_partial_list(name):
    cats = {"Abyssinian", "Bengal", "Birman", "Bombay", "British_Shorthair", "Maine_Coon", "Persian", "Ragdoll",
            "Russian_Blue", "Siamese"}
    if not str(name):
        raise ValueError("empty name")
    return breed_from_filename(name) in cats


@wrong("datablock.is_cat", "no input checks: an empty name gets an IndexError",
       rejected_by=["cat_bad_input"],
       probes=[("images/Abyssinian_1.jpg",), ("",)],
       hint='Check the name first: an empty name should be a ValueError that says so.')
def cat_unchecked(name):
    return Path(name).name[0].isupper()


@wrong("datablock.pets_datablock", "a RandomSplitter without the seed: every run validates on other images",
       rejected_by=["datablock_structure"])
def datablock_unseeded(item_size=460, crop_size=224, min_scale=0.75, seed=42):
    if item_size < crop_size or not 0 < min_scale <= 1:
        raise ValueError("item_size must be at least crop_size, and min_scale in (0, 1]")
    return DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files,
                     splitter=RandomSplitter(valid_pct=0.2), get_y=breed_from_filename,
                     item_tfms=Resize(item_size), batch_tfms=aug_transforms(size=crop_size, min_scale=min_scale))


@wrong("datablock.pets_datablock", "no presizing: resizes straight to the crop size and never crops randomly",
       rejected_by=["datablock_structure", "datablock_oracle", "datablock_book"])
def datablock_no_presizing(item_size=460, crop_size=224, min_scale=0.75, seed=42):
    if item_size < crop_size or not 0 < min_scale <= 1:
        raise ValueError("item_size must be at least crop_size, and min_scale in (0, 1]")
    return DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files,
                     splitter=RandomSplitter(valid_pct=0.2, seed=seed), get_y=breed_from_filename,
                     item_tfms=Resize(crop_size), batch_tfms=aug_transforms(size=crop_size))


@wrong("datablock.pets_datablock", "labels by the parent folder (the ImageNet layout), not the file name",
       rejected_by=["datablock_book"])
def datablock_parent_label(item_size=460, crop_size=224, min_scale=0.75, seed=42):
    if item_size < crop_size or not 0 < min_scale <= 1:
        raise ValueError("item_size must be at least crop_size, and min_scale in (0, 1]")
    return DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files,
                     splitter=RandomSplitter(valid_pct=0.2, seed=seed), get_y=parent_label,
                     item_tfms=Resize(item_size), batch_tfms=aug_transforms(size=crop_size, min_scale=min_scale))


@wrong("datablock.pets_datablock", "no check of the sizes: item_size below crop_size is accepted",
       rejected_by=["datablock_bad_input"])
def datablock_unchecked(item_size=460, crop_size=224, min_scale=0.75, seed=42):
    return DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files,
                     splitter=RandomSplitter(valid_pct=0.2, seed=seed), get_y=breed_from_filename,
                     item_tfms=Resize(item_size), batch_tfms=aug_transforms(size=crop_size, min_scale=min_scale))


def _folder(path):
    path = Path(path)
    folder = path / "images" if (path / "images").is_dir() else path
    if not folder.is_dir() or not get_image_files(folder):
        raise ValueError(f"no images in {folder}")
    return folder


@wrong("datablock.pets_dataloaders", "forgets to pass bs on: every batch has 64 images",
       rejected_by=["dataloaders_behaviour"])
def dataloaders_ignores_bs(path, bs=64, item_size=460, crop_size=224, min_scale=0.75, seed=42, num_workers=0):
    folder = _folder(path)
    return pets_datablock(item_size, crop_size, min_scale, seed).dataloaders(folder, num_workers=num_workers)


@wrong("datablock.pets_dataloaders", "forgets to pass the seed on: always splits with seed 42",
       rejected_by=["dataloaders_oracle"])
def dataloaders_ignores_seed(path, bs=64, item_size=460, crop_size=224, min_scale=0.75, seed=42, num_workers=0):
    folder = _folder(path)
    return pets_datablock(item_size, crop_size, min_scale).dataloaders(folder, bs=bs, num_workers=num_workers)


@wrong("datablock.pets_dataloaders", "labels cat or dog (chapter 1's is_cat) instead of the breed",
       rejected_by=["dataloaders_behaviour", "dataloaders_book"])
def dataloaders_cat_or_dog(path, bs=64, item_size=460, crop_size=224, min_scale=0.75, seed=42, num_workers=0):
    if item_size < crop_size:
        raise ValueError("item_size must be at least crop_size")
    folder = _folder(path)
    block = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files,
                      splitter=RandomSplitter(valid_pct=0.2, seed=seed), get_y=is_cat,
                      item_tfms=Resize(item_size), batch_tfms=aug_transforms(size=crop_size, min_scale=min_scale))
    return block.dataloaders(folder, bs=bs, num_workers=num_workers)


@wrong("datablock.pets_dataloaders", "no check of the folder: fastai fails later with an obscure error",
       rejected_by=["dataloaders_bad_input"])
def dataloaders_unchecked(path, bs=64, item_size=460, crop_size=224, min_scale=0.75, seed=42, num_workers=0):
    return pets_datablock(item_size, crop_size, min_scale, seed).dataloaders(Path(path), bs=bs, num_workers=num_workers)
