#!/bin/bash
# A test PKI made with the openssl command: one CA, host certificates, a CRL.  For the demo
# and the tests; not for production (keys without passphrases, a CA key on disk).
#
# usage: tools/mkpki.sh DIR [--key ec|ec384|rsa|ed25519] [--days N] NAME=IP[,DNS...] ...
#        tools/mkpki.sh DIR --revoke NAME      (adds NAME to DIR/crl.pem)
#        tools/mkpki.sh DIR --crl-days N       (reissues DIR/crl.pem valid N days; 0: expired)
#
# Makes DIR/ca.pem + ca.key (the CA), DIR/NAME.pem + NAME.key (mode 600) per host, with
# subject "CN=NAME, O=softsa test", SubjectAltName IP:IP and DNS:NAME (plus the DNS names
# given), keyUsage digitalSignature, and DIR/crl.pem (empty, valid 30 days).  The key type
# applies to the hosts made in that call (the CA is ECDSA P-256, or RSA with --key rsa on
# the first call).  Running it again adds hosts to the same CA.
set -eu
[ $# -ge 1 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
D=$1; shift
KEY=ec DAYS=365
mkdir -p "$D"
cd "$D"

newkey() { # newkey TYPE FILE
	case $1 in
	ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" 2>/dev/null ;;
	ec384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$2" 2>/dev/null ;;
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" 2>/dev/null ;;
	ed25519) openssl genpkey -algorithm ED25519 -out "$2" 2>/dev/null ;;
	*) echo "mkpki: unknown key type $1 (ec, ec384, rsa, ed25519)" >&2; exit 2 ;;
	esac
	chmod 600 "$2"
}

cat > ca.cnf <<'EOF'
[ca]
default_ca = softsa
[softsa]
dir = .
database = index.txt
crlnumber = crlnumber
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 30
[req]
distinguished_name = dn
prompt = no
[dn]
O = softsa test
CN = softsa test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
[ -f index.txt ] || : > index.txt
[ -f crlnumber ] || echo 01 > crlnumber

gencrl() { # gencrl DAYS
	if [ "$1" = 0 ]; then
		# An expired CRL: `openssl ca` takes no negative validity, so one second, then wait.
		openssl ca -config ca.cnf -gencrl -crlsec 1 -out crl.pem 2>/dev/null
		sleep 2
	else
		openssl ca -config ca.cnf -gencrl -crldays "$1" -out crl.pem 2>/dev/null
	fi
}

if [ ! -f ca.pem ]; then
	[ "${1:-}" = --key ] && [ "${2:-}" = rsa ] && CAKEY=rsa || CAKEY=ec
	newkey $CAKEY ca.key
	openssl req -x509 -new -key ca.key -config ca.cnf -extensions v3_ca -days 3650 -out ca.pem 2>/dev/null
	gencrl 30
fi

while [ $# -gt 0 ]; do
	case $1 in
	--key) KEY=$2; shift 2; continue ;;
	--days) DAYS=$2; shift 2; continue ;;
	--revoke) openssl ca -config ca.cnf -revoke "$2.pem" 2>/dev/null; gencrl 30; shift 2; continue ;;
	--crl-days) gencrl "$2"; shift 2; continue ;;
	esac
	name=${1%%=*} rest=${1#*=}
	ip=${rest%%,*}
	san="IP:$ip,DNS:$name"
	[ "$rest" != "$ip" ] && for dns in $(echo "${rest#*,}" | tr , ' '); do san="$san,DNS:$dns"; done
	newkey "$KEY" "$name.key"
	cat > "$name.ext" <<EOF
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	openssl req -new -key "$name.key" -subj "/O=softsa test/CN=$name" -out "$name.csr" 2>/dev/null
	openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$DAYS" \
		-extfile "$name.ext" -out "$name.pem" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
	# `openssl ca -revoke` needs the certificate in its database: enter it as valid.
	serial=$(openssl x509 -in "$name.pem" -noout -serial | cut -d= -f2)
	end=$(openssl x509 -in "$name.pem" -noout -enddate | cut -d= -f2)
	endz=$(date -u -d "$end" +%y%m%d%H%M%SZ)
	printf 'V\t%s\t\t%s\tunknown\t/O=softsa test/CN=%s\n' "$endz" "$serial" "$name" >> index.txt
	shift
done
