"""Checks for lesson `datablock`: labels from file names, the DataBlock with presizing, DataLoaders.

fastai is imported inside the checks: the two string exercises never need it."""
import contextlib
import io
import re
import string
from pathlib import Path, PurePosixPath

from hypothesis import strategies as st

from petkit.checks.core import check, forbid
from petkit.checks.expect import BAD_INPUT_ERRORS, expect_raises, require
from petkit.checks.strategies import prop

PATTERN = r"(.+)_\d+.jpg$"  # the book's
forbid(["datablock.breed_from_filename"], ["fastai.data.transforms:RegexLabeller.__call__"],
       why="Write it with Python's `re` (or string methods); fastai's RegexLabeller is what the checks compare with.")

# Breed-like names: letters, digits and underscores inside, starting with a letter; the first
# letter's case says cat or dog.
breed_names = st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,6}", fullmatch=True),
                        st.lists(st.from_regex(r"[A-Za-z0-9]{1,6}", fullmatch=True), max_size=3)
                        ).map(lambda words: "_".join([words[0], *words[1]]))
numbers = st.integers(1, 99999)
folders = st.lists(st.text(string.ascii_letters + string.digits + "_-. ", min_size=1, max_size=8)
                   .filter(lambda s: s.strip(". ") == s and s not in (".", "..")), max_size=3)


def _file_name(breed, n):
    return f"{breed}_{n}.jpg"


def _tiny_folder():
    from petkit.learners import tiny_pets
    return tiny_pets(breeds=3, per_class=5, size=48)


# --- breed_from_filename -----------------------------------------------------------------------

@check("datablock.breed_from_filename", "property",
       "gives back the breed for any <breed>_<number>.jpg, with folders, as a str or a Path")
def breed_roundtrip(breed_from_filename):
    @prop(breed_names, numbers, folders, st.booleans())
    def p(breed, n, dirs, as_path):
        name = str(PurePosixPath(*dirs, _file_name(breed, n))) if dirs else _file_name(breed, n)
        arg = Path(name) if as_path else name
        got = breed_from_filename(arg)
        require(got == breed, f"breed_from_filename({arg!r}) is {got!r}, but the breed is {breed!r}")
    p()


@check("datablock.breed_from_filename", "oracle", "agrees with fastai's RegexLabeller on the file name")
def breed_oracle(breed_from_filename):
    from fastai.data.transforms import RegexLabeller
    labeller = RegexLabeller(PATTERN)

    @prop(breed_names, numbers, folders)
    def p(breed, n, dirs):
        path = Path(*dirs, _file_name(breed, n))
        want = labeller(path.name)
        got = breed_from_filename(path)
        require(got == want, f"breed_from_filename({str(path)!r}) is {got!r}, but fastai's RegexLabeller "
                             f"gives {want!r}")
    p()


@check("datablock.breed_from_filename", "book", "the book's names, and every one of the 37 breeds")
def breed_book(breed_from_filename):
    from petkit.data import BREEDS
    for name, want in [("great_pyrenees_173.jpg", "great_pyrenees"), ("Abyssinian_12.jpg", "Abyssinian"),
                       ("images/american_pit_bull_terrier_1.jpg", "american_pit_bull_terrier")]:
        got = breed_from_filename(name)
        require(got == want, f"breed_from_filename({name!r}) is {got!r}, but it should be {want!r}")
    for i, breed in enumerate(BREEDS):
        got = breed_from_filename(Path("oxford-iiit-pet/images") / f"{breed}_{i + 1}.jpg")
        require(got == breed, f"breed_from_filename(Path('oxford-iiit-pet/images/{breed}_{i + 1}.jpg')) "
                              f"is {got!r}, but it should be {breed!r}")


@check("datablock.breed_from_filename", "bad input", "a name that does not match is a ValueError naming the file")
def breed_bad_input(breed_from_filename):
    for bad in ("great_pyrenees.jpg", "great_pyrenees_173.png", "cat.jpg", "_173.jpg"):
        expect_raises(breed_from_filename, (bad,), when=f"the name is {bad!r}", offending="name", value=bad)
    expect_raises(breed_from_filename, (173,), when="the name is the number 173", offending="name", value=173)


