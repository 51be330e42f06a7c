#!/bin/sh
# Logs in to a Symphony pod the way a client not written in Go would: the JWT
# is built and signed with openssl (RS512, with "typ" and "iat" as well as
# "sub" and "exp"), and sent with curl.
#
# usage: openssl-login.sh POD_URL USERNAME PRIVATE_KEY.pem CA.pem EXP_SECONDS_AHEAD
set -eu
pod=$1 user=$2 key=$3 ca=$4 ahead=$5

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

now=$(date +%s)
header=$(printf '{"alg":"RS512","typ":"JWT"}' | b64url)
claims=$(printf '{"sub":"%s","iat":%d,"exp":%d}' "$user" "$now" "$((now + ahead))" | b64url)
signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha512 -sign "$key" -binary | b64url)

curl --silent --show-error --fail-with-body --cacert "$ca" \
	-H 'Content-Type: application/json' \
	-d "{\"token\":\"$header.$claims.$signature\"}" \
	"$pod/login/pubkey/authenticate"
