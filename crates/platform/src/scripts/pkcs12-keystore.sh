set -eu
command -v openssl >/dev/null 2>&1 || { echo 'openssl is missing from image {{image}}: it builds the PKCS12 keystore from the serving certificate' >&2; exit 1; }
openssl pkcs12 -export -in {{cert_dir}}/tls.crt -inkey {{cert_dir}}/tls.key -name {{alias}} -out {{store_dir}}/{{file}} -passout {{passout}}
