  mc mb --ignore-existing --with-versioning "dr/$b"
  if ! mc replicate ls "local/$b" --json 2>/dev/null | grep -qi enabled; then
    mc replicate add "local/$b" --remote-bucket "dr/$b" --replicate "delete,delete-marker,existing-objects" --priority 1
  fi
