package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/onboard-dev/onboard/internal/domain"
)

// The tests here hold openapi.json to the code: every route is documented and
// every documented operation is routed, the document is internally consistent,
// and what the handlers really answer (where that needs no database) matches
// the documented responses.

// newTestServer returns a Server without flows: fine for the route table and
// for every answer given before a flow is called.
func newTestServer(db Pinger) *Server {
	return New(nil, nil, db, slog.New(slog.DiscardHandler), Config{})
}

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

// spec is the parsed OpenAPI document.
type spec struct{ root map[string]any }

func loadSpec(t *testing.T) spec {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(OpenAPI()))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("openapi.json is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("openapi.json has data after the document (err %v)", err)
	}
	return spec{root}
}

// lookup follows a JSON pointer ("#/a/b" or "/a/b").
func (s spec) lookup(ptr string) (any, bool) {
	ptr = strings.TrimPrefix(ptr, "#")
	var node any = s.root
	if ptr == "" {
		return node, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, false
			}
			node = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, false
			}
			node = n[i]
		default:
			return nil, false
		}
	}
	return node, true
}

// deref follows $ref until it reaches an object without one.
func (s spec) deref(node any) (map[string]any, error) {
	for range 10 {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%v is not an object", node)
		}
		ref, ok := m["$ref"]
		if !ok {
			return m, nil
		}
		r, _ := ref.(string)
		target, ok := s.lookup(r)
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", r)
		}
		node = target
	}
	return nil, errors.New("$ref chain longer than 10")
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// operation is one method of one path of the document.
type operation struct {
	method string // upper case, as in the route table
	path   string
	item   map[string]any // the path item, for path-level parameters
	op     map[string]any
}

func (o operation) String() string { return o.method + " " + o.path }

var pathItemFields = map[string]bool{"$ref": true, "summary": true, "description": true, "servers": true, "parameters": true}

func (s spec) operations(t *testing.T) []operation {
	t.Helper()
	paths := obj(s.root["paths"])
	if len(paths) == 0 {
		t.Fatal("the document has no paths")
	}
	var ops []operation
	for _, p := range sortedKeys(paths) {
		item := obj(paths[p])
		if item == nil {
			t.Errorf("path %s is not an object", p)
			continue
		}
		for _, k := range sortedKeys(item) {
			switch k {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				op := obj(item[k])
				if op == nil {
					t.Errorf("%s %s is not an object", strings.ToUpper(k), p)
					continue
				}
				ops = append(ops, operation{method: strings.ToUpper(k), path: p, item: item, op: op})
			default:
				if !pathItemFields[k] {
					t.Errorf("path %s has %q, which is neither an HTTP method nor a path item field", p, k)
				}
			}
		}
	}
	return ops
}

// routePath turns a ServeMux pattern path into an OpenAPI path template.
func routePath(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	return strings.ReplaceAll(pattern, "...}", "}")
}

func TestOpenAPIDocumentBasics(t *testing.T) {
	dups, err := duplicateKeys(OpenAPI())
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if len(dups) > 0 {
		t.Errorf("openapi.json repeats keys (JSON decoders keep only the last): %v", dups)
	}
	s := loadSpec(t)
	for _, tc := range []struct {
		ptr  string
		want any
	}{
		{"/openapi", "3.1.0"},
		{"/info/title", "onboard API"},
		{"/info/version", "1.0.0"},
		{"/servers/0/url", "/"},
		{"/components/securitySchemes/bearerAuth/type", "http"},
		{"/components/securitySchemes/bearerAuth/scheme", "bearer"},
	} {
		got, ok := s.lookup(tc.ptr)
		if !ok {
			t.Errorf("%s is missing", tc.ptr)
		} else if got != tc.want {
			t.Errorf("%s = %v, want %v", tc.ptr, got, tc.want)
		}
	}
	if d, _ := s.lookup("/info/description"); d == nil || d == "" {
		t.Error("/info/description is missing")
	}
}

