set -eu
cat /etc/trino/serving-cert/tls.key /etc/trino/serving-cert/tls.crt > {{keystore}}
{{truststore}}