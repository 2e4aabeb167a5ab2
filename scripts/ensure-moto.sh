#!/usr/bin/env bash
# Installs the moto AWS emulator (server mode) from PyPI unless the pinned
# version is already there. Tests and the demo run against it on 127.0.0.1.
set -euo pipefail
want="5.2.5"
have=$(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || true)
if [ "$have" != "$want" ] || ! command -v moto_server >/dev/null 2>&1; then
  echo "installing moto[server]==$want (found: ${have:-none})" >&2
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$want" boto3 >&2
fi