// duplicateKeys lists the JSON pointers of object keys that occur twice.
func duplicateKeys(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var dups []string
	var value func(at string) error
	value = func(at string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				if seen[k] {
					dups = append(dups, at+"/"+k)
				}
				seen[k] = true
				if err := value(at + "/" + k); err != nil {
					return err
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := value(at + "/" + strconv.Itoa(i)); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	return dups, value("")
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := loadSpec(t)
	routed := map[string]bool{}
	for _, r := range newTestServer(nil).Routes() {
		method, pattern := r[0], r[1]
		if method == "" || !strings.HasPrefix(pattern, "/") {
			t.Errorf("route %q %q has no method or a host: it cannot be described as an OpenAPI operation", method, pattern)
			continue
		}
		routed[method+" "+routePath(pattern)] = true
	}
	if len(routed) == 0 {
		t.Fatal("the server has no routes")
	}
	documented := map[string]bool{}
	for _, o := range s.operations(t) {
		documented[o.String()] = true
	}
	for _, r := range sortedKeys(routed) {
		if !documented[r] {
			t.Errorf("route %s is not documented in openapi.json", r)
		}
	}
	for _, d := range sortedKeys(documented) {
		if !routed[d] {
			t.Errorf("openapi.json documents %s, which is not routed", d)
		}
	}
}

var (
	statusKey  = regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)
	pathParam  = regexp.MustCompile(`\{([^{}]+)\}`)
	problemRef = "#/components/schemas/Problem"
)

// isError reports whether a response key is a 4xx or 5xx status.
func isError(status string) bool { return status[0] == '4' || status[0] == '5' }

func TestOpenAPIOperations(t *testing.T) {
	s := loadSpec(t)
	schemes := obj(obj(s.root["components"])["securitySchemes"])
	ids := map[string]string{}
	for _, o := range s.operations(t) {
		t.Run(o.String(), func(t *testing.T) {
			id, _ := o.op["operationId"].(string)
			if id == "" {
				t.Error("no operationId")
			} else if prev, dup := ids[id]; dup {
				t.Errorf("operationId %q is also used by %s", id, prev)
			} else {
				ids[id] = o.String()
			}
			for _, k := range []string{"summary", "description"} {
				if v, _ := o.op[k].(string); strings.TrimSpace(v) == "" {
					t.Errorf("no %s", k)
				}
			}

			// Path parameters: each {name} of the template is declared as a
			// required path parameter, and nothing else is.
			inTemplate := map[string]bool{}
			for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
				inTemplate[m[1]] = true
			}
			declared := map[string]bool{}
			params, _ := o.item["parameters"].([]any)
			opParams, _ := o.op["parameters"].([]any)
			for _, p := range append(slices.Clone(params), opParams...) {
				pm, err := s.deref(p)
				if err != nil {
					t.Errorf("parameter: %v", err)
					continue
				}
				if pm["in"] != "path" {
					continue
				}
				name, _ := pm["name"].(string)
				declared[name] = true
				if pm["required"] != true {
					t.Errorf("path parameter %q is not required: true", name)
				}
				if pm["schema"] == nil {
					t.Errorf("path parameter %q has no schema", name)
				}
			}
			if !maps.Equal(inTemplate, declared) {
				t.Errorf("path parameters declared %v, template has %v", sortedKeys(declared), sortedKeys(inTemplate))
			}

			responses := obj(o.op["responses"])
			if len(responses) == 0 {
				t.Fatal("no responses")
			}
			for _, status := range sortedKeys(responses) {
				if !statusKey.MatchString(status) {
					t.Errorf("response key %q is not a status code", status)
					continue
				}
				r, err := s.deref(responses[status])
				if err != nil {
					t.Errorf("response %s: %v", status, err)
					continue
				}
				if d, _ := r["description"].(string); d == "" {
					t.Errorf("response %s has no description", status)
				}
				content := obj(r["content"])
				switch {
				case isError(status):
					media := obj(content["application/problem+json"])
					if len(content) != 1 || media == nil {
						t.Errorf("error response %s has content %v, want only application/problem+json", status, sortedKeys(content))
					} else if ref := obj(media["schema"])["$ref"]; ref != problemRef {
						t.Errorf("error response %s has schema %v, want $ref %s", status, media["schema"], problemRef)
					}
				case status == "204" || status == "304":
					if len(content) != 0 {
						t.Errorf("response %s has content %v; it has no body", status, sortedKeys(content))
					}
				default:
					if media := obj(content["application/json"]); media == nil || media["schema"] == nil {
						t.Errorf("response %s has no application/json schema", status)
					}
				}
			}

			var sec []any
			if v, ok := o.op["security"]; ok {
				sec, _ = v.([]any)
			} else {
				sec, _ = s.root["security"].([]any)
			}
			for _, req := range sec {
				for name := range obj(req) {
					if schemes[name] == nil {
						t.Errorf("security scheme %q is not in components.securitySchemes", name)
					}
				}
			}

			// What the code answers regardless of the operation: the body
			// decoder's errors, authentication failures, rate limits.
			var need []string
			if rb := o.op["requestBody"]; rb != nil {
				need = append(need, "400", "413", "415", "422")
				body, err := s.deref(rb)
				if err != nil {
					t.Fatalf("requestBody: %v", err)
				}
				if body["required"] != true {
					t.Error("requestBody is not required: true")
				}
				content := obj(body["content"])
				media := obj(content["application/json"])
				if media == nil && binaryUpload(content) {
					// an image upload: the body is the file, not a JSON object
				} else if len(content) != 1 || media == nil {
					t.Fatalf("requestBody has content %v, want only application/json", sortedKeys(content))
				} else {
					schema, err := s.deref(media["schema"])
					if err != nil {
						t.Fatalf("requestBody schema: %v", err)
					}
					if schema["type"] != "object" || schema["additionalProperties"] != false {
						t.Errorf("requestBody schema has type %v, additionalProperties %v; the decoder takes one object without unknown fields (type: object, additionalProperties: false)",
							schema["type"], schema["additionalProperties"])
					}
					if media["example"] == nil && len(obj(media["examples"])) == 0 {
						t.Error("requestBody has no example")
					}
				}
			}
			if len(sec) > 0 {
				need = append(need, "401")
			}
			for _, status := range need {
				if responses[status] == nil {
					t.Errorf("no %s response", status)
				}
			}
			for status, header := range map[string]string{"401": "WWW-Authenticate", "429": "Retry-After"} {
				if responses[status] == nil {
					continue
				}
				if r, err := s.deref(responses[status]); err == nil && obj(r["headers"])[header] == nil {
					t.Errorf("response %s does not document the %s header", status, header)
				}
			}
		})
	}
}

