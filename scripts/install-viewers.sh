#!/usr/bin/env bash
# Install the programs the output tests open our files with, as their users do:
#
#   chromium        headless Chromium: screenshots the offline interactive map (tests/test_maps.py)
#   poppler-utils   pdftoppm: renders the PDF report's pages to PNG (tests/test_report.py)
#   fonts-dejavu-core  the fonts the report, the maps and the QGIS layout name
#   libpango-1.0-0, libpangoft2-1.0-0  the text layout weasyprint (PDF report) draws with
#
# Debian packages (bookworm); idempotent: returns at once when both programs are on PATH.
# PyQGIS is installed by scripts/install-qgis.sh. Run as root (CI) or with sudo.
set -euo pipefail

if command -v pdftoppm >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 \
    && ldconfig -p | grep -q libpangoft2-1.0; then
    echo "install-viewers: chromium and pdftoppm already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-viewers: need root or sudo to apt-get install chromium poppler-utils" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium poppler-utils \
    fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 >/dev/null
end=$(date +%s)
echo "install-viewers: $(chromium --version 2>/dev/null || echo chromium?);" \
    "$(pdftoppm -v 2>&1 | head -1) in $((end - start)) s"
