package jsonbody

import (
	"strings"
	"testing"

	"github.com/jobgate/jobgate/jobs"
)

func TestCheck_RefusesInvalidUTF8AndDuplicateNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		givenBody  string
		expectText string // "" = accepted
	}{
		{name: "plain object", givenBody: `{"x": 1, "y": {"x": 2}, "z": [{"x": 3}, {"x": 4}]}`},
		{name: "same name in sibling objects", givenBody: `[{"a": 1}, {"a": 2}]`},
		{name: "a string value equal to a name", givenBody: `{"a": "a", "b": "a"}`},
		{name: "escaped non-ASCII", givenBody: `{"name": "caf\u00e9 \u00e9"}`},
		{name: "invalid UTF-8 in a value", givenBody: "{\"x\": \"\xff\"}", expectText: "the request body is not valid UTF-8 (at byte 7)"},
		{name: "invalid UTF-8 in a name", givenBody: "{\"\xc3\": 1}", expectText: "not valid UTF-8 (at byte 2)"},
		{name: "duplicate top-level name", givenBody: `{"x": 1, "x": 2}`, expectText: `the request body gives member "x" twice`},
		{name: "duplicate after a nested value", givenBody: `{"x": {"a": [1, {"b": 2}]}, "y": 1, "x": 3}`, expectText: `gives member "x" twice`},
		{name: "duplicate nested name", givenBody: `{"x": {"a": 1, "a": 2}}`, expectText: `gives member "a" twice (in an object nested 1 deep)`},
		{name: "broken JSON", givenBody: `{"x": }`, expectText: "is not valid JSON: invalid character '}' looking for beginning of value (at byte 6)"},
		{name: "truncated", givenBody: `{"x": 1`, expectText: "is not valid JSON: unexpected end of input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check([]byte(tt.givenBody), "the request body")
			if tt.expectText == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if jobs.ErrorCode(err) != jobs.EINVALID || !strings.Contains(jobs.ErrorMessage(err), tt.expectText) {
				t.Fatalf("Check = %v, want EINVALID containing %q", err, tt.expectText)
			}
		})
	}
}
