keytool -importkeystore -noprompt -srckeystore "$JAVA_HOME/lib/security/cacerts" -srcstorepass changeit -destkeystore {{store}} -deststoretype JKS -deststorepass changeit
i=0
for bundle in {{ca_dir}}/{{service_ca}} {{ca_dir}}/{{object_store_ca}}; do
  out=
  while IFS= read -r line; do
    case "$line" in *"BEGIN CERTIFICATE"*) i=$((i+1)); out={{scratch}}/ca-$i.pem; : > "$out";; esac
    if [ -n "$out" ]; then printf '%s\n' "$line" >> "$out"; fi
  done < "$bundle"
done
for f in {{scratch}}/ca-*.pem; do
  keytool -importcert -noprompt -alias "platform-${f##*/}" -file "$f" -keystore {{store}} -storepass changeit
  rm -f "$f"
done
