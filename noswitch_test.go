package kiln_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/layers"
)

// TestNoSwitchOverLayerTypes keeps knowledge of layer types in the layer
// registry (layers.Register) and the exporters' own registries: the root
// package, config and export/onnx may not switch on, assert to or compare
// with a concrete layer type or a layer class name. Capabilities are
// interfaces (layers.View, layers.BytesReader, layers.Activated, ...).
// The exporter's per-type functions (export/onnx's register calls) take a
// concrete type as a parameter, which is allowed.
//
// Catches: re-adding `case *layers.Flatten:` to evaluate.go, or
// `case "Dense":` to config/build.go.
func TestNoSwitchOverLayerTypes(t *testing.T) {
	concrete := layerStructTypes(t)
	classes := layers.Classes()
	var bad []string
	for _, dir := range []string{".", "config", "export/onnx"} {
		fset := token.NewFileSet()
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			report := func(n ast.Node, what string) {
				bad = append(bad, fset.Position(n.Pos()).String()+": "+what)
			}
			concreteType := func(e ast.Expr) (string, bool) {
				if s, ok := e.(*ast.StarExpr); ok {
					e = s.X
				}
				sel, ok := e.(*ast.SelectorExpr)
				if !ok {
					return "", false
				}
				if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "layers" || !concrete[sel.Sel.Name] {
					return "", false
				}
				return "layers." + sel.Sel.Name, true
			}
			className := func(e ast.Expr) (string, bool) {
				lit, ok := e.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return "", false
				}
				s, err := strconv.Unquote(lit.Value)
				return s, err == nil && slices.Contains(classes, s)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.TypeAssertExpr:
					if name, ok := concreteType(x.Type); ok {
						report(x, "type assertion to "+name)
					}
				case *ast.CaseClause:
					for _, e := range x.List {
						if name, ok := concreteType(e); ok {
							report(e, "case "+name)
						}
						if name, ok := className(e); ok {
							report(e, "case "+strconv.Quote(name))
						}
					}
				case *ast.BinaryExpr:
					if x.Op == token.EQL || x.Op == token.NEQ {
						for _, e := range []ast.Expr{x.X, x.Y} {
							if name, ok := className(e); ok {
								report(e, "comparison with "+strconv.Quote(name))
							}
						}
					}
				}
				return true
			})
		}
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// layerStructTypes returns the names of the layers package's exported
// non-interface types.
func layerStructTypes(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "layers", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.TYPE {
					continue
				}
				for _, s := range g.Specs {
					ts := s.(*ast.TypeSpec)
					if _, isIface := ts.Type.(*ast.InterfaceType); !isIface && ts.Name.IsExported() {
						names[ts.Name.Name] = true
					}
				}
			}
		}
	}
	// Input is not a layer but the model's input declaration, which
	// Sequential and the experiment reader do look for.
	delete(names, "Input")
	if !names["Dense"] || names["Layer"] {
		t.Fatalf("reading the layers package found %d types; want Dense and no interfaces", len(names))
	}
	return names
}
