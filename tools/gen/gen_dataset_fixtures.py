#!/usr/bin/python3
"""Writes small synthetic data set trees in every on-disk layout clipdebias reads, and the
broken variants users end up with, under tests/fixtures/datasets/:

  waterbirds/  group_DRO tarball folder, WILDS waterbirds_v1.0/, SubpopBench and
               BalancingGroups derived metadata_waterbirds.csv, group_DRO cub/data/;
               broken: HTML page as metadata.csv, unextracted tarball, missing images,
               wrong columns, an empty group
  celeba/      torchvision flat folder, Google Drive Anno/Eval/Img, Kaggle CSVs with the
               nested image folder, group_DRO celebA/data, JTT merged metadata.csv,
               SubpopBench metadata_celeba.csv, the PNG release, files in different orders;
               broken: HTML page as list_attr_celeba.txt, unextracted zip, a mismatched
               partition row, a wrong count line
  metashift/   SubpopBench metadata_metashift.csv with absolute paths from another machine,
               the bare folder layout; broken: symlinks into a GQA folder that is not
               there, absolute paths without the MetaShift component
  csv/         a user CSV with split names and an attribute, one without the attribute,
               one with wrong columns

Images are tiny (about 20-40 px) so the trees stay small; their sizes vary like the real
data sets. The Waterbirds trees also hold a grayscale JPEG, a CMYK JPEG, a PNG saved as
.jpg, a progressive JPEG and a truncated JPEG.

Usage: /usr/bin/python3 tools/gen/gen_dataset_fixtures.py   (from the repository root)
       /usr/bin/python3 tools/gen/gen_dataset_fixtures.py --bench-tree DIR N
          a Waterbirds-format tree of N photo-sized JPEGs (CUB-like, 300-500 px) in DIR for
          measuring `embed` throughput (not a fixture: keep it out of the repository)
"""
import gzip
import io
import os
import random
import shutil
import sys
import tarfile
import zipfile

from PIL import Image, ImageDraw

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "datasets")

HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head>\n"
             b"<body><p>Too many users have viewed or downloaded this file recently.</p></body></html>\n")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def jpeg_bytes(img, **kw):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75, **kw)
    return buf.getvalue()


