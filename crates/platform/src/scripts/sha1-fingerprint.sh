openssl x509 -in {{cert_dir}}/tls.crt -noout -fingerprint -sha1 | cut -d= -f2 > {{out}}
grep -Eq '^([0-9A-F]{2}:){19}[0-9A-F]{2}$' {{out}} || { echo "unexpected fingerprint: $(cat {{out}})" >&2; exit 1; }
