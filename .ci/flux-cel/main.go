// flux-cel evaluates Flux healthCheckExprs the way kustomize-controller does
// (fluxcd/pkg runtime/cel: NewExpression without compiling, so the object's top-level fields
// are dynamic variables, and StatusEvaluator): an object whose status.observedGeneration
// differs from metadata.generation is InProgress; then inProgress, failed, current are tried
// in that order (RFC 0009); none true is InProgress. Input on stdin: a JSON array of
// {"current", "failed", "inProgress", "obj"}. Output: a JSON array of {"status", "error"}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

type job struct {
	Current    string         `json:"current"`
	Failed     string         `json:"failed"`
	InProgress string         `json:"inProgress"`
	Obj        map[string]any `json:"obj"`
}

type result struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// The environment of fluxcd/pkg runtime/cel NewExpression.
func program(expr string) (cel.Program, error) {
	env, err := cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	)
	if err != nil {
		return nil, err
	}
	ast, issues := env.Parse(expr)
	if issues != nil && issues.Err() != nil {
		return nil, fmt.Errorf("parse %q: %s", expr, issues.String())
	}
	return env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.InterruptCheckFrequency(100))
}

func int64At(m map[string]any, a, b string) (int64, bool) {
	inner, ok := m[a].(map[string]any)
	if !ok {
		return 0, false
	}
	f, ok := inner[b].(float64)
	if !ok || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

func run(j job) result {
	if og, ok := int64At(j.Obj, "status", "observedGeneration"); ok {
		if g, ok := int64At(j.Obj, "metadata", "generation"); ok && og != g {
			return result{Status: "InProgress"}
		}
	}
	for _, e := range []struct{ expr, status string }{
		{j.InProgress, "InProgress"}, {j.Failed, "Failed"}, {j.Current, "Current"},
	} {
		if e.expr == "" {
			continue
		}
		prg, err := program(e.expr)
		if err != nil {
			return result{Error: err.Error()}
		}
		val, _, err := prg.ContextEval(context.Background(), j.Obj)
		if err != nil {
			return result{Error: fmt.Sprintf("evaluate %q: %v", e.expr, err)}
		}
		b, ok := val.(types.Bool)
		if !ok {
			return result{Error: fmt.Sprintf("%q is not boolean", e.expr)}
		}
		if bool(b) {
			return result{Status: e.status}
		}
	}
	return result{Status: "InProgress"}
}

func main() {
	var jobs []job
	if err := json.NewDecoder(os.Stdin).Decode(&jobs); err != nil {
		fmt.Fprintln(os.Stderr, "flux-cel: reading jobs:", err)
		os.Exit(2)
	}
	out := make([]result, len(jobs))
	for i, j := range jobs {
		out[i] = run(j)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "flux-cel:", err)
		os.Exit(1)
	}
}
