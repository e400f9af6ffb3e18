package jobs

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// CheckOutput reports whether output can be stored and answered as JSON. It returns nil, or
// an EINVALID *Error whose message names the first output argument that cannot be (JSON has
// no infinities or NaN, and a Go channel or function has no JSON form at all). Stores call
// it before recording a result, so an output is never half-stored or silently dropped.
func CheckOutput(output map[string]any) error {
	unsure := false
	for _, name := range sortedKeys(output) {
		problem, other := unencodable(output[name])
		if problem != "" {
			return Errorf(EINVALID, "output argument %q cannot be written as JSON: %s", name, problem)
		}
		unsure = unsure || other
	}
	if !unsure {
		return nil // only JSON's own kinds of value: encoding cannot fail
	}
	if _, err := json.Marshal(output); err != nil { // a Go type the walk above does not know
		return Errorf(EINVALID, "the output cannot be written as JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// unencodable describes why v (or something inside it) has no JSON form, or returns "".
// other is true when v holds a Go type other than those encoding/json decodes into (a
// struct, a typed slice), which only encoding it can vouch for.
func unencodable(v any) (problem string, other bool) {
	switch x := v.(type) {
	case nil, string, bool, json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "", false
	case float64:
		return nonFinite(x), false
	case float32:
		return nonFinite(float64(x)), false
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, o := unencodable(x[k])
			if p != "" {
				return fmt.Sprintf("member %q %s", k, p), false
			}
			other = other || o
		}
		return "", other
	case []any:
		for i, e := range x {
			p, o := unencodable(e)
			if p != "" {
				return fmt.Sprintf("item %d %s", i, p), false
			}
			other = other || o
		}
		return "", other
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return "it is not a JSON value", false
	}
	return "", true
}

// nonFinite describes an infinite or NaN number, or returns "" for a finite one.
func nonFinite(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "it is +Infinity, which JSON cannot hold"
	case math.IsInf(f, -1):
		return "it is -Infinity, which JSON cannot hold"
	case math.IsNaN(f):
		return "it is NaN (not a number), which JSON cannot hold"
	}
	return ""
}
