package httpx

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/domain"
)

// domainCodes reads every constant of type Code declared in package domain,
// so that a code added there without a status here fails the test.
func domainCodes(t *testing.T) map[string]domain.Code {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "domain", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	codes := map[string]domain.Code{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
					continue
				}
				for i, n := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("domain.%s: want a string literal", n.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					codes[n.Name] = domain.Code(v)
				}
			}
		}
	}
	return codes
}

// TestEveryCodeHasAStatus: each error code of package domain, and each code
// of the HTTP layer, has its own entry in the one map.
func TestEveryCodeHasAStatus(t *testing.T) {
	codes := domainCodes(t)
	if len(codes) < 10 {
		t.Fatalf("found %d codes in package domain; the parser missed them", len(codes))
	}
	codes["CodeUnsupportedMedia"], codes["CodeTooLarge"] = CodeUnsupportedMedia, CodeTooLarge
	for name, code := range codes {
		if _, ok := statuses[code]; !ok {
			t.Errorf("%s (%q) has no HTTP status in the map", name, code)
		}
	}
	if len(statuses) != len(codes) {
		t.Errorf("the map has %d codes, the code declarations %d", len(statuses), len(codes))
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		code domain.Code
		want int
	}{
		{domain.EInvalid, http.StatusUnprocessableEntity},
		{domain.EBadRequest, http.StatusBadRequest},
		{domain.ENotFound, http.StatusNotFound},
		{domain.EGone, http.StatusGone},
		{domain.EConflict, http.StatusConflict},
		{domain.EUnauthorized, http.StatusUnauthorized},
		{domain.EForbidden, http.StatusForbidden},
		{domain.ERateLimited, http.StatusTooManyRequests},
		{domain.EUnavailable, http.StatusServiceUnavailable},
		{domain.EInternal, http.StatusInternalServerError},
		{CodeUnsupportedMedia, http.StatusUnsupportedMediaType},
		{CodeTooLarge, http.StatusRequestEntityTooLarge},
		{"no_such_code", http.StatusInternalServerError},
	} {
		if got := Status(tc.code); got != tc.want {
			t.Errorf("Status(%q) = %d, want %d", tc.code, got, tc.want)
		}
	}
}
