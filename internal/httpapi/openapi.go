package httpapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
)

// The OpenAPI document is kept as a base (openapi/openapi.json) plus fragments
// (openapi/paths-*.json), each holding "paths" and "components" of one part of
// the API. OpenAPI merges them; a path or component defined twice is an error.
//
//go:embed openapi/*.json
var openAPIFiles embed.FS

// OpenAPI returns the API's OpenAPI 3.1 document.
func OpenAPI() []byte {
	schemas, err := componentSchemas()
	if err != nil {
		panic(err) // the payload types are fixed at build time; tests catch this
	}
	b, err := mergeOpenAPI(openAPIFiles, schemas)
	if err != nil {
		panic(err) // the embedded files are fixed at build time; tests catch this
	}
	return b
}

// mergeOpenAPI merges the base document, the generated component schemas and
// the fragments.
func mergeOpenAPI(fsys fs.FS, schemas map[string]any) ([]byte, error) {
	baseRaw, err := fs.ReadFile(fsys, "openapi/openapi.json")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	var base map[string]any
	if err := json.Unmarshal(baseRaw, &base); err != nil {
		return nil, fmt.Errorf("openapi base: %w", err)
	}
	baseComps, _ := base["components"].(map[string]any)
	if baseComps == nil {
		baseComps = map[string]any{}
		base["components"] = baseComps
	}
	if err := mergeInto(baseComps, map[string]any{"schemas": schemas}, "schemas", "openapi_schemas.go"); err != nil {
		return nil, err
	}
	names, err := fs.Glob(fsys, "openapi/paths-*.json")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
		var frag map[string]any
		if err := json.Unmarshal(raw, &frag); err != nil {
			return nil, fmt.Errorf("openapi %s: %w", path.Base(name), err)
		}
		for key := range frag {
			if key != "paths" && key != "components" {
				return nil, fmt.Errorf("openapi %s: unexpected top-level key %q", path.Base(name), key)
			}
		}
		if err := mergeInto(base, frag, "paths", name); err != nil {
			return nil, err
		}
		comps, _ := frag["components"].(map[string]any)
		for kind := range comps {
			if err := mergeInto(baseComps, comps, kind, name); err != nil {
				return nil, err
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(base); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return buf.Bytes(), nil
}

// mergeInto adds src[key]'s entries to dst[key], refusing duplicates.
func mergeInto(dst, src map[string]any, key, file string) error {
	add, _ := src[key].(map[string]any)
	if len(add) == 0 {
		return nil
	}
	into, _ := dst[key].(map[string]any)
	if into == nil {
		into = map[string]any{}
		dst[key] = into
	}
	for k, v := range add {
		if _, dup := into[k]; dup {
			return fmt.Errorf("openapi %s: %s %q is already defined", path.Base(file), key, k)
		}
		into[k] = v
	}
	return nil
}
