#!/usr/bin/env bash
# make-certs.sh DIR [NAME...]: a local CA and certificates signed by it, for trying Agora
# with TLS (--tls_cert_file, --tls_key_file, --tls_ca_file, --tls_verify_peer). Each NAME
# (default: master agent marathon batch client) gets DIR/NAME.crt and DIR/NAME.key, valid
# for localhost, 127.0.0.1 and the host's name, for servers and clients; DIR/ca.crt is the
# CA to trust. Needs openssl. Not for production: the CA key stays in DIR/ca.key.
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR [NAME...]}
shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(master agent marathon batch client)
mkdir -p "$dir"
cd "$dir"
if [ ! -f ca.key ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
		-subj "/CN=Agora local CA" -keyout ca.key -out ca.crt 2>/dev/null
fi
host=$(hostname)
for n in "${names[@]}"; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
		-keyout "$n.key" -out "$n.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' "$host" > "$n.ext"
	openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
		-extfile "$n.ext" -out "$n.crt" 2>/dev/null
	rm -f "$n.csr" "$n.ext"
	chmod 600 "$n.key"
	echo "$dir/$n.crt $dir/$n.key"
done
echo "CA: $dir/ca.crt"
