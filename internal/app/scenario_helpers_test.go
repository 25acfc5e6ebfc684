package app_test

import (
	"strings"
	"testing"
)

// scenario is a request that breaks one rule, and the answer it must get.
type scenario struct {
	name   string
	body   any
	status int
	field  string // the field the problem names; "" for none
}

// runScenarios sends each scenario's body with send, as a subtest, and checks
// the status and the field error of the problem.
func (e *env) runScenarios(t *testing.T, send func(body any) response, cases []scenario) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := send(c.body)
			expect(t, r, c.status)
			checkProblem(t, r, c.status, c.field)
		})
	}
	e.t = t
}

// changed returns a deep copy of body with one change: the value at path
// (keys joined by dots, e.g. "user.email") set to v, or removed when v is
// nil. Missing objects on the path are created.
func changed(body map[string]any, path string, v any) map[string]any {
	out := deepCopy(body).(map[string]any)
	m := out
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	last := keys[len(keys)-1]
	if v == nil {
		delete(m, last)
	} else {
		m[last] = v
	}
	return out
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}
