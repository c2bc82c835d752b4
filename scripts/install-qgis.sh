#!/usr/bin/env bash
# Install what the `qgis` test needs: Debian's PyQGIS (python3-qgis) for the system python3,
# headless. Idempotent: returns at once when PyQGIS already imports.
#
#   scripts/install-qgis.sh            # as root (CI containers) or with sudo available
#
# Packages (Debian bookworm, QGIS 3.22 LTR):
#   python3-qgis      the qgis.core / qgis.gui bindings (pulls libqgis-core, PyQt5)
#   qgis-providers    the OGR/GDAL data provider that opens GeoPackages
# Qt runs with QT_QPA_PLATFORM=offscreen (set by the test), so no X server is needed.
set -euo pipefail

if /usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1; then
    echo "install-qgis: PyQGIS already installed ($(/usr/bin/python3 -c \
'from qgis.core import Qgis; print(Qgis.QGIS_VERSION)' 2>/dev/null || echo unknown))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-qgis: need root or sudo to apt-get install python3-qgis" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends python3-qgis qgis-providers >/dev/null
end=$(date +%s)

/usr/bin/python3 -c "from qgis.core import Qgis; print('install-qgis: PyQGIS', Qgis.QGIS_VERSION)"
echo "install-qgis: installed in $((end - start)) s"
