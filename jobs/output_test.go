package jobs

import (
	"math"
	"strings"
	"testing"
)

func TestCheckOutput_NamesTheArgumentJSONCannotHold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		givenOut   map[string]any
		expectText string // "" = accepted
	}{
		{name: "finite numbers", givenOut: map[string]any{"Result": 1e308, "n": int64(3)}},
		{name: "nil output", givenOut: nil},
		{name: "+Inf", givenOut: map[string]any{"Result": math.Inf(1)}, expectText: `output argument "Result" cannot be written as JSON: it is +Infinity`},
		{name: "-Inf float32", givenOut: map[string]any{"r": float32(math.Inf(-1))}, expectText: `"r" cannot be written as JSON: it is -Infinity`},
		{name: "NaN deep inside", givenOut: map[string]any{"a": map[string]any{"b": []any{1.0, math.NaN()}}}, expectText: `"a" cannot be written as JSON: member "b" item 1 it is NaN`},
		{name: "a channel", givenOut: map[string]any{"c": make(chan int)}, expectText: `"c" cannot be written as JSON: it is not a JSON value`},
		{name: "a typed slice of Inf (found by encoding)", givenOut: map[string]any{"xs": []float64{math.Inf(1)}}, expectText: "the output cannot be written as JSON: unsupported value: +Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckOutput(tt.givenOut)
			if tt.expectText == "" {
				if err != nil {
					t.Fatalf("CheckOutput = %v, want nil", err)
				}
				return
			}
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.expectText) {
				t.Fatalf("CheckOutput = %v (%s), want EINVALID containing %q", err, ErrorCode(err), tt.expectText)
			}
		})
	}
}
