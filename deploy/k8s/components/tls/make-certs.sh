#!/bin/sh
# Makes, with openssl, the Secrets raftkv mounts: two CAs (clients, peers); for peers (the base), one
# certificate per pod, raftkv-<i>.crt/.key, naming its member id as SAN URI raftkv://member/raftkv-<i>
# and its DNS name under the headless Service, with ca.crt; for the client port (the tls component),
# tls.crt/tls.key/ca.crt (cert-manager's layout); and a client certificate for raftctl/grpcurl (needed
# once RAFTKV_TLS_CLIENT_AUTH=true).
#
#   usage: make-certs.sh NAMESPACE OUTDIR [DAYS] [PODS]
#          PODS: peer certificates for raftkv-0 .. raftkv-<PODS-1> (default 5): make one for every pod
#          you may scale to; a pod without its certificate cannot start.
#   then:  kubectl -n NAMESPACE create secret generic raftkv-peer-tls --from-file=OUTDIR/peer-tls
#          kubectl -n NAMESPACE create secret generic raftkv-tls      --from-file=OUTDIR/tls
#
# OUTDIR/client-ca.key and OUTDIR/peer-ca.key sign new certificates: keep them out of the cluster.
# RAFTKV_EXTRA_SANS (e.g. IP:127.0.0.1) is added to both node certificates (tests on one machine).
set -eu
ns=$1
out=$2
days=${3:-365}
pods=${4:-5}
extra=${RAFTKV_EXTRA_SANS:-}
umask 077
mkdir -p "$out/tls" "$out/peer-tls" "$out/client"
cd "$out"

newkey() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "$@" 2>/dev/null; }

ca() { # file common-name
  newkey -x509 -days "$days" -subj "/CN=$2" -keyout "$1.key" -out "$1.crt"
}

issue() { # dir common-name subject-alt-names extended-key-usage ca [file name, default tls]
  f=${6:-tls}
  newkey -subj "/CN=$2" -keyout "$1/$f.key" -out "$1/$f.csr"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" > "$1/$f.ext"
  openssl x509 -req -in "$1/$f.csr" -CA "$5.crt" -CAkey "$5.key" -CAcreateserial -days "$days" -extfile "$1/$f.ext" -out "$1/$f.crt" 2>/dev/null
  cp "$5.crt" "$1/ca.crt"
  rm "$1/$f.csr" "$1/$f.ext"
}

ca client-ca raftkv-client-ca
ca peer-ca raftkv-peer-ca
# The client port: the client Service's names, and localhost for `kubectl port-forward`. Nodes also
# present it as a client certificate when they dial their own client port (the live view).
issue tls raftkv "DNS:raftkv.$ns.svc.cluster.local,DNS:raftkv.$ns.svc,DNS:raftkv.$ns,DNS:raftkv,DNS:localhost,IP:127.0.0.1${extra:+,$extra}" serverAuth,clientAuth client-ca
# Peers: one per pod, naming its member id and its DNS name under the headless Service; each node
# both serves and dials with it, and a receiver takes the sender's id from it.
i=0
while [ "$i" -lt "$pods" ]; do
  issue peer-tls "raftkv-$i" "URI:raftkv://member/raftkv-$i,DNS:raftkv-$i.raftkv-peer.$ns.svc.cluster.local${extra:+,$extra}" serverAuth,clientAuth peer-ca "raftkv-$i"
  i=$((i + 1))
done
issue client raftkv-client "DNS:raftkv-client" clientAuth client-ca
echo "made $out/tls, $out/peer-tls (Secrets raftkv-tls, raftkv-peer-tls) and $out/client (for raftctl)"