// walk calls fn for every node of the document with its JSON pointer.
func walk(node any, at string, fn func(at string, node any)) {
	fn(at, node)
	switch n := node.(type) {
	case map[string]any:
		for _, k := range sortedKeys(n) {
			walk(n[k], at+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), fn)
		}
	case []any:
		for i, v := range n {
			walk(v, at+"/"+strconv.Itoa(i), fn)
		}
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	s := loadSpec(t)
	refs := 0
	walk(s.root, "#", func(at string, node any) {
		ref, ok := obj(node)["$ref"]
		if !ok {
			return
		}
		refs++
		r, _ := ref.(string)
		if !strings.HasPrefix(r, "#/components/") {
			t.Errorf("%s: $ref %q does not point into #/components/", at, ref)
		} else if target, ok := s.lookup(r); !ok || obj(target) == nil {
			t.Errorf("%s: $ref %q does not resolve to a component", at, r)
		}
	})
	if refs == 0 {
		t.Error("the document has no $ref; components are unused")
	}
}

// schemaChecker validates JSON values against schemas of the OpenAPI
// document with libopenapi-validator (JSON Schema 2020-12, as OpenAPI 3.1
// has it). A schema is checked inside a copy of the document's components,
// so its $refs resolve.
type schemaChecker struct{ s spec }

