#!/usr/bin/env bash
# What the documents (services/documents) need from Debian: Pango for WeasyPrint's
# HTML-to-PDF, fonts it and matplotlib render with (Liberation Sans, DejaVu Sans),
# and poppler-utils (pdftoppm) with which the tests render each PDF's first page.
# Installs what is missing from Debian's packages.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation2 fonts-dejavu-core poppler-utils; do
  have "$pkg" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${need[*]} from Debian's packages..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "Missing: ${need[*]}. Install them (Debian: sudo apt-get install ${need[*]})." >&2
  exit 1
fi