# --- is_cat ------------------------------------------------------------------------------------

@check("datablock.is_cat", "property", "capitalised breeds are cats, lower-case ones dogs, whatever the folders")
def cat_by_case(is_cat):
    @prop(breed_names, numbers, folders, st.booleans())
    def p(breed, n, dirs, as_path):
        name = str(PurePosixPath("/", *dirs, _file_name(breed, n)))
        arg = Path(name) if as_path else name
        got = is_cat(arg)
        require(got is True or got is False, f"is_cat({arg!r}) should be True or False, not {got!r}")
        require(got == breed[0].isupper(), f"is_cat({arg!r}) is {got}, but {breed!r} "
                                           f"{'is' if breed[0].isupper() else 'is not'} capitalised")
    p()


@check("datablock.is_cat", "oracle", "agrees with the data set's species for all 37 breeds")
def cat_oracle(is_cat):
    from petkit.data import BREEDS, CAT_BREEDS  # the data set's 12 cat breeds, listed by name
    for breed in BREEDS:
        got = is_cat(f"{breed}_1.jpg")
        require(got == (breed in CAT_BREEDS), f"is_cat('{breed}_1.jpg') is {got}, but the annotations say "
                                              f"{breed} is a {'cat' if breed in CAT_BREEDS else 'dog'}")


@check("datablock.is_cat", "book", "Abyssinian is a cat, beagle a dog, even in a capitalised folder")
def cat_book(is_cat):
    for name, want in [("Abyssinian_1.jpg", True), ("beagle_3.jpg", False), ("Pets/Images/beagle_3.jpg", False),
                       (Path("/data/pets/Siamese_20.jpg"), True)]:
        got = is_cat(name)
        require(got == want, f"is_cat({name!r}) is {got}, but it should be {want}")


@check("datablock.is_cat", "bad input", "an empty name is a ValueError, a non-string a TypeError")
def cat_bad_input(is_cat):
    expect_raises(is_cat, ("",), when="the name is empty", offending="name")
    expect_raises(is_cat, (None,), when="the name is None", offending="name", value=None)


# --- pets_datablock -------------------------------------------------------------------------

sizes = st.tuples(st.integers(16, 512), st.integers(16, 512)).map(sorted).map(lambda s: (s[1], s[0]))
min_scales = st.floats(0.05, 0.95)
seeds = st.integers(0, 2**31 - 1)


def _describe(tfms):
    """(type name, its key settings) for each transform, ignoring fastai's own conversions."""
    keep = ("size", "min_scale", "ratio", "method", "max_lighting", "p")
    skip = {"ToTensor", "IntToFloatTensor"}
    return [(type(t).__name__, {k: getattr(t, k) for k in keep if hasattr(t, k)})
            for t in tfms or [] if type(t).__name__ not in skip]


@check("datablock.pets_datablock", "property", "a seeded 20% split, Resize(item_size) per item, the crop per batch")
def datablock_structure(pets_datablock):
    from fastai.vision.all import DataBlock, RandomSplitter

    @prop(sizes, min_scales, seeds, cost=2)
    def p(item_crop, min_scale, seed):
        item_size, crop_size = item_crop
        block = pets_datablock(item_size=item_size, crop_size=crop_size, min_scale=min_scale, seed=seed)
        require(isinstance(block, DataBlock), f"pets_datablock should return a DataBlock, not {type(block).__name__}")
        items = list(range(50))
        got = block.splitter(items) if block.splitter else None
        want = RandomSplitter(valid_pct=0.2, seed=seed)(items)
        require(got is not None and [list(map(int, g)) for g in got] == [list(map(int, w)) for w in want],
                f"the splitter should be RandomSplitter(valid_pct=0.2, seed={seed}): on 50 items it keeps "
                f"{len(got[1]) if got else 'no'} for validation, and not the same ones")
        resize = [t for t in block.item_tfms if type(t).__name__ == "Resize"]
        require(resize and resize[0].size == (item_size, item_size),
                f"item_tfms should hold Resize({item_size}) (the large presize), got {_describe(block.item_tfms)}")
        crops = [t for t in block.batch_tfms if type(t).__name__ == "RandomResizedCropGPU"]
        require(crops and crops[0].size == (crop_size, crop_size) and abs(crops[0].min_scale - min_scale) < 1e-12,
                f"batch_tfms should crop to {crop_size} with min_scale={min_scale:g} "
                f"(aug_transforms(size={crop_size}, min_scale={min_scale:g})), got {_describe(block.batch_tfms)}")
    p()


