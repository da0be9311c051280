#!/usr/bin/env bash
# Makes what the Kustomize base reads but the repository never holds, all gitignored:
#   base/secrets/tls/       ca.crt and a certificate and key per identity (`python -m utils.tls issue`)
#   base/secrets/payment/   the payment service's card-fingerprint key
#   base/secrets/operator/  the operator token that stock writes need
#   base/settings/          a copy of the repository's variables.env (kustomize reads no file outside its folder)
#   operator/tls/           the operator's own certificate, for operator commands; never put into the cluster
#   ca/                     the fleet CA; its key never leaves this folder (set CA_DIR to keep it elsewhere)
# Idempotent: existing certificates and keys are kept and only the missing ones made; variables.env is copied
# every time, so run it again after editing variables.env or a peer list. The replica identities are the ids of
# the peer lists in base/cluster.env and the overlays' env files.
#
#   deploy/k8s/make-secrets.sh                     # then: kubectl kustomize deploy/k8s/overlays/dev
#   K8S_DIR=/tmp/copy/deploy/k8s deploy/k8s/make-secrets.sh   # prepare a copy of this folder instead
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
k8s=$(cd "${K8S_DIR:-$here}" && pwd)
ca_dir=${CA_DIR:-$k8s/ca}
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$repo/.venv/bin/python" ]]; then PYTHON=$repo/.venv/bin/python; else PYTHON=python3; fi
fi
umask 077

# The fixed identities of the singletons (the TLS contract), then every replica id the peer lists name.
identities=(payment_service order_queue transaction_verification fraud_detection suggestions orchestrator)
while IFS= read -r id; do identities+=("$id"); done < <(
  cat "$k8s/base/cluster.env" "$k8s"/overlays/*/*.env 2>/dev/null \
    | sed -n -E 's/^(BOOKS_DATABASE_PEERS|ORDER_EXECUTOR_PEERS)=//p' | tr ',' '\n' | sed -E 's/=.*//' | sort -u
)

mkdir -p "$k8s/base/settings" "$k8s/base/secrets/payment" "$k8s/base/secrets/operator" "$k8s/operator"
(umask 022 && cp "$repo/variables.env" "$k8s/base/settings/variables.env")

cd "$repo"  # utils.tls is imported from the checkout
"$PYTHON" -m utils.tls issue --ca-dir "$ca_dir" --out "$k8s/base/secrets/tls" "${identities[@]}"
"$PYTHON" -m utils.tls issue --ca-dir "$ca_dir" --out "$k8s/operator/tls" operator

new_secret() {  # 32 random bytes as hex, made once
  [[ -s "$1" ]] || "$PYTHON" -c 'import secrets; print(secrets.token_hex(32), end="")' > "$1"
}
new_secret "$k8s/base/secrets/payment/fingerprint.key"
new_secret "$k8s/base/secrets/operator/token"
echo "ready to render: kubectl kustomize $k8s/overlays/<dev|production>"
