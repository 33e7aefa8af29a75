#!/usr/bin/env bash
# Fetch the datasets diffmem reads, from their official sources, and verify checksums.
#
#   scripts/download_datasets.sh [--dest DIR] mnist|fashion-mnist|cifar10|celeba|all ...
#
# Files land in DIR/<dataset>/ (default DIR: the repository's datasets/), in the layout
# datasets/README.md documents, so that e.g. `--data mnist:datasets/mnist` works. A file
# already present with the right checksums is not downloaded again; a download with a wrong
# checksum is discarded, the next mirror is tried, and the script fails if none matches.
# CelebA is on Google Drive behind a confirmation page: the script prints where to get it,
# then verifies and unpacks what you downloaded.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/datasets"

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

die() { echo "error: $*" >&2; exit 1; }

# md5 and sha256 of a file, portable between GNU coreutils and macOS.
md5_of() {
    if command -v md5sum >/dev/null; then md5sum "$1" | cut -d' ' -f1; else md5 -q "$1"; fi
}
sha256_of() {
    if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
    else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# verify FILE MD5 [SHA256]: succeeds if the file matches every given checksum.
verify() {
    local file="$1" md5="$2" sha="${3:-}"
    [ -f "$file" ] || return 1
    [ "$(md5_of "$file")" = "$md5" ] || return 1
    [ -z "$sha" ] || [ "$(sha256_of "$file")" = "$sha" ] || return 1
}

fetch_url() {
    local url="$1" out="$2"
    if command -v curl >/dev/null; then
        curl -fL --retry 3 --connect-timeout 20 -o "$out" "$url"
    elif command -v wget >/dev/null; then
        wget -q -O "$out" "$url"
    else
        die "neither curl nor wget is installed"
    fi
}

# get DIR NAME MD5 SHA256 URL_BASE...: download DIR/NAME from the first base that yields a
# file with the right checksums.
get() {
    local dir="$1" name="$2" md5="$3" sha="$4"
    shift 4
    mkdir -p "$dir"
    if verify "$dir/$name" "$md5" "$sha"; then
        echo "ok       $dir/$name (already present, checksum verified)"
        return 0
    fi
    local base
    for base in "$@"; do
        echo "fetching $base$name"
        if fetch_url "$base$name" "$dir/$name.part" && verify "$dir/$name.part" "$md5" "$sha"; then
            mv "$dir/$name.part" "$dir/$name"
            echo "ok       $dir/$name (checksum verified)"
            return 0
        fi
        echo "warning: $base$name failed or has the wrong checksum" >&2
        rm -f "$dir/$name.part"
    done
    die "could not get a verified $name (tried: $*)"
}

mnist() {
    # Official page: http://yann.lecun.com/exdb/mnist/ (often unreachable); the mirrors below
    # serve the identical files (same MD5/SHA-256).
    local d="$DEST/mnist"
    local mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/"
        "https://storage.googleapis.com/cvdf-datasets/mnist/"
        "http://yann.lecun.com/exdb/mnist/"
    )
    get "$d" train-images-idx3-ubyte.gz f68b3c2dcbeaaa9fbdd348bbdeb94873 \
        440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 "${mirrors[@]}"
    get "$d" train-labels-idx1-ubyte.gz d53e105ee54ea40749a09fcbcd1e9432 \
        3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c "${mirrors[@]}"
    get "$d" t10k-images-idx3-ubyte.gz 9fb629c4189551a2d022fa330f9573f3 \
        8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 "${mirrors[@]}"
    get "$d" t10k-labels-idx1-ubyte.gz ec29112dd5afa0611ce80d1b7f02629c \
        f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6 "${mirrors[@]}"
    echo "use: --data mnist:$d"
}

fashion_mnist() {
    # Official: https://github.com/zalandoresearch/fashion-mnist (MD5s from its README).
    local d="$DEST/fashion-mnist"
    local mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
    )
    get "$d" train-images-idx3-ubyte.gz 8d4fb7e6c68d591d4c3dfef9ec88bf0d "" "${mirrors[@]}"
    get "$d" train-labels-idx1-ubyte.gz 25c81989df183df01b3e8a0aad5dffbe "" "${mirrors[@]}"
    get "$d" t10k-images-idx3-ubyte.gz bef4ecab320f06d8554ea6380940ec79 "" "${mirrors[@]}"
    get "$d" t10k-labels-idx1-ubyte.gz bb300cfdad3c16e7a12a480ee83cd310 "" "${mirrors[@]}"
    echo "use: --data fashion-mnist:$d"
}

cifar10() {
    # Official: https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 binary version".
    # diffmem reads the archive directly; no need to unpack it.
    local d="$DEST/cifar10"
    get "$d" cifar-10-binary.tar.gz c32a1d4ab5d03f1284b67883e8d87530 \
        c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd \
        "https://www.cs.toronto.edu/~kriz/"
    echo "use: --data cifar10:$d"
}

celeba() {
    # Official: https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Google Drive links).
    local d="$DEST/celeba"
    local zip="$d/img_align_celeba.zip" part="$d/list_eval_partition.txt"
    mkdir -p "$d"
    if [ ! -f "$zip" ] || [ ! -f "$part" ]; then
        cat >&2 <<MSG
CelebA is distributed through Google Drive and must be downloaded by hand:
  1. open https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html -> "Align&Cropped Images"
     (Google Drive folder "CelebA")
  2. download Img/img_align_celeba.zip      (1.4 GB, md5 00d2c5bc6d35e252742224ab0c1e8fcb)
     and      Eval/list_eval_partition.txt  (md5 d32c9cbf5e040fd4025c592c306e6668)
  3. put both files in $d/
  4. run this script again: it verifies the checksums and unpacks the images.
MSG
        exit 1
    fi
    verify "$zip" 00d2c5bc6d35e252742224ab0c1e8fcb || die "$zip has the wrong md5"
    verify "$part" d32c9cbf5e040fd4025c592c306e6668 || die "$part has the wrong md5"
    if [ ! -d "$d/img_align_celeba" ]; then
        command -v unzip >/dev/null || die "unzip is not installed"
        echo "unpacking $zip"
        unzip -q "$zip" -d "$d"
    fi
    echo "ok       $d (checksums verified)"
    echo "use: --data celeba:$d,size=64"
}

[ $# -gt 0 ] || usage 1
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage 0 ;;
        --dest) [ $# -ge 2 ] || die "--dest needs a directory"; DEST="$2"; shift 2 ;;
        mnist|fashion-mnist|cifar10|celeba) targets+=("$1"); shift ;;
        all) targets+=(mnist fashion-mnist cifar10 celeba); shift ;;
        *) echo "unknown dataset: $1" >&2; usage 1 ;;
    esac
done
for t in "${targets[@]}"; do
    case "$t" in
        mnist) mnist ;;
        fashion-mnist) fashion_mnist ;;
        cifar10) cifar10 ;;
        celeba) celeba ;;
    esac
done
