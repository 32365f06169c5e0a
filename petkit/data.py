"""Oxford-IIIT Pets, offline: a synthetic copy laid out like the real set, or the real one via fastai.

    make_pets("data/pets")      # images/<Breed>_<n>.jpg + annotations/, deterministic for a seed
    real_pets()                 # fastai's untar_data(URLs.PETS), or DataUnavailable at once offline

The synthetic pets are drawn shapes, not photos, but each breed has its own look (body shape, ears,
coat colours, coat pattern, build) and every image varies what a photo varies (framing, scale,
rotation, pose, background, light, noise, JPEG), so resizing, augmentation and a confusion matrix
teach what they teach on the real set. A few breeds copy another breed's look but for one detail
(`LOOKALIKES`), so they are the pairs a classifier mixes up, as in the real data.
"""
from __future__ import annotations

import colorsys
import math
import os
import shutil
import sys
import threading
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

CAT_BREEDS = ("Abyssinian", "Bengal", "Birman", "Bombay", "British_Shorthair", "Egyptian_Mau",
              "Maine_Coon", "Persian", "Ragdoll", "Russian_Blue", "Siamese", "Sphynx")
DOG_BREEDS = ("american_bulldog", "american_pit_bull_terrier", "basset_hound", "beagle", "boxer",
              "chihuahua", "english_cocker_spaniel", "english_setter", "german_shorthaired",
              "great_pyrenees", "havanese", "japanese_chin", "keeshond", "leonberger",
              "miniature_pinscher", "newfoundland", "pomeranian", "pug", "saint_bernard", "samoyed",
              "scottish_terrier", "shiba_inu", "staffordshire_bull_terrier", "wheaten_terrier",
              "yorkshire_terrier")
BREEDS: tuple[str, ...] = tuple(sorted(CAT_BREEDS + DOG_BREEDS, key=str.lower))
"""The 37 breeds in class-id order (annotations/list.txt: Abyssinian=1, american_bulldog=2, ...)."""

CAT, DOG = 1, 2  # the SPECIES column of the annotations

# breed -> (the breed whose look it copies, the one feature it changes): the confusable pairs.
LOOKALIKES = {
    "staffordshire_bull_terrier": ("american_pit_bull_terrier", "aspect"),
    "american_bulldog": ("american_pit_bull_terrier", "colour"),
    "Ragdoll": ("Birman", "texture_scale"),
    "Siamese": ("Birman", "colour2"),
    "Russian_Blue": ("British_Shorthair", "aspect"),
    "Bengal": ("Egyptian_Mau", "colour"),
    "english_setter": ("english_cocker_spaniel", "texture_scale"),
    "beagle": ("basset_hound", "ear_size"),
    "great_pyrenees": ("samoyed", "ears"),
    "wheaten_terrier": ("scottish_terrier", "colour"),
}



def lookalike_pairs() -> list[tuple[str, str]]:
    """The confusable pairs the data is designed with, each once (sorted names): a breed and the breed
    whose look it copies, and two breeds that copy the same one (e.g. Ragdoll and Siamese)."""
    pairs = {tuple(sorted((copy, model))) for copy, (model, _) in LOOKALIKES.items()}
    for a, (model_a, _) in LOOKALIKES.items():
        for b, (model_b, _) in LOOKALIKES.items():
            if a < b and model_a == model_b:
                pairs.add((a, b))
    return sorted(pairs)


# A few real traits, so that the lookalikes' one difference shows and the famous ones look right.
TRAITS = {
    "Birman": dict(texture="gradient"),  # colour-point, like its lookalikes Ragdoll and Siamese
    "Egyptian_Mau": dict(texture="spots"),
    "British_Shorthair": dict(body="ellipse", texture="plain", colour=(118, 126, 140)),
    "Bombay": dict(texture="plain", colour=(28, 24, 26)),
    "Maine_Coon": dict(body="star"),
    "Persian": dict(body="star"),
    "basset_hound": dict(ears="floppy", texture="patches"),
    "english_cocker_spaniel": dict(ears="floppy", texture="spots"),
    "samoyed": dict(body="star", ears="pointed", texture="plain", colour=(238, 234, 226)),
    "keeshond": dict(body="star", ears="pointed"),
    "pomeranian": dict(body="star", ears="pointed"),
    "shiba_inu": dict(ears="pointed"),
}

