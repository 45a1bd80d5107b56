#!/usr/bin/env bash
# Shows `trellis preview` on the example repository: makes a git repository of
# it, commits a change on a branch (a new image for web in staging), and
# previews the branch against main.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$here/infrastructure/." "$work/"
cd "$work"
git init -q -b main
git -c user.name=demo -c user.email=demo@example.com add -A
git -c user.name=demo -c user.email=demo@example.com commit -q -m "infrastructure"
git checkout -q -b release-web-1.9
sed -i 's/web:1.8.0/web:1.9.0/' services/web/staging/deployment.yaml
sed -i 's/LOG_LEVEL: debug/LOG_LEVEL: trace/' values/storefront/staging.yaml
git -c user.name=demo -c user.email=demo@example.com commit -q -am "web 1.9.0 to staging; storefront staging logs at trace"
cd "$here/.."
status=0
cargo run -q --release -- preview "$work/bootstrap/root.yaml" --base main --head release-web-1.9 \
  --repo-map "https://git.example.com/platform/infrastructure.git=$work" \
  --repo-map "https://git.example.com/storefront/storefront.git=$here/services/storefront" \
  --repo-map "https://git.example.com/payments/checkout.git=$here/services/checkout" "$@" || status=$?
# Exit 1 means "changes found", which is what this demo expects.
[ "$status" -eq 1 ] && exit 0 || exit "$status"