// schemaValidators caches one compiled schema per distinct schema text.
var schemaValidators sync.Map // string -> *base.Schema

// check validates v against schema (a node of the document, inline or a
// $ref) and returns what is wrong, each prefixed with at.
func (c schemaChecker) check(schema, v any, at string) []string {
	key, err := json.Marshal(schema)
	if err != nil {
		return []string{fmt.Sprintf("%s: schema: %v", at, err)}
	}
	compiled, ok := schemaValidators.Load(string(key))
	if !ok {
		s, err := c.compile(schema)
		if err != nil {
			return []string{fmt.Sprintf("%s: schema: %v", at, err)}
		}
		compiled, _ = schemaValidators.LoadOrStore(string(key), s)
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return []string{fmt.Sprintf("%s: value: %v", at, err)}
	}
	valid, verrs := schema_validation.NewSchemaValidator(config.WithFormatAssertions()).ValidateSchemaBytes(compiled.(*base.Schema), payload)
	if valid {
		return nil
	}
	var errs []string
	for _, e := range verrs {
		if len(e.SchemaValidationErrors) == 0 {
			errs = append(errs, fmt.Sprintf("%s: %s: %s", at, e.Message, e.Reason))
		}
		for _, f := range e.SchemaValidationErrors {
			errs = append(errs, fmt.Sprintf("%s%s: %s", at, strings.TrimPrefix(f.FieldPath, "$"), f.Reason))
		}
	}
	return errs
}

// compile builds schema inside a document holding the spec's components.
func (c schemaChecker) compile(schema any) (*base.Schema, error) {
	comps := maps.Clone(obj(obj(c.s.root["components"])["schemas"]))
	comps["CheckedSchema"] = schema
	doc, err := json.Marshal(map[string]any{
		"openapi": "3.1.0", "info": map[string]any{"title": "check", "version": "1"},
		"components": map[string]any{"schemas": comps},
	})
	if err != nil {
		return nil, err
	}
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, err
	}
	m, err := d.BuildV3Model()
	if err != nil {
		return nil, err
	}
	proxy, ok := m.Model.Components.Schemas.Get("CheckedSchema")
	if !ok {
		return nil, fmt.Errorf("schema missing from the model")
	}
	s := proxy.Schema()
	if s == nil {
		return nil, proxy.GetBuildError()
	}
	return s, nil
}

// checkValue validates a value against the named component schema.
func (c schemaChecker) checkValue(t *testing.T, schemaName string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.check(map[string]any{"$ref": "#/components/schemas/" + schemaName}, decodeJSON(t, data), schemaName) {
		t.Error(e)
	}
}

func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, data)
	}
	return v
}

