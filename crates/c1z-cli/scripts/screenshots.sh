#!/usr/bin/env bash
# Builds a review package, checks that LibreOffice converts the workbook to
# PDF and that headless Chromium renders the HTML report, and saves PNG
# screenshots of both for a person to look at.
#
# Usage: crates/c1z-cli/scripts/screenshots.sh [INPUT.c1z] [OUT_DIR]
#   INPUT.c1z  the c1z to review (default: the golden go-full.c1z when
#              ../shared/golden exists, else a small file written by the tests)
#   OUT_DIR    where the package, PDF and PNG files go (default: target dir/review-screenshots)
#
# Installs libreoffice-calc, chromium and poppler-utils with apt-get when
# they are missing (needs root).
set -euo pipefail

crate_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
workspace="$(cd "$crate_dir/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$workspace/target}"
out="${2:-$target/review-screenshots}"
input="${1:-}"

need=()
command -v libreoffice >/dev/null || need+=(libreoffice-calc)
command -v chromium >/dev/null || need+=(chromium)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
if ((${#need[@]})); then
    echo "installing ${need[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" fonts-dejavu-core
fi

cargo build --quiet -p c1z-cli --manifest-path "$workspace/Cargo.toml"
c1z="$target/debug/c1z"

rm -rf "$out"
mkdir -p "$out"
if [[ -z "$input" ]]; then
    golden="${C1Z_GOLDEN_DIR:-$workspace/../shared/golden}"
    if [[ -f "$golden/go-full.c1z" ]]; then
        input="$golden/go-full.c1z"
    else
        # The integration tests write a small fixture when asked to keep it.
        C1Z_KEEP_FIXTURE="$out/fixture.c1z" cargo test --quiet -p c1z-cli --manifest-path "$workspace/Cargo.toml" --test commands fixture_is_written -- --exact >/dev/null
        input="$out/fixture.c1z"
    fi
fi

input="$(realpath "$input")"
echo "reviewing $input"
"$c1z" -f "$input" review --out "$out/package"

# LibreOffice: the workbook must convert to PDF; the first pages become PNGs.
libreoffice --headless --convert-to pdf --outdir "$out" "$out/package/review.xlsx" >"$out/libreoffice.log" 2>&1
test -s "$out/review.pdf"
pdftoppm -png -r 80 -f 1 -l 3 "$out/review.pdf" "$out/xlsx-page"

# Chromium: the HTML report must render; save a screenshot of its top.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1800 \
    --screenshot="$out/html-report.png" "file://$out/package/review.html" >"$out/chromium.log" 2>&1
test -s "$out/html-report.png"

echo "screenshots:"
ls -1 "$out"/*.png
