#!/usr/bin/env bash
# Enable SANE's `test` backend (a virtual scanner) so the README's `sohoa station --scanner
# sane:test` finds a device: Debian ships it commented out in /etc/sane.d/dll.conf. A drop-in
# under /etc/sane.d/dll.d/ leaves dll.conf untouched; delete the file to disable it again.
set -euo pipefail
dropin=/etc/sane.d/dll.d/sohoa-test
[ -d /etc/sane.d/dll.d ] || exit 0          # SANE not installed: nothing to enable
[ -f "$dropin" ] && exit 0
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
printf '# added by sohoa (scripts/sane-test-backend.sh): the virtual scanner for the demo\ntest\n' \
  | $sudo_cmd tee "$dropin" >/dev/null
echo "enabled the SANE test backend ($dropin)" >&2