// TestSchemaCheckerRejects shows the checker can fail, so the tests built on
// it mean something.
func TestSchemaCheckerRejects(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	for _, tc := range []struct {
		name, schema, value, want string
	}{
		{"missing required", "Location", `{"id":"a","name":"Home"}`, `missing property 'created_at'`},
		{"undocumented member", "Location", `{"id":"a","name":"Home","created_at":"2026-01-02T03:04:05Z","x":1}`, `not allowed`},
		{"closed object", "StartSignupRequest", `{"email":"a@example.com","account_type":"customer_personal","x":""}`, `not allowed`},
		{"wrong type", "Health", `{"status":1}`, `want string`},
		{"enum", "Health", `{"status":"fine"}`, `value must be one of 'ok', 'ready'`},
		{"date-time", "Location", `{"id":"a","name":"Home","created_at":"yesterday"}`, `date-time`},
		{"nested", "Me", `{"user":{},"customer":{},"locations":[{}]}`, `Me.locations[0]: missing properties 'id'`},
		{"oneOf", "Registration", `{"customer":{},"user":{},"location":7,"status":"active"}`, `Registration.location: got number, want null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := c.check(map[string]any{"$ref": "#/components/schemas/" + tc.schema}, decodeJSON(t, []byte(tc.value)), tc.schema)
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.want) }) {
				t.Errorf("errors %q, want one containing %q", errs, tc.want)
			}
		})
	}
}

// TestOpenAPIExamplesMatchSchemas checks every example against its schema:
// media type, parameter and header examples, and schema "examples" arrays.
func TestOpenAPIExamplesMatchSchemas(t *testing.T) {
	s := loadSpec(t)
	c := schemaChecker{s}
	checked := 0
	checkAll := func(at string, schema any, examples []any) {
		for i, ex := range examples {
			checked++
			for _, e := range c.check(schema, ex, fmt.Sprintf("%s example %d", at, i)) {
				t.Error(e)
			}
		}
	}
	var schemas func(at string, schema any)
	schemas = func(at string, schema any) {
		sm := obj(schema)
		if sm == nil {
			return
		}
		if ex, ok := sm["examples"].([]any); ok {
			checkAll(at, sm, ex)
		}
		for name, p := range obj(sm["properties"]) {
			schemas(at+"/properties/"+name, p)
		}
		for _, k := range []string{"items", "additionalProperties"} {
			schemas(at+"/"+k, sm[k])
		}
		for _, k := range []string{"oneOf", "anyOf", "allOf"} {
			subs, _ := sm[k].([]any)
			for i, sub := range subs {
				schemas(fmt.Sprintf("%s/%s/%d", at, k, i), sub)
			}
		}
	}
	for name, sc := range obj(obj(s.root["components"])["schemas"]) {
		schemas("#/components/schemas/"+name, sc)
	}
	walk(s.root, "#", func(at string, node any) {
		m := obj(node)
		if m == nil || m["schema"] == nil {
			return
		}
		parts := strings.Split(at, "/")
		if len(parts) < 3 || !slices.Contains([]string{"content", "parameters", "headers"}, parts[len(parts)-2]) {
			return
		}
		// A media type, parameter or header object.
		schemas(at+"/schema", m["schema"])
		var examples []any
		if ex, ok := m["example"]; ok {
			examples = append(examples, ex)
		}
		named := obj(m["examples"])
		for _, name := range sortedKeys(named) {
			ex, err := s.deref(named[name])
			if err != nil {
				t.Errorf("%s/examples/%s: %v", at, name, err)
				continue
			}
			if _, ok := ex["value"]; !ok {
				t.Errorf("%s/examples/%s has no value", at, name)
			}
			examples = append(examples, ex["value"])
		}
		checkAll(at, m["schema"], examples)
	})
	if checked == 0 {
		t.Error("no examples were found")
	}
}

// TestOpenAPIViewsMatchSchemas checks the response views the handlers build
// against their schemas.
func TestOpenAPIViewsMatchSchemas(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	now := time.Date(2026, 3, 2, 9, 15, 4, 123456000, time.UTC)
	user := domain.User{ID: "u1", OrgID: "o1", AccountID: "a1", UserTypeID: "ut1", Email: "ada@example.com",
		FirstName: "Ada", LastName: "Lovelace", Properties: map[string]string{}, PasswordHash: "secret", Status: domain.StatusActive, CreatedAt: now}
	account := domain.Account{ID: "a1", OrgID: "o1", Kind: domain.KindCustomer, Type: domain.CustomerBusiness, Name: "Analytical Engines Ltd",
		Properties: map[string]string{"region": "eu"}, Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: now}
	for _, tc := range []struct {
		name, schema string
		view         any
	}{
		{"user without permissions", "User", userView(user, domain.UserType{Name: "customer_viewer"})},
		{"user", "User", userView(user, domain.UserType{Name: "customer_admin", Permissions: []string{domain.PermAccountAdmin}})},
		{"business customer", "Customer", accountView(account)},
		{"personal customer", "Customer", accountView(domain.Account{ID: "a2", Kind: domain.KindCustomer, Type: domain.CustomerPersonal, Name: "Ada Lovelace",
			Properties: map[string]string{}, Status: domain.StatusActive, CreatedAt: now})},
		{"location", "Location", locationView(domain.Location{ID: "l1", OrgID: "o1", AccountID: "a1", Name: "Home", CreatedAt: now})},
		{"problem", "Problem", Problem{Type: ProblemBase + "validation-error", Title: "Unprocessable Entity", Status: 422,
			Detail: "The request has invalid fields.", Errors: []domain.FieldError{{Field: "email", Message: "is required"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) { c.checkValue(t, tc.schema, tc.view) })
	}
}

// TestOpenAPIDocumentsAnswers sends requests that are answered before any
// flow runs and checks that each answer is documented: its status for the
// operation, its content type, its documented headers and its body schema.
func TestOpenAPIDocumentsAnswers(t *testing.T) {
	s := loadSpec(t)
	c := schemaChecker{s}
	ops := map[string]operation{}
	for _, o := range s.operations(t) {
		ops[o.String()] = o
	}
	const token = "mXo2rUeB6cQ3nX7Vd0JYtq5sH9aPz1kLwE4fG8bN2cA"
	tooBig := `{"email":"` + strings.Repeat("a", MaxBody) + `"}`
	for _, tc := range []struct {
		name, method, target, contentType, body, auth string
		db                                            Pinger
		want                                          int
	}{
		{name: "healthz", method: "GET", target: "/healthz", want: 200},
		{name: "readyz", method: "GET", target: "/readyz", db: pinger{}, want: 200},
		{name: "readyz without database", method: "GET", target: "/readyz", db: pinger{errors.New("down")}, want: 503},
		{name: "openapi", method: "GET", target: "/api/openapi.json", want: 200},
		{name: "me without token", method: "GET", target: "/api/v1/me", want: 401},
		{name: "me with basic auth", method: "GET", target: "/api/v1/me", auth: "Basic YTpi", want: 401},
		{name: "sign out without token", method: "DELETE", target: "/api/v1/sessions/current", want: 401},
		{name: "signup without content type", method: "POST", target: "/api/v1/signups", body: `{}`, want: 415},
		{name: "signup as text", method: "POST", target: "/api/v1/signups", contentType: "text/plain", body: `{}`, want: 415},
		{name: "signup not JSON", method: "POST", target: "/api/v1/signups", contentType: "application/json", body: `{"email":`, want: 400},
		{name: "signup unknown field", method: "POST", target: "/api/v1/signups", contentType: "application/json", body: `{"nickname":"ada"}`, want: 400},
		{name: "signup wrong type", method: "POST", target: "/api/v1/signups", contentType: "application/json", body: `{"email":5}`, want: 422},
		{name: "signup too large", method: "POST", target: "/api/v1/signups", contentType: "application/json", body: tooBig, want: 413},
		{name: "completion without content type", method: "POST", target: "/api/v1/signups/" + token, body: `{}`, want: 415},
		{name: "completion unknown field", method: "POST", target: "/api/v1/signups/" + token, contentType: "application/json", body: `{"email":"a@example.com"}`, want: 400},
		{name: "completion wrong type", method: "POST", target: "/api/v1/signups/" + token, contentType: "application/json", body: `{"accepted_agreements":"all"}`, want: 422},
		{name: "completion too large", method: "POST", target: "/api/v1/signups/" + token, contentType: "application/json", body: tooBig, want: 413},
		{name: "sign in with an array", method: "POST", target: "/api/v1/sessions", contentType: "application/json", body: `[]`, want: 400},
		{name: "sign in with two values", method: "POST", target: "/api/v1/sessions", contentType: "application/json", body: `{}{}`, want: 400},
		{name: "sign in without content type", method: "POST", target: "/api/v1/sessions", body: `{}`, want: 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(tc.db)
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			_, pattern := srv.mux.Handler(req)
			method, path, _ := strings.Cut(pattern, " ")
			o, ok := ops[method+" "+routePath(path)]
			if !ok {
				t.Fatalf("%s %s (route %q) is not documented", tc.method, tc.target, pattern)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.want, rec.Body)
			}
			doc := obj(o.op["responses"])[strconv.Itoa(rec.Code)]
			if doc == nil {
				t.Fatalf("%s does not document status %d", o, rec.Code)
			}
			r, err := s.deref(doc)
			if err != nil {
				t.Fatal(err)
			}
			for name := range obj(r["headers"]) {
				if rec.Header().Get(name) == "" {
					t.Errorf("documented header %s is missing", name)
				}
			}
			mt, _, err := mime.ParseMediaType(rec.Header().Get("Content-Type"))
			if err != nil {
				t.Fatalf("Content-Type %q: %v", rec.Header().Get("Content-Type"), err)
			}
			media := obj(obj(r["content"])[mt])
			if media == nil {
				t.Fatalf("content type %s is not documented for %d (documented: %v)", mt, rec.Code, sortedKeys(obj(r["content"])))
			}
			for _, e := range c.check(media["schema"], decodeJSON(t, rec.Body.Bytes()), "body") {
				t.Error(e)
			}
		})
	}
}

// TestOpenAPISecurityMatchesAuthentication asks every route without
// credentials: the routes that answer 401 are exactly those the document
// secures with a bearer scheme (bearerAuth for sessions, adminKey for the
// admin API).
func TestOpenAPISecurityMatchesAuthentication(t *testing.T) {
	s := loadSpec(t)
	schemes := obj(obj(s.root["components"])["securitySchemes"])
	bearerScheme := func(name string) bool {
		sc := obj(schemes[name])
		return sc["type"] == "http" && sc["scheme"] == "bearer"
	}
	secured := map[string]bool{}
	for _, o := range s.operations(t) {
		sec, ok := o.op["security"].([]any)
		if !ok {
			sec, _ = s.root["security"].([]any)
		}
		secured[o.String()] = slices.ContainsFunc(sec, func(req any) bool {
			for name := range obj(req) {
				if bearerScheme(name) {
					return true
				}
			}
			return false
		})
	}
	srv := newTestServer(pinger{})
	for _, r := range srv.Routes() {
		route := r[0] + " " + routePath(r[1])
		t.Run(route, func(t *testing.T) {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(r[0], pathParam.ReplaceAllString(routePath(r[1]), "x"), nil))
			switch authed := rec.Code == http.StatusUnauthorized; {
			case authed && !secured[route]:
				t.Error("answers 401 without credentials, but the document does not secure it with a bearer scheme")
			case !authed && secured[route]:
				t.Errorf("the document secures it with a bearer scheme, but it answers %d without credentials", rec.Code)
			}
		})
	}
}

func TestOpenAPIServed(t *testing.T) {
	rec := httptest.NewRecorder()
	newTestServer(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/api/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	ct := rec.Header().Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if len(OpenAPI()) == 0 || !bytes.Equal(rec.Body.Bytes(), OpenAPI()) {
		t.Errorf("served %d bytes that differ from the %d embedded bytes", rec.Body.Len(), len(OpenAPI()))
	}
}

// binaryUpload reports whether a request body takes only images (a logo
// upload), each described as a string of that media type.
func binaryUpload(content map[string]any) bool {
	if len(content) == 0 {
		return false
	}
	for mt, m := range content {
		schema := obj(obj(m)["schema"])
		if !strings.HasPrefix(mt, "image/") || schema["type"] != "string" || schema["contentMediaType"] != mt {
			return false
		}
	}
	return true
}
