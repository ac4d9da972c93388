package route

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/guichet/guichet/"

// TestProblemsHoldEveryCodeTheCodeAnswers collects, from the source, the
// problem codes reachable from each operation's handler (the constructors
// of shared/problem called with a constant code, and store.ErrConflict or
// a store.Conflict, which answer 409 conflict,
// through every function and method the handler refers to) and checks
// that the operation's entry in problems lists exactly them. Codes built
// at run time (invitation_<state>) are declared by hand.
func TestProblemsHoldEveryCodeTheCodeAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the feature packages")
	}
	found := collect(t)
	if len(found) < 50 {
		t.Fatalf("only %d operations found", len(found))
	}
	for _, rt := range All() {
		if rt.Page {
			continue
		}
		codes, ok := found[string(rt.Operation)]
		if !ok && rt.Operation != "openapi" { // served by the pages' Serve
			t.Errorf("no handler found for %s", rt.Operation)
		}
		op := string(rt.Operation)
		for _, code := range codes {
			if !slices.Contains(problems[op], code) {
				t.Errorf("%s may answer %s (%d), which problems does not list", op, code, ProblemStatus(code))
			}
		}
		for _, code := range problems[op] {
			if !slices.Contains(codes, code) && !strings.HasPrefix(code, "invitation_") {
				t.Errorf("problems lists %s for %s, which its code does not answer", code, op)
			}
		}
	}
}

type goPackage struct {
	ImportPath, Dir, Export string
	GoFiles                 []string
}

type analysis struct {
	fset  *token.FileSet
	decls map[string]*ast.FuncDecl // by types.Func.FullName
	infos map[string]*types.Info
	memo  map[string][]string
}

func collect(t *testing.T) map[string][]string {
	cmd := exec.Command("go", "list", "-export", "-deps", "-json", "./shared/...")
	cmd.Dir = "../.."
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	exports := map[string]string{}
	var ours []goPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if strings.HasPrefix(p.ImportPath, module+"shared/") {
			ours = append(ours, p)
		}
	}
	a := &analysis{fset: token.NewFileSet(), decls: map[string]*ast.FuncDecl{}, infos: map[string]*types.Info{}, memo: map[string][]string{}}
	imp := importer.ForCompiler(a.fset, "gc", func(path string) (io.ReadCloser, error) { return os.Open(exports[path]) })
	type checked struct {
		files []*ast.File
		info  *types.Info
	}
	var pkgs []checked
	for _, p := range ours {
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(a.fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}}
		if _, err := (&types.Config{Importer: imp}).Check(p.ImportPath, a.fset, files, info); err != nil {
			t.Fatalf("%s: %v", p.ImportPath, err)
		}
		for _, f := range files {
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
					if fn, ok := info.Defs[fd.Name].(*types.Func); ok {
						a.decls[fn.FullName()], a.infos[fn.FullName()] = fd, info
					}
				}
			}
		}
		pkgs = append(pkgs, checked{files, info})
	}
	found := map[string][]string{}
	for _, p := range pkgs {
		for _, f := range p.files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Recv == nil || fd.Body == nil || !strings.HasSuffix(fd.Name.Name, "Operations") {
					continue
				}
				locals := localFuncs(p.info, fd.Body)
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					var key, value ast.Expr
					switch n := n.(type) {
					case *ast.KeyValueExpr: // "name": {Handle: …}
						key, value = n.Key, n.Value
					case *ast.AssignStmt: // ops["name"] = s.op()
						if ix, ok := n.Lhs[0].(*ast.IndexExpr); ok && len(n.Rhs) == 1 {
							key, value = ix.Index, n.Rhs[0]
						}
					}
					tv := p.info.Types[key]
					if key == nil || tv.Value == nil || tv.Value.Kind() != constant.String {
						return true
					}
					op := constant.StringVal(tv.Value)
					seen := map[string]bool{}
					codes := map[string]bool{}
					a.walk(p.info, value, locals, seen, codes)
					for c := range codes {
						found[op] = append(found[op], c)
					}
					if _, ok := found[op]; !ok {
						found[op] = nil
					}
					return false
				})
			}
		}
	}
	return found
}

// localFuncs maps the local variables of body to the expressions they are
// set to (decode := func…): a handler that uses one reaches its code.
func localFuncs(info *types.Info, body ast.Node) map[*types.Var]ast.Expr {
	out := map[*types.Var]ast.Expr{}
	ast.Inspect(body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
			for i, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					if v, ok := info.Defs[id].(*types.Var); ok {
						out[v] = as.Rhs[i]
					}
				}
			}
		}
		return true
	})
	return out
}

// walk adds to codes the problem codes node answers, following the
// functions it refers to (called or passed) and the local functions it uses.
func (a *analysis) walk(info *types.Info, node ast.Node, locals map[*types.Var]ast.Expr, seen map[string]bool, codes map[string]bool) {
	ast.Inspect(node, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if code := problemCode(info, n); code != "" {
				codes[code] = true
			}
		case *ast.CompositeLit: // &store.Conflict{…}, a lost condition
			if named, ok := info.Types[n].Type.(*types.Named); ok && named.Obj().Pkg() != nil &&
				named.Obj().Pkg().Path() == module+"shared/store" && named.Obj().Name() == "Conflict" {
				codes["conflict"] = true
			}
		case *ast.Ident:
			switch o := info.Uses[n].(type) {
			case *types.Func:
				name := o.Origin().FullName() // a generic function's declaration
				// The router's own codes (authentication, decoding a body or a
				// query) are the description builder's to add, from the
				// route and its operation's input.
				if seen[name] || strings.HasPrefix(name, module+"shared/problem.") ||
					strings.Contains(name, module+"shared/router.") {
					return true
				}
				seen[name] = true
				if d, ok := a.decls[name]; ok {
					a.walk(a.infos[name], d.Body, localFuncs(a.infos[name], d.Body), seen, codes)
				}
			case *types.Var:
				if o.Pkg() != nil && o.Pkg().Path() == module+"shared/store" && o.Name() == "ErrConflict" {
					codes["conflict"] = true
				}
				if e, ok := locals[o]; ok && !seen[o.Id()+n.Name] {
					seen[o.Id()+n.Name] = true
					a.walk(info, e, locals, seen, codes)
				}
			}
		}
		return true
	})
}

// problemCode is the code of a call to a constructor of shared/problem
// with a constant code, or "".
func problemCode(info *types.Info, call *ast.CallExpr) string {
	var id *ast.Ident
	switch f := call.Fun.(type) {
	case *ast.SelectorExpr:
		id = f.Sel
	case *ast.Ident:
		id = f
	}
	fn, ok := info.Uses[id].(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Pkg().Path() != module+"shared/problem" {
		return ""
	}
	arg := func(i int) string {
		if i >= len(call.Args) {
			return ""
		}
		if tv := info.Types[call.Args[i]]; tv.Value != nil && tv.Value.Kind() == constant.String {
			return constant.StringVal(tv.Value)
		}
		return ""
	}
	switch fn.Name() {
	case "New":
		return arg(1)
	case "BadRequest", "Unauthorized", "Conflict", "TooManyRequests":
		return arg(0)
	case "Forbidden":
		return "forbidden"
	case "NotFound":
		return "not_found"
	case "Invalid":
		return "validation_failed"
	}
	return "" // Internal and Unavailable: every route's
}