@check("datablock.pets_datablock", "oracle", "the same transforms as the book's DataBlock built with fastai")
def datablock_oracle(pets_datablock):
    from fastai.vision.all import Resize, aug_transforms

    @prop(sizes, min_scales, cost=2)
    def p(item_crop, min_scale):
        item_size, crop_size = item_crop
        block = pets_datablock(item_size=item_size, crop_size=crop_size, min_scale=min_scale)
        want_item = _describe([Resize(item_size)])
        want_batch = _describe(aug_transforms(size=crop_size, min_scale=min_scale))
        require(_describe(block.item_tfms) == want_item,
                f"item_tfms are {_describe(block.item_tfms)}, but should be {want_item}")
        require(_describe(block.batch_tfms) == want_batch,
                f"batch_tfms are {_describe(block.batch_tfms)}, but aug_transforms(size={crop_size}, "
                f"min_scale={min_scale:g}) gives {want_batch}")
    p()


@check("datablock.pets_datablock", "book", "the book's sizes (460, then 224 at min_scale 0.75), labels and summary")
def datablock_book(pets_datablock):
    block = pets_datablock()
    require([type(t).__name__ for t in block.item_tfms if type(t).__name__ == "Resize"] == ["Resize"]
            and [t for t in block.item_tfms if type(t).__name__ == "Resize"][0].size == (460, 460),
            f"by default item_tfms should be Resize(460), got {_describe(block.item_tfms)}")
    crops = [t for t in block.batch_tfms if type(t).__name__ == "RandomResizedCropGPU"]
    require(crops and crops[0].size == (224, 224) and crops[0].min_scale == 0.75,
            f"by default the batch crop should be 224 px at min_scale=0.75, got {_describe(block.batch_tfms)}")
    folder = _tiny_folder() / "images"
    small = pets_datablock(item_size=40, crop_size=32)
    label = small.get_y(folder / "great_pyrenees_173.jpg") if small.get_y else None
    require(label == "great_pyrenees", f"the DataBlock's get_y should label great_pyrenees_173.jpg as "
                                       f"'great_pyrenees', got {label!r}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        small.summary(folder, bs=4)
    text = out.getvalue()
    require("Building one batch" in text and "Resize" in text,
            "DataBlock.summary should run through a batch and show the Resize step")


@check("datablock.pets_datablock", "bad input", "item_size < crop_size, or min_scale outside (0, 1], is a ValueError")
def datablock_bad_input(pets_datablock):
    expect_raises(pets_datablock, (), {"item_size": 128, "crop_size": 224},
                  when="item_size=128 is smaller than crop_size=224",
                  offending=("item_size", "crop_size"), value=128)
    expect_raises(pets_datablock, (), {"min_scale": 1.5}, when="min_scale=1.5", offending="min_scale", value=1.5)
    expect_raises(pets_datablock, (), {"min_scale": 0}, when="min_scale=0", offending="min_scale", value=0)


# --- pets_dataloaders -----------------------------------------------------------------------

def _dls(pets_dataloaders, path, **kw):
    import torch
    args = dict(bs=4, item_size=40, crop_size=32)
    args.update(kw)
    dls = pets_dataloaders(path, **args)
    torch.manual_seed(0)
    return dls


@check("datablock.pets_dataloaders", "property",
       "batches of (bs, 3, crop, crop), vocab = the breeds present, the same split twice, folder or images/")
def dataloaders_behaviour(pets_dataloaders):
    from fastai.vision.all import get_image_files
    root = _tiny_folder()
    files = get_image_files(root / "images")
    breeds = sorted({re.search(PATTERN, f.name).group(1) for f in files})

    @prop(st.sampled_from([2, 3, 4]), st.sampled_from([24, 32]), st.booleans(), seeds, cost=6)
    def p(bs, crop, use_images_folder, seed):
        path = root / "images" if use_images_folder else root
        dls = _dls(pets_dataloaders, path, bs=bs, item_size=crop + 8, crop_size=crop, seed=seed)
        require(dls.train.bs == bs and len(dls.train) > 0,
                f"the training DataLoader should have batches of bs={bs}, but its bs is {dls.train.bs}")
        x, y = dls.train.one_batch()
        require(tuple(x.shape) == (bs, 3, crop, crop),
                f"a training batch should have shape ({bs}, 3, {crop}, {crop}), got {tuple(x.shape)}")
        require(list(dls.vocab) == breeds, f"the vocab should be the breeds present {breeds}, got {list(dls.vocab)}")
        n_valid = len(dls.valid_ds)
        require(len(dls.train_ds) + n_valid == len(files) and n_valid == int(0.2 * len(files)),
                f"train {len(dls.train_ds)} + valid {n_valid} should split the {len(files)} images 80/20")
        again = _dls(pets_dataloaders, path, bs=bs, item_size=crop + 8, crop_size=crop, seed=seed)
        require(list(map(str, dls.valid_ds.items)) == list(map(str, again.valid_ds.items)),
                "two DataLoaders made with the same seed validate on different images")
    p()


@check("datablock.pets_dataloaders", "oracle", "validates on exactly the images fastai's RandomSplitter picks")
def dataloaders_oracle(pets_dataloaders):
    from fastai.vision.all import RandomSplitter, get_image_files
    root = _tiny_folder()
    for seed in (0, 42, 7):
        dls = _dls(pets_dataloaders, root, seed=seed)
        files = get_image_files(root / "images")
        _, valid = RandomSplitter(valid_pct=0.2, seed=seed)(files)
        want = sorted(str(files[i]) for i in valid)
        got = sorted(map(str, dls.valid_ds.items))
        require(got == want, f"with seed={seed} the validation images should be RandomSplitter(0.2, seed={seed})'s "
                             f"{[Path(w).name for w in want]}, got {[Path(g).name for g in got]}")


@check("datablock.pets_dataloaders", "book", "all 37 breeds: 37 classes, labels that match the file names")
def dataloaders_book(pets_dataloaders):
    from petkit.data import BREEDS, make_pets
    from petkit.learners import temp_dir
    root = make_pets(temp_dir("petkit-pets37-") / "pets", per_class=5, size=24, seed=1)
    dls = _dls(pets_dataloaders, root, bs=8, item_size=32, crop_size=24)
    require(dls.c == 37 and list(dls.vocab) == sorted(BREEDS),
            f"on the 37 breeds the vocab should hold all 37 in sorted order, got {dls.c} classes")
    for i in range(5):
        item, (_, y) = dls.valid_ds.items[i], dls.valid_ds[i]
        breed = re.search(PATTERN, Path(item).name).group(1)
        require(dls.vocab[int(y)] == breed, f"{Path(item).name} is labelled {dls.vocab[int(y)]!r}, not {breed!r}")


@check("datablock.pets_dataloaders", "bad input", "a missing or empty folder, or item_size < crop_size, is a clear error")
def dataloaders_bad_input(pets_dataloaders):
    from petkit.learners import temp_dir
    empty = temp_dir("petkit-empty-")
    expect_raises(pets_dataloaders, (empty / "nowhere",), errors=BAD_INPUT_ERRORS + (FileNotFoundError,),
                  when="the folder does not exist", offending="path", value="nowhere")
    expect_raises(pets_dataloaders, (empty,), errors=BAD_INPUT_ERRORS + (FileNotFoundError,),
                  when="the folder holds no images", offending="path", value=empty.name)
    expect_raises(pets_dataloaders, (_tiny_folder(),), {"item_size": 16, "crop_size": 32},
                  when="item_size=16 is smaller than crop_size=32", offending=("item_size", "crop_size"), value=16)
