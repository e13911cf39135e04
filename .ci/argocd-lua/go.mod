module datalyptica.io/ci/argocd-lua

go 1.24

// The gopher-lua release Argo CD pins (argoproj/argo-cd go.mod).
require github.com/yuin/gopher-lua v1.1.2
