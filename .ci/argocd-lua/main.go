// argocd-lua runs Argo CD resource health scripts the way Argo CD does (util/lua/lua.go):
// gopher-lua with the standard libraries skipped except package, base and table, the object
// as the global `obj` (maps to tables, arrays to sequences, numbers to Lua numbers), a one
// second limit, and the returned table read as {status, message}; an unknown status becomes
// Unknown. Input on stdin: a JSON array of {"script": "...", "obj": {...}}. Output: a JSON
// array of {"status", "message", "error"}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
)

type job struct {
	Script string         `json:"script"`
	Obj    map[string]any `json:"obj"`
}

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func decode(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(decode(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetH(lua.LString(k), decode(l, item))
		}
		return t
	}
	return lua.LNil
}

var valid = map[string]bool{"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true}

func run(j job) result {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, p := range []struct {
		n string
		f lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(p.f), NRet: 0, Protect: true}, lua.LString(p.n)); err != nil {
			return result{Error: err.Error()}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", decode(l, j.Obj))
	if err := l.DoString(j.Script); err != nil {
		return result{Error: err.Error()}
	}
	ret := l.Get(-1)
	t, ok := ret.(*lua.LTable)
	if !ok {
		return result{Error: fmt.Sprintf("expect table output from Lua script, not %s", ret.Type())}
	}
	r := result{}
	if s, ok := t.RawGetString("status").(lua.LString); ok {
		r.Status = string(s)
	}
	if m, ok := t.RawGetString("message").(lua.LString); ok {
		r.Message = string(m)
	}
	if !valid[r.Status] {
		r = result{Status: "Unknown", Message: "Lua returned an invalid health status"}
	}
	return r
}

func main() {
	var jobs []job
	if err := json.NewDecoder(os.Stdin).Decode(&jobs); err != nil {
		fmt.Fprintln(os.Stderr, "argocd-lua: reading jobs:", err)
		os.Exit(2)
	}
	out := make([]result, len(jobs))
	for i, j := range jobs {
		out[i] = run(j)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "argocd-lua:", err)
		os.Exit(1)
	}
}