BODIES = ("ellipse", "blob", "polygon", "star")
EARS = ("pointed", "floppy", "none")
TEXTURES = ("plain", "stripes", "spots", "patches", "gradient")

MIN_SIDE = 16
JPEG_QUALITY = (70, 95)  # drawn per image from its seed: compression is nuisance too

PETS_URL = "https://s3.amazonaws.com/fast-ai-imageclas/oxford-iiit-pet.tgz"  # == fastai's URLs.PETS
PETS_FOLDER = "oxford-iiit-pet"  # what untar_data extracts it to, under fastai's data folder
NO_NETWORK = "no network"


class DataUnavailable(RuntimeError):
    """The real data set is neither on disk nor downloadable; the message is one line for the user."""


def unavailable_message(reason: str = NO_NETWORK) -> str:
    return (f"The Oxford-IIIT Pets data set could not be downloaded ({reason}); "
            "use the synthetic pets: petkit data --out DIR")


# ---------------------------------------------------------------------------------------- looks

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class BreedLook:
    """What every image of one breed shares."""
    breed: str
    species: int          # CAT or DOG
    body: str             # one of BODIES
    corners: int          # 5-8: a polygon's corners, half a star's tips, a blob's lobes + 2
    aspect: float         # body width / body height
    ears: str             # one of EARS
    ear_size: float       # ear length / body height
    colour: RGB           # the coat
    colour2: RGB          # the pattern, ears and points
    texture: str          # one of TEXTURES
    texture_scale: float  # stripe period, spot size, patch size or point extent (body = 1)
    texture_angle: float  # stripes' direction, radians
    eye_colour: RGB


def is_cat(breed: str) -> bool:
    """The data set's own convention: cat breeds are capitalised, dog breeds are not."""
    return breed[:1].isupper()


def _key(text: str) -> int:
    return zlib.crc32(text.encode())  # stable across processes, unlike hash()


def _rgb(h: float, s: float, v: float) -> RGB:
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def _hsv(c: RGB) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(*(x / 255 for x in c))


def _shift(c: RGB, dh: float = 0.0, ds: float = 0.0, dv: float = 0.0) -> RGB:
    h, s, v = _hsv(c)
    return _rgb(h + dh, min(max(s + ds, 0.0), 1.0), min(max(v + dv, 0.05), 1.0))


def breed_look(breed: str, seed: int = 0) -> BreedLook:
    """The look of `breed` for data-set `seed`: drawn from the breed's own rng; a lookalike is
    its model's look with one feature changed."""
    if breed not in BREEDS:
        raise ValueError(f"breeds: unknown breed {breed!r}; allowed: the 37 names in petkit.data.BREEDS")
    if breed in LOOKALIKES:
        model, feature = LOOKALIKES[breed]
        return _change_one(breed_look(model, seed), breed, feature, np.random.default_rng([seed, _key(breed), 1]))
    rng = np.random.default_rng([seed, _key(breed), 0])
    cat = is_cat(breed)
    originals = [b for b in BREEDS if b not in LOOKALIKES]
    # spread the coats round the colour wheel so that breeds without a lookalike stay apart
    hue = originals.index(breed) * 0.618034 + rng.uniform(-0.04, 0.04)
    colour = _rgb(hue, rng.uniform(0.3, 0.8), rng.uniform(0.35, 0.95))
    colour2 = _rgb(hue + rng.uniform(0.25, 0.75), rng.uniform(0.2, 0.7), rng.uniform(0.1, 0.9))
    if cat:
        ears, ear_size = "pointed", rng.uniform(0.3, 0.5)
        eye = _rgb(rng.choice([0.15, 0.3, 0.55]), 0.8, 0.85)  # amber, green or blue
    else:
        ears = str(rng.choice(EARS, p=[0.3, 0.55, 0.15]))
        ear_size = rng.uniform(0.35, 0.6) if ears == "floppy" else rng.uniform(0.25, 0.45)
        eye = _rgb(0.08, 0.7, 0.25)  # dark brown
    body = str(rng.choice(BODIES))
    look = BreedLook(
        breed=breed, species=CAT if cat else DOG, body=body,
        corners=int(rng.integers(5, 9)),
        aspect=float(rng.uniform(0.8, 1.3) if cat else rng.uniform(0.75, 1.35)),
        ears=ears, ear_size=float(ear_size), colour=colour, colour2=colour2,
        texture=str(rng.choice(TEXTURES)), texture_scale=float(rng.uniform(0.25, 0.6)),
        texture_angle=float(rng.uniform(0, math.pi)), eye_colour=eye)
    return replace(look, **TRAITS.get(breed, {}))