def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def scene(w, h, fg, bg, seed, shape="ellipse"):
    """A coloured blob (the object) on a noisy two-tone background (the context)."""
    rnd = random.Random(seed)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = rnd.randrange(w), rnd.randrange(h)
        shade = tuple(max(0, min(255, c + rnd.randrange(-40, 40))) for c in bg)
        d.rectangle([x, y, x + w // 4, y + h // 6], fill=shade)
    x0, y0 = rnd.randrange(w // 4), rnd.randrange(h // 4)
    box = [x0, y0, x0 + w // 2, y0 + h // 2]
    (d.ellipse if shape == "ellipse" else d.rectangle)(box, fill=fg)
    return img


# ---- Waterbirds -------------------------------------------------------------------------

WB = "waterbird_complete95_forest2water2"
WB_SPECIES = {0: ["009.Brewer_Blackbird", "020.Yellow_breasted_Chat"],
              1: ["001.Black_footed_Albatross", "059.California_Gull"]}
# (split, y, place, count): every group in every split, imbalanced in train like the original.
WB_CELLS = [(0, 0, 0, 3), (0, 0, 1, 1), (0, 1, 0, 1), (0, 1, 1, 3),
            (1, 0, 0, 1), (1, 0, 1, 1), (1, 1, 0, 1), (1, 1, 1, 1),
            (2, 0, 0, 2), (2, 0, 1, 2), (2, 1, 0, 1), (2, 1, 1, 1)]
WB_SPECIAL = {3: "gray", 5: "cmyk", 7: "png_as_jpg", 11: "progressive", 14: "truncated"}


def waterbirds_rows():
    rows, rnd = [], random.Random(7)
    for split, y, place, count in WB_CELLS:
        for _ in range(count):
            rows.append((split, y, place))
    rnd.shuffle(rows)  # metadata.csv is ordered by image id, splits interleave
    out = []
    for i, (split, y, place) in enumerate(rows):
        species = WB_SPECIES[y][i % 2]
        name = "_".join(species.split(".")[1].split("_")).title()
        fn = "%s/%s_%04d_%d.jpg" % (species, name, 100 + i, 7 * i + 3)
        pf = ["/b/bamboo_forest/%08d.jpg", "/o/ocean/%08d.jpg"][place] % (1000 + i)
        out.append(dict(id=i + 1, filename=fn, y=y, split=split, place=place, place_filename=pf))
    return out


def waterbirds_image(i, row):
    w, h = 28 + 3 * (i % 5), 22 + 4 * (i % 4)
    fg = (230, 200, 40) if row["y"] else (90, 60, 30)
    bg = (40, 90, 200) if row["place"] else (60, 130, 50)
    img = scene(w, h, fg, bg, seed=100 + i)
    kind = WB_SPECIAL.get(i)
    if kind == "gray":
        return jpeg_bytes(img.convert("L"))
    if kind == "cmyk":
        return jpeg_bytes(img.convert("CMYK"))
    if kind == "png_as_jpg":
        return png_bytes(img)
    if kind == "progressive":
        return jpeg_bytes(img, progressive=True)
    data = jpeg_bytes(img)
    return data[: len(data) * 9 // 10] if kind == "truncated" else data  # cut inside the scan data


def metadata_csv(rows):
    lines = ["img_id,img_filename,y,split,place,place_filename"]
    lines += ["%d,%s,%d,%d,%d,%s" % (r["id"], r["filename"], r["y"], r["split"], r["place"], r["place_filename"]) for r in rows]
    return "\n".join(lines) + "\n"


def derived_csv(rows):
    lines = ["id,filename,split,y,a"] + ["%d,%s,%d,%d,%d" % (r["id"], r["filename"], r["split"], r["y"], r["place"]) for r in rows]
    return "\n".join(lines) + "\n"


def waterbirds_folder(folder, rows, images, keep=None):
    write(os.path.join(folder, "metadata.csv"), metadata_csv(rows))
    for i, r in enumerate(rows):
        if keep is None or i in keep:
            write(os.path.join(folder, r["filename"]), images[i])


def tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1500000000
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)  # fixed header time: regenerating gives the same bytes


def gen_waterbirds():
    base = os.path.join(OUT, "waterbirds")
    rows = waterbirds_rows()
    images = [waterbirds_image(i, r) for i, r in enumerate(rows)]
    waterbirds_folder(os.path.join(base, "grpdro", WB), rows, images)
    waterbirds_folder(os.path.join(base, "wilds", "waterbirds_v1.0"), rows, images)  # no RELEASE_v1.0.txt
    waterbirds_folder(os.path.join(base, "subpopbench", "waterbirds", WB), rows, images)
    write(os.path.join(base, "subpopbench", "waterbirds", "metadata_waterbirds.csv"), derived_csv(rows))
    waterbirds_folder(os.path.join(base, "balancinggroups", "waterbirds", WB), rows, images)
    write(os.path.join(base, "balancinggroups", "metadata_waterbirds.csv"), derived_csv(rows))
    waterbirds_folder(os.path.join(base, "cub", "cub", "data", WB), rows, images)
    # broken variants
    write(os.path.join(base, "broken_html", WB, "metadata.csv"), HTML_PAGE)
    write(os.path.join(base, "broken_tar", WB + ".tar.gz"), tar_gz([(WB + "/metadata.csv", metadata_csv(rows).encode())]))
    waterbirds_folder(os.path.join(base, "broken_missing", WB), rows, images, keep=set(range(11)))
    write(os.path.join(base, "broken_columns", "metadata.csv"),
          "img_id,image,label,fold,place\n" + "".join("%d,%s,%d,%d,%d\n" % (r["id"], r["filename"], r["y"], r["split"], r["place"]) for r in rows))
    no_g2 = [r for r in rows if not (r["y"] == 1 and r["place"] == 0)]
    waterbirds_folder(os.path.join(base, "broken_emptygroup"), no_g2, [images[rows.index(r)] for r in no_g2])


# ---- CelebA ---------------------------------------------------------------------------------

CELEBA_ATTRS = ("5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
                "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
                "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
                "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
                "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young").split()
# (split, blond, male, count); the official partition is contiguous: train, then val, then test.
CELEBA_CELLS = [(0, 0, 0, 2), (0, 0, 1, 2), (0, 1, 0, 2), (0, 1, 1, 1),
                (1, 0, 0, 1), (1, 0, 1, 1), (1, 1, 0, 1), (1, 1, 1, 1),
                (2, 0, 0, 2), (2, 0, 1, 1), (2, 1, 0, 1), (2, 1, 1, 1)]


def celeba_rows():
    rnd, rows = random.Random(11), []
    for split, blond, male, count in CELEBA_CELLS:
        for _ in range(count):
            vals = [rnd.choice((-1, 1)) for _ in CELEBA_ATTRS]
            vals[9], vals[20] = (1 if blond else -1), (1 if male else -1)
            rows.append(dict(name="%06d.jpg" % (len(rows) + 1), split=split, vals=vals))
    return rows


def celeba_image(i, r):
    hair = (235, 210, 120) if r["vals"][9] > 0 else (50, 35, 25)
    skin = (200, 160, 140) if r["vals"][20] > 0 else (230, 190, 170)
    return scene(18, 22, skin, hair, seed=300 + i)  # 178 x 218 scaled down


def attr_txt(rows, count=None):
    lines = [str(len(rows) if count is None else count), " ".join(CELEBA_ATTRS) + " "]  # official copies end with a space
    for r in rows:
        lines.append(r["name"] + "".join(("  1" if v > 0 else " -1") for v in r["vals"]))
    return "\n".join(lines) + "\n"


def attr_csv(rows, split_col=False):
    head = "image_id," + ",".join(CELEBA_ATTRS) + (",split" if split_col else "")
    body = [r["name"] + "," + ",".join(str(v) for v in r["vals"]) + ((",%d" % r["split"]) if split_col else "") for r in rows]
    return "\n".join([head] + body) + "\n"


def partition_txt(rows):
    return "".join("%s %d\n" % (r["name"], r["split"]) for r in rows)


def partition_csv(rows):
    return "image_id,partition\n" + "".join("%s,%d\n" % (r["name"], r["split"]) for r in rows)


def celeba_images(folder, rows, images, ext=".jpg"):
    for i, r in enumerate(rows):
        data = jpeg_bytes(images[i]) if ext == ".jpg" else png_bytes(images[i])
        write(os.path.join(folder, r["name"].replace(".jpg", ext)), data)


def gen_celeba():
    base = os.path.join(OUT, "celeba")
    rows = celeba_rows()
    images = [celeba_image(i, r) for i, r in enumerate(rows)]
    tv = os.path.join(base, "torchvision", "celeba")
    write(os.path.join(tv, "list_attr_celeba.txt"), attr_txt(rows))
    write(os.path.join(tv, "list_eval_partition.txt"), partition_txt(rows))
    celeba_images(os.path.join(tv, "img_align_celeba"), rows, images)
    drive = os.path.join(base, "drive")
    write(os.path.join(drive, "Anno", "list_attr_celeba.txt"), attr_txt(rows).replace("\n", "\r\n"))  # a CRLF copy
    write(os.path.join(drive, "Eval", "list_eval_partition.txt"), partition_txt(rows))
    celeba_images(os.path.join(drive, "Img", "img_align_celeba"), rows, images)
    kaggle = os.path.join(base, "kaggle")
    write(os.path.join(kaggle, "list_attr_celeba.csv"), attr_csv(rows))
    write(os.path.join(kaggle, "list_eval_partition.csv"), partition_csv(rows))
    celeba_images(os.path.join(kaggle, "img_align_celeba", "img_align_celeba"), rows, images)
    gd = os.path.join(base, "groupdro", "celebA", "data")
    write(os.path.join(gd, "list_attr_celeba.csv"), attr_csv(rows))
    write(os.path.join(gd, "list_eval_partition.csv"), partition_csv(rows))
    celeba_images(os.path.join(gd, "img_align_celeba"), rows, images)
    jtt = os.path.join(base, "jtt", "celebA", "data")
    write(os.path.join(jtt, "metadata.csv"), attr_csv(rows, split_col=True))
    celeba_images(os.path.join(jtt, "img_align_celeba"), rows, images)
    sp = os.path.join(base, "subpopbench", "celeba")
    write(os.path.join(sp, "list_attr_celeba.txt"), attr_txt(rows))
    write(os.path.join(sp, "list_eval_partition.txt"), partition_txt(rows))
    write(os.path.join(sp, "metadata_celeba.csv"), "id,filename,split,y,a\n" + "".join(
        "%d,%s,%d,%d,%d\n" % (i + 1, r["name"], r["split"], r["vals"][9] > 0, r["vals"][20] > 0) for i, r in enumerate(rows)))
    celeba_images(os.path.join(sp, "img_align_celeba"), rows, images)
    png = os.path.join(base, "png")
    write(os.path.join(png, "list_attr_celeba.txt"), attr_txt(rows))
    write(os.path.join(png, "list_eval_partition.txt"), partition_txt(rows))
    celeba_images(os.path.join(png, "img_align_celeba_png"), rows, images, ext=".png")
    ro = os.path.join(base, "reordered")
    write(os.path.join(ro, "list_attr_celeba.txt"), attr_txt(rows))
    write(os.path.join(ro, "list_eval_partition.txt"), partition_txt(list(reversed(rows))))
    celeba_images(os.path.join(ro, "img_align_celeba"), rows, images)
    # broken variants (annotation problems are found before any image is looked at)
    bh = os.path.join(base, "broken_html")
    write(os.path.join(bh, "list_attr_celeba.txt"), HTML_PAGE)
    write(os.path.join(bh, "list_eval_partition.txt"), partition_txt(rows))
    bz = os.path.join(base, "broken_zip")
    write(os.path.join(bz, "Anno", "list_attr_celeba.txt"), attr_txt(rows))
    write(os.path.join(bz, "Eval", "list_eval_partition.txt"), partition_txt(rows))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        for i, r in enumerate(rows[:3]):
            z.writestr(zipfile.ZipInfo("img_align_celeba/" + r["name"], (2015, 1, 1, 0, 0, 0)), jpeg_bytes(images[i]))
    write(os.path.join(bz, "Img", "img_align_celeba.zip"), zbuf.getvalue())
    bm = os.path.join(base, "broken_mismatch")
    write(os.path.join(bm, "list_attr_celeba.txt"), attr_txt(rows))
    wrong = [dict(r) for r in rows]
    wrong[4] = dict(wrong[4], name="%06d.jpg" % (len(rows) + 1))  # row 5 names an image the attribute file lacks
    write(os.path.join(bm, "list_eval_partition.txt"), partition_txt(wrong))
    bc = os.path.join(base, "broken_count")
    write(os.path.join(bc, "list_attr_celeba.txt"), attr_txt(rows, count=202599))
    write(os.path.join(bc, "list_eval_partition.txt"), partition_txt(rows))


# ---- MetaShift ------------------------------------------------------------------------------

MS = "MetaShift-Cat-Dog-indoor-outdoor"
MS_POOLS = [("train/cat/cat(indoor)", 1, 1), ("train/dog/dog(outdoor)", 0, 0),
            ("test/cat/cat(outdoor)", 1, 0), ("test/dog/dog(indoor)", 0, 1)]


def metashift_files():
    files = []
    for p, (folder, y, a) in enumerate(MS_POOLS):
        for k in range(6):
            image_id = 2317000 + 37 * (6 * p + k)
            files.append(("%s/%d.jpg" % (folder, image_id), y, a, [0, 0, 0, 0, 1, 2][k]))
    return files


def metashift_image(i, y, a):
    fg = (240, 150, 60) if y else (120, 90, 60)
    bg = (150, 120, 100) if a else (110, 170, 90)
    w, h = 24 + 5 * (i % 4), 20 + 3 * (i % 5)
    return jpeg_bytes(scene(w, h, fg, bg, seed=500 + i, shape="ellipse" if y else "rectangle"))


def metashift_folder(folder, files, link_every=0):
    for i, (rel, y, a, _) in enumerate(files):
        path = os.path.join(folder, rel)
        if link_every and i % link_every == 0:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink("/gqa/images/%s" % os.path.basename(rel), path)  # GQA moved away: dangling
        else:
            write(path, metashift_image(i, y, a))


def gen_metashift():
    base = os.path.join(OUT, "metashift")
    files = metashift_files()
    sp = os.path.join(base, "subpopbench", "metashift")
    metashift_folder(os.path.join(sp, MS), files)
    other = "/home/alice/SubpopBench/data/metashift/" + MS + "/"
    write(os.path.join(sp, "metadata_metashift.csv"),
          "filename,y,a,split\n" + "".join("%s%s,%d,%d,%d\n" % (other, f, y, a, s) for f, y, a, s in files))
    metashift_folder(os.path.join(base, "folders", MS), files)
    metashift_folder(os.path.join(base, "broken_symlink", MS), files, link_every=5)
    bp = os.path.join(base, "broken_paths", "metashift")
    for folder, _, _ in MS_POOLS:
        write(os.path.join(bp, MS, folder, ".keep"), b"")
    write(os.path.join(bp, "metadata_metashift.csv"),
          "filename,y,a,split\n" + "".join("/data/gqa/images/%s,%d,%d,%d\n" % (os.path.basename(f), y, a, s) for f, y, a, s in files))


# ---- user CSVs ------------------------------------------------------------------------------

def gen_csv():
    base = os.path.join(OUT, "csv")
    lines = ["filename,y,a,split"]
    for i in range(16):
        y, a = i % 2, (i // 2) % 2  # every (y, a) pair in every split
        name = "imgs/%s_%02d.jpg" % (["circle", "square"][y], i)
        lines.append("%s,%d,%d,%s" % (name, y, a, ["train", "train", "val", "test"][i // 4]))
        img = scene(26, 26, (220, 40, 40), [(70, 160, 60), (60, 90, 200)][a], seed=700 + i, shape=["ellipse", "rectangle"][y])
        write(os.path.join(base, "basic", name), jpeg_bytes(img))
    write(os.path.join(base, "basic", "data.csv"), "\n".join(lines) + "\n")
    lines = ["path,label,partition"]
    for i in range(9):
        name = "shape_%d.png" % i
        lines.append("%s,%d,%d" % (name, i % 3, [0, 0, 1, 2][i % 4]))
        write(os.path.join(base, "noattr", name), png_bytes(scene(20, 20, (250, 250, 250), (30, 30, 30), seed=800 + i)))
    write(os.path.join(base, "noattr", "labels.csv"), "\n".join(lines) + "\n")
    write(os.path.join(base, "broken_columns", "data.csv"), "file,cls,fold\nimgs/a.jpg,0,0\n")


def gen_bench_tree(folder, n):
    rnd = random.Random(5)
    rows = []
    for i in range(n):
        y, place, split = rnd.randrange(2), rnd.randrange(2), rnd.choice((0, 0, 0, 1, 2, 2))
        species = WB_SPECIES[y][i % 2]
        fn = "%s/%s_%05d.jpg" % (species, species.split(".")[1], i)
        rows.append(dict(id=i + 1, filename=fn, y=y, split=split, place=place, place_filename="/b/bench/%08d.jpg" % i))
        w, h = rnd.randrange(300, 501), rnd.randrange(250, 501)
        img = scene(w, h, (230, 200, 40) if y else (90, 60, 30), (40, 90, 200) if place else (60, 130, 50), seed=i)
        write(os.path.join(folder, WB, fn), jpeg_bytes(img))
    write(os.path.join(folder, WB, "metadata.csv"), metadata_csv(rows))
    print("wrote", n, "images under", os.path.join(folder, WB))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--bench-tree":
        return gen_bench_tree(sys.argv[2], int(sys.argv[3]))
    shutil.rmtree(OUT, ignore_errors=True)
    gen_waterbirds()
    gen_celeba()
    gen_metashift()
    gen_csv()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
