#!/usr/bin/env bash
# Debian's Chromium for the web app's browser test (tests/web/test_journey.py), driven by the
# Playwright Python package through executable_path (no `playwright install`, no download).
# Idempotent and quiet: does nothing when /usr/bin/chromium is already there. Installs only as
# root; otherwise says what is missing (the browser test then fails under
# CREDITLINE_REQUIRE_BROWSER=1 and skips with a reason without it).
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "!! chromium is not installed and this is not root: run 'apt-get install -y chromium'" >&2
  exit 0
fi
echo "==> installing Chromium (Debian package)"
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
  2> >(grep -v "^debconf: delaying package configuration" >&2)