# How far a look-alike's one feature moves from its model's: clear enough for a pretrained body to
# learn from two dozen images at 96 px (the aspect beyond the 4:3 squash of a random crop, the hue
# beyond a photo's white balance), close enough that these pairs keep most of a model's mistakes.
# (The first values, 1.22 aspect and 0.05 hue, left a fine-tuned Lite0 at 0.27 error on seed 1, three
# quarters of it on these pairs; these give 0.17-0.19 on seeds 0-2, still 60-65% on them.)
CHANGE = {"aspect": 1.45, "colour": (0.09, 0.15), "colour2": (0.10, 0.25), "texture_scale": (2.0, 0.5),
          "ear_size": (1.7, 0.55)}


def _change_one(look: BreedLook, breed: str, feature: str, rng: np.random.Generator) -> BreedLook:
    sign = rng.choice([-1.0, 1.0])
    if feature == "aspect":
        new = look.aspect * (CHANGE["aspect"] if look.aspect < 1.05 else 1 / CHANGE["aspect"])
    elif feature in ("colour", "colour2"):  # hue one way, brightness the other
        dh, dv = CHANGE[feature]
        return replace(look, breed=breed, **{feature: _shift(getattr(look, feature), dh=dh * sign, dv=-dv * sign)})
    elif feature == "texture_scale":
        up, down = CHANGE["texture_scale"]
        new = look.texture_scale * (up if look.texture_scale < 0.4 else down)
    elif feature == "ears":
        new = "floppy" if look.ears == "pointed" else "pointed"
        return replace(look, breed=breed, ears=new)
    elif feature == "ear_size":
        up, down = CHANGE["ear_size"]
        new = look.ear_size * (up if look.ear_size < 0.45 else down)
    else:
        raise ValueError(f"LOOKALIKES: unknown feature {feature!r}")
    return replace(look, breed=breed, **{feature: float(new)})


# -------------------------------------------------------------------------------------- drawing

