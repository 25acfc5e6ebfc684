package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
)

func TestMergeOpenAPI(t *testing.T) {
	base := `{"openapi":"3.1.0","paths":{"/a":{"get":{}}},"components":{"schemas":{"A":{"type":"string"}}}}`
	cases := []struct {
		name    string
		frags   map[string]string
		wantErr string
		paths   []string
		schemas []string
	}{
		{"no fragments", nil, "", []string{"/a"}, []string{"A"}},
		{"adds paths and schemas", map[string]string{"paths-b.json": `{"paths":{"/b":{"post":{}}},"components":{"schemas":{"B":{}},"responses":{"R":{}}}}`},
			"", []string{"/a", "/b"}, []string{"A", "B"}},
		{"duplicate path", map[string]string{"paths-b.json": `{"paths":{"/a":{"post":{}}}}`}, `paths "/a" is already defined`, nil, nil},
		{"duplicate schema", map[string]string{"paths-b.json": `{"components":{"schemas":{"A":{}}}}`}, `schemas "A" is already defined`, nil, nil},
		{"stray key", map[string]string{"paths-b.json": `{"info":{}}`}, `unexpected top-level key "info"`, nil, nil},
		{"bad json", map[string]string{"paths-b.json": `{`}, "paths-b.json", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{"openapi/openapi.json": {Data: []byte(base)}}
			for n, d := range c.frags {
				fsys["openapi/"+n] = &fstest.MapFile{Data: []byte(d)}
			}
			out, err := mergeOpenAPI(fsys, nil)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Paths      map[string]any `json:"paths"`
				Components struct {
					Schemas map[string]any `json:"schemas"`
				} `json:"components"`
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			for _, p := range c.paths {
				if _, ok := doc.Paths[p]; !ok {
					t.Errorf("path %s missing", p)
				}
			}
			if len(doc.Paths) != len(c.paths) || len(doc.Components.Schemas) != len(c.schemas) {
				t.Errorf("got %d paths, %d schemas; want %d, %d", len(doc.Paths), len(doc.Components.Schemas), len(c.paths), len(c.schemas))
			}
		})
	}
}