def draw_pet(look: BreedLook, rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """One w x h RGB 'photo' of a pet of `look`: background, the animal in it (its box covers 25-70%
    of the image, inside the central square, so that a centre crop keeps it), turned and flipped,
    then light, blur and sensor noise."""
    img = _background(rng, w, h)
    extent = min(math.sqrt(rng.uniform(0.25, 0.7) * w * h), 0.95 * min(w, h))  # the animal's box
    animal = _animal(look, rng, max(int(extent / ANIMAL_EXTENT), 8))
    animal = animal.crop(animal.getbbox() or (0, 0) + animal.size)
    if rng.random() < 0.5:
        animal = ImageOps.mirror(animal)
    animal = animal.rotate(float(rng.uniform(-25, 25)), resample=Image.BILINEAR, expand=True)
    aw, ah = animal.size
    square = min(w, h)  # framed as a photographer frames a pet: inside the central square, which
    x, y = _place(rng, w, aw, square), _place(rng, h, ah, square)  # a centre crop keeps
    img.paste(animal, (x, y), animal)
    return _camera(img, rng)


def _place(rng: np.random.Generator, side: int, extent: int, square: int) -> int:
    """Where an `extent`-long animal starts along a `side`-long axis: anywhere that keeps it inside
    the central `square` (centred when it is larger than that)."""
    lo, hi = (side - square) // 2, (side + square) // 2 - extent
    if hi < lo:
        lo = hi = (side - extent) // 2
    return int(rng.integers(lo, hi + 1))


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A plain wall, a gradient, a room (wall and floor) or clutter on a gradient, in muted colours."""
    kind = rng.choice(["plain", "gradient", "room", "clutter"], p=[0.15, 0.25, 0.25, 0.35])
    a, b = (np.array(_rgb(rng.random(), rng.uniform(0, 0.6), rng.uniform(0.15, 0.95)), np.float32)
            for _ in range(2))
    if kind == "plain":
        b = a
    ys, xs = np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]
    if kind == "room":
        t = np.broadcast_to((ys > rng.uniform(0.3, 0.8) * h).astype(np.float32), (h, w))
    else:
        angle = float(rng.uniform(0, 2 * math.pi))
        t = xs * (math.cos(angle) / w) + ys * (math.sin(angle) / h)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    arr = a + (b - a) * t[..., None]
    img = Image.fromarray(arr.astype(np.uint8), "RGB")
    if kind == "clutter":
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(4, 16))):
            _random_shape(draw, rng, w, h)
    return img


def _random_shape(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int) -> None:
    x0, y0 = rng.uniform(-0.1, 1.0) * w, rng.uniform(-0.1, 1.0) * h
    x1, y1 = x0 + rng.uniform(0.05, 0.5) * w, y0 + rng.uniform(0.05, 0.5) * h
    fill = tuple(int(c) for c in rng.integers(0, 256, 3))
    kind = rng.integers(3)
    if kind == 0:
        draw.rectangle([x0, y0, x1, y1], fill=fill)
    elif kind == 1:
        draw.ellipse([x0, y0, x1, y1], fill=fill)
    else:
        draw.line([x0, y0, x1, y1], fill=fill, width=max(1, int(rng.uniform(0.005, 0.04) * min(w, h))))


ANIMAL_EXTENT = 0.7  # about how much of its canvas's side the animal (body and ears) spans


def _animal(look: BreedLook, rng: np.random.Generator, side: int) -> Image.Image:
    """The animal on a transparent side x side canvas, facing a little to the right."""
    aspect = look.aspect * float(rng.uniform(0.94, 1.06))
    radius = 0.3 * side
    cx, cy, rx, ry = 0.5 * side, 0.58 * side, radius * math.sqrt(aspect), radius / math.sqrt(aspect)
    ear_len = look.ear_size * rng.uniform(0.9, 1.1) * ry
    mask = Image.new("L", (side, side), 0)
    shape = ImageDraw.Draw(mask)
    shape.polygon(_outline(look, rng, cx, cy, rx, ry), fill=255)
    ears = _pointed_ears(cx, cy, rx, ry, ear_len) if look.ears == "pointed" else []
    for ear in ears:
        shape.polygon(ear, fill=255)
    coat = _coat(look, rng, side, cx, cy, rx, ry)
    animal = Image.fromarray(coat, "RGB").convert("RGBA")
    animal.putalpha(mask)
    _face(ImageDraw.Draw(animal), look, rng, cx, cy, rx, ry, ears, ear_len)
    return animal


def _outline(look: BreedLook, rng, cx, cy, rx, ry) -> list[tuple[float, float]]:
    """The body's outline as a polygon: radius(angle) gives the shape."""
    turn = rng.uniform(0, 2 * math.pi)
    k = look.corners
    if look.body == "polygon":
        angles = turn + np.arange(k) * 2 * math.pi / k
        radii = np.ones(k)
    elif look.body == "star":  # fluffy: 2k tufts
        angles = turn + np.arange(4 * k) * math.pi / (2 * k)
        radii = np.where(np.arange(4 * k) % 2 == 0, 1.0, 0.84)
    else:
        angles = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        radii = 1 + 0.12 * np.sin((k - 2) * angles + turn) if look.body == "blob" else np.ones(48)
    return list(zip(cx + rx * radii * np.cos(angles), cy + ry * radii * np.sin(angles)))


def _pointed_ears(cx, cy, rx, ry, ear_len) -> list[list[tuple[float, float]]]:
    ears = []
    for s in (-1, 1):
        base = [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
                for a in (-90 + s * 20, -90 + s * 55)]
        apex = (cx + s * 0.6 * rx, cy - ry - ear_len)
        ears.append([base[0], apex, base[1]])
    return ears


def _coat(look: BreedLook, rng, side, cx, cy, rx, ry) -> np.ndarray:
    """The coat as a side x side x 3 uint8 array: colour, colour2 where the pattern is, lit from above."""
    u = (np.arange(side, dtype=np.float32)[None, :] - cx) / rx  # a row and a column: numpy
    v = (np.arange(side, dtype=np.float32)[:, None] - cy) / ry  # broadcasts them to the grid
    scale = look.texture_scale
    if look.texture == "stripes":
        phase = u * math.cos(look.texture_angle) + v * math.sin(look.texture_angle)
        t = np.clip((np.sin(2 * math.pi / scale * phase + float(rng.uniform(0, 6.3))) - 0.1) * 3, 0, 1)
    elif look.texture == "spots":
        t = _spots(rng, side, cx, cy, rx, ry, scale)
    elif look.texture == "patches":
        cells = max(2, int(round(1.2 / scale)))
        field = Image.fromarray(rng.random((cells, cells)).astype(np.float32), "F")
        t = np.clip((np.asarray(field.resize((side, side), Image.BICUBIC)) - 0.55) * 6, 0, 1)
    elif look.texture == "gradient":  # colour-point: colour2 towards the edges, ears included
        t = np.clip((np.sqrt(u * u + v * v) - 0.45) / scale, 0, 1)
    else:
        t = np.zeros((side, side), np.float32)
    t = np.broadcast_to(t, (side, side))[..., None]
    jitter = rng.uniform(-12, 12, 3)
    colour = np.add(look.colour, jitter).astype(np.float32)
    colour2 = np.add(look.colour2, jitter).astype(np.float32)
    light = (1.12 - 0.12 * np.clip(v + 1, 0, 2))[..., None]  # lit from above
    coat = (colour + (colour2 - colour) * t) * light
    return np.clip(coat, 0, 255).astype(np.uint8)


def _spots(rng, side, cx, cy, rx, ry, scale) -> np.ndarray:
    layer = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(layer)
    r = 0.35 * scale * min(rx, ry)
    for _ in range(int(np.clip(0.5 / scale ** 2, 4, 60))):
        x, y = cx + rng.uniform(-1.1, 1.1) * rx, cy + rng.uniform(-1.4, 1.1) * ry
        k = rng.uniform(0.7, 1.3)
        draw.ellipse([x - k * r, y - r, x + k * r, y + r], fill=255)
    return np.asarray(layer, dtype=np.float32) / 255


def _face(draw: ImageDraw.ImageDraw, look: BreedLook, rng, cx, cy, rx, ry, ears, ear_len) -> None:
    """Ears that are not part of the outline, eyes and nose; cats get whiskers, dogs a muzzle."""
    turn = 0.12 * rx  # the face looks a little to the right, so a flip changes the picture
    r = min(rx, ry)
    if look.ears == "floppy":
        for s in (-1, 1):
            ex, top, ew = cx + s * 0.78 * rx, cy - 0.75 * ry, 0.22 * rx
            draw.ellipse([ex - ew, top, ex + ew, top + 2 * ear_len], fill=look.colour2)
    if look.species == CAT:
        for ear in ears:  # pink inside of the ear
            mx, my = sum(p[0] for p in ear) / 3, sum(p[1] for p in ear) / 3
            draw.polygon([(mx + 0.5 * (px - mx), my + 0.5 * (py - my)) for px, py in ear], fill=(225, 150, 160))
    nx, ny = cx + turn, cy + 0.28 * ry
    if look.species == DOG:
        mw, mh = 0.42 * rx, 0.3 * ry
        draw.ellipse([nx - mw, ny - 0.4 * mh, nx + mw, ny + 1.2 * mh], fill=_shift(look.colour, ds=-0.2, dv=0.25))
    for s in (-1, 1):
        ex, ey, er = cx + turn + s * 0.33 * rx, cy - 0.1 * ry, 0.1 * r
        draw.ellipse([ex - er, ey - er, ex + er, ey + er], fill=look.eye_colour)
        pw = 0.35 * er if look.species == CAT else 0.6 * er  # cats: slit pupils
        draw.ellipse([ex - pw, ey - 0.8 * er, ex + pw, ey + 0.8 * er], fill=(10, 10, 10))
    nr = 0.07 * r if look.species == CAT else 0.12 * r
    draw.ellipse([nx - nr, ny - 0.7 * nr, nx + nr, ny + 0.7 * nr],
                 fill=(200, 110, 120) if look.species == CAT else (20, 15, 15))
    if look.species == CAT:
        width = max(1, int(0.015 * r))
        for s in (-1, 1):
            for dy in (-0.06, 0.0, 0.06):
                draw.line([nx + s * 0.1 * rx, ny, nx + s * 0.6 * rx, ny + (dy - 0.03) * ry * 2],
                          fill=(235, 235, 230), width=width)


def _camera(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Focus, exposure, white balance and sensor noise."""
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    arr = np.asarray(img, dtype=np.float32)
    arr = arr * (rng.uniform(0.7, 1.3) * rng.uniform(0.92, 1.08, 3)).astype(np.float32)
    arr += rng.standard_normal(arr.shape, dtype=np.float32) * float(rng.uniform(1, 7))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


# ------------------------------------------------------------------------------------- data set

@dataclass(frozen=True)
class PetImage:
    breed: str
    number: int

    @property
    def stem(self) -> str:
        return f"{self.breed}_{self.number}"


def image_numbers(breed: str, per_class: int, seed: int = 0) -> list[int]:
    """`per_class` sparse 1-based numbers, ascending, with at least one gap (the real ones have gaps)."""
    rng = np.random.default_rng([seed, _key(breed), 2])
    top = per_class + max(1, per_class // 4)
    picked = rng.choice(np.arange(1, top), size=per_class - 1, replace=False) if per_class > 1 else []
    return sorted(int(n) for n in picked) + [top]  # `top` last: never just 1..per_class


def _image_rng(seed: int, breed: str, number: int) -> np.random.Generator:
    return np.random.default_rng([seed, _key(breed), 3, number])


def _image_size(rng: np.random.Generator, size: int) -> tuple[int, int]:
    w, h = (max(MIN_SIDE, int(round(size * rng.uniform(0.5, 1.7)))) for _ in range(2))
    return w, h


def write_image(path: Path, look: BreedLook, seed: int, number: int, size: int) -> None:
    rng = _image_rng(seed, look.breed, number)
    w, h = _image_size(rng, size)
    img = draw_pet(look, rng, w, h)
    img.save(path, "JPEG", quality=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))


def class_ids(breed: str) -> tuple[int, int, int]:
    """(CLASS-ID, SPECIES, BREED-ID) as annotations/list.txt gives them."""
    species = CAT if is_cat(breed) else DOG
    within = [b for b in BREEDS if is_cat(b) == (species == CAT)]
    return BREEDS.index(breed) + 1, species, within.index(breed) + 1


LIST_HEADER = """\
#Image CLASS-ID SPECIES BREED ID
#ID: 1:37 Class ids
#SPECIES: 1:Cat 2:Dog
#BREED ID: 1-12:Cat 1-25:Dog
#All images with 1st letter as captial are cat images
#images with small first letter are dog images
"""


def write_annotations(folder: Path, images: Sequence[PetImage], seed: int = 0) -> None:
    """annotations/list.txt (all images), trainval.txt and test.txt (about half each per breed)."""
    folder.mkdir(parents=True, exist_ok=True)
    line = {im: "{} {} {} {}".format(im.stem, *class_ids(im.breed)) for im in images}
    trainval: set[PetImage] = set()
    for breed in dict.fromkeys(im.breed for im in images):
        mine = [im for im in images if im.breed == breed]
        order = np.random.default_rng([seed, _key(breed), 4]).permutation(len(mine))
        trainval.update(mine[i] for i in order[: (len(mine) + 1) // 2])
    (folder / "list.txt").write_text(LIST_HEADER + "".join(line[im] + "\n" for im in images))
    (folder / "trainval.txt").write_text("".join(line[im] + "\n" for im in images if im in trainval))
    (folder / "test.txt").write_text("".join(line[im] + "\n" for im in images if im not in trainval))


def read_annotations(path: Path) -> list[tuple[str, int, int, int]]:
    """(image stem, CLASS-ID, SPECIES, BREED-ID) for each line of an annotations file."""
    rows = []
    for text in Path(path).read_text().splitlines():
        if text.strip() and not text.startswith("#"):
            stem, *ids = text.split()
            rows.append((stem, *map(int, ids)))
    return rows


def _check_arguments(per_class, size, seed, breeds) -> list[str]:
    for name, value, least in (("per_class", per_class, 1), ("size", size, MIN_SIDE), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if breeds is None:
        return list(BREEDS)
    if isinstance(breeds, str):
        breeds = [breeds]
    breeds = list(breeds)
    unknown = [b for b in breeds if b not in BREEDS]
    if unknown:
        raise ValueError(f"breeds: unknown breed name(s) {', '.join(map(repr, unknown))}; allowed: "
                         f"the 37 names in petkit.data.BREEDS (e.g. 'Abyssinian', 'beagle'; cats capitalised)")
    if not breeds or len(set(breeds)) != len(breeds):
        raise ValueError(f"breeds must be a non-empty list of distinct names from BREEDS, got {breeds!r}")
    return breeds


def make_pets(out: str | os.PathLike, per_class: int = 20, size: int = 300, seed: int = 0,
              breeds: Iterable[str] | None = None, overwrite: bool = False) -> Path:
    """Write a synthetic Oxford-IIIT Pets under `out` (images/ and annotations/) and return `out`:
    `per_class` JPEGs for each of `breeds` (default: all 37, in the order given), each side drawn
    between 0.5x and 1.7x `size` pixels (at least 16). The same arguments give the same bytes.

    The set is built in a hidden sibling folder and moved into place at the end, so an interrupted
    run leaves nothing that looks like a data set. An existing non-empty `out/images` is an error
    unless `overwrite`; other things in `out` are left alone."""
    breeds = _check_arguments(per_class, size, seed, breeds)
    out = Path(out)
    if _has_images(out / "images") and not overwrite:
        raise FileExistsError(f"{out / 'images'} already holds images; pass overwrite=True (--overwrite) "
                              "to replace them, or choose another folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        images = [PetImage(b, n) for b in breeds for n in image_numbers(b, per_class, seed)]
        (work / "images").mkdir(parents=True)
        looks = {b: breed_look(b, seed) for b in breeds}
        for im in images:
            write_image(work / "images" / f"{im.stem}.jpg", looks[im.breed], seed, im.number, size)
        write_annotations(work / "annotations", images, seed)
        _move_into_place(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _has_images(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def _move_into_place(work: Path, out: Path) -> None:
    out.mkdir(exist_ok=True)
    for name in ("images", "annotations"):  # images last: a set without images does not look made
        shutil.rmtree(out / name, ignore_errors=True)
    (work / "annotations").rename(out / "annotations")
    (work / "images").rename(out / "images")


# ------------------------------------------------------------------------------------ real pets

def _fastai_dir(key: str) -> Path:
    """fastai's `fastai_path(key)` (config.ini under $FASTAI_HOME), read without importing torch."""
    from fastcore.xtras import Config
    home = Path(os.getenv("FASTAI_HOME", "~/.fastai"))
    return Config(home, "config.ini", create={"data": "data", "archive": "archive"}, save=False).path(key, key)


def reachable(url: str, timeout: float) -> bool:
    """Whether a HEAD request for `url` succeeds within `timeout` seconds (name lookup included)."""
    import urllib.request
    answer: list[bool] = []

    def ask() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as r:
                answer.append(r.status < 400)
        except Exception:
            answer.append(False)

    asker = threading.Thread(target=ask, daemon=True)  # a hung name lookup must not hang us
    asker.start()
    asker.join(timeout)
    return bool(answer and answer[0])


def real_pets(timeout: float = 10.0) -> Path:
    """The real Oxford-IIIT Pets through fastai's `untar_data(URLs.PETS)`.

    A copy already in fastai's data folder is returned without the network (and without importing
    fastai); otherwise the download host must answer within `timeout` seconds, or DataUnavailable."""
    data = _fastai_dir("data") / PETS_FOLDER
    if _has_images(data / "images"):
        return data
    archive = _fastai_dir("archive") / PETS_URL.rsplit("/", 1)[-1]
    if not archive.exists() and not reachable(PETS_URL, timeout):
        raise DataUnavailable(unavailable_message())
    import socket
    from fastai.data.external import URLs, untar_data
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(max(timeout, 30.0))  # a stalled download fails instead of hanging
    try:
        path = Path(untar_data(URLs.PETS))
    except Exception as e:
        reason = " ".join(str(e).split())[:120] or type(e).__name__
        raise DataUnavailable(unavailable_message(f"download failed: {reason}")) from None
    finally:
        socket.setdefaulttimeout(previous)
    if not _has_images(path / "images"):
        raise DataUnavailable(unavailable_message(f"{path} has no images/; delete it and try again"))
    return path


# ------------------------------------------------------------------------------------------ CLI

CLI_BOUNDS = {"--per-class": (1, 1000), "--size": (MIN_SIDE, 2048)}  # a few GB at most, never a traceback


def _bounded(option: str):
    low, high = CLI_BOUNDS[option]

    def parse(text: str) -> int:
        import argparse
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from {low} to {high}")
        return value
    return parse


def add_arguments(parser) -> None:
    """The options of `petkit data`."""
    parser.add_argument("--out", default="data/pets", metavar="DIR", help="where to write the synthetic set (default data/pets)")
    parser.add_argument("--per-class", type=_bounded("--per-class"), default=20, metavar="N", help="images per breed (default 20)")
    parser.add_argument("--size", type=_bounded("--size"), default=300, metavar="PX",
                        help="typical image side; each side varies from 0.5x to 1.7x (default 300)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="same seed, same files (default 0)")
    parser.add_argument("--real", action="store_true",
                        help="fetch the real data set with fastai's untar_data(URLs.PETS) instead "
                             "(into fastai's data folder; --out is not used)")
    parser.add_argument("--overwrite", action="store_true", help="replace the images already in --out")


def run(args) -> int:
    """`petkit data`: make (or fetch) the pets and print where they are; one line on stderr on error."""
    start = time.perf_counter()
    import signal

    def stop(signum, frame):  # SIGTERM as Ctrl-C: make_pets removes its partial folder on the way out
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        if getattr(args, "real", False):
            path = real_pets()
        else:
            path = make_pets(args.out, per_class=args.per_class, size=args.size, seed=args.seed,
                             overwrite=args.overwrite)
    except (DataUnavailable, OSError) as e:  # FileExistsError included
        print(f"petkit data: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"petkit data: {e}", file=sys.stderr)
        return 2
    n_images = sum(1 for _ in (path / "images").glob("*.jpg"))
    n_breeds = len({p.stem.rsplit("_", 1)[0] for p in (path / "images").glob("*.jpg")})
    kind = "real" if getattr(args, "real", False) else "synthetic"
    print(f"{kind} Oxford-IIIT Pets: {n_images} images of {n_breeds} breeds in {path} "
          f"({time.perf_counter() - start:.1f} s)")
    print(f"  labels: {path / 'annotations' / 'list.txt'} (trainval.txt, test.txt)")
    return 0
