package jobs

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// BindArguments merges the call's arguments over the trigger's, applies the process's
// defaults, and checks the result against the declared arguments. Values from a JSON body
// must already have the declared type (a string is not an integer); when fromQuery is true
// the call's values are query-string text and are converted to the declared types.
// Numbers may arrive as json.Number, float64 or any Go integer type; integers come out as
// int64 and numbers as float64. It returns EINVALID naming every bad argument.
func BindArguments(declared map[string]Argument, triggerArgs, callArgs map[string]any, fromQuery bool) (map[string]any, error) {
	out := make(map[string]any, len(declared))
	var errs []FieldError
	bad := func(name, format string, args ...any) {
		errs = append(errs, FieldError{Name: name, Detail: fmt.Sprintf(format, args...)})
	}
	put := func(name string, v any, text bool) {
		decl, ok := declared[name]
		if !ok {
			bad(name, "the process does not declare an argument %q", name)
			return
		}
		got, err := convert(decl.Type, v, text)
		if err != nil {
			bad(name, "%s", err.Error())
			return
		}
		out[name] = got
	}
	for _, name := range sortedKeys(triggerArgs) {
		if _, overridden := callArgs[name]; !overridden {
			put(name, triggerArgs[name], false)
		}
	}
	for _, name := range sortedKeys(callArgs) {
		put(name, callArgs[name], fromQuery)
	}
	for _, name := range sortedKeys(declared) {
		if _, ok := out[name]; ok {
			continue
		}
		if hasError(errs, name) {
			continue
		}
		decl := declared[name]
		if decl.Default != nil {
			v, err := convert(decl.Type, decl.Default, false)
			if err != nil {
				bad(name, "the declared default is not valid: %s", err)
				continue
			}
			out[name] = v
			continue
		}
		if decl.Required {
			bad(name, "required argument %q (%s) is missing", name, decl.Type)
		}
	}
	if len(errs) > 0 {
		return nil, &Error{Code: EINVALID, Message: invalidSummary(errs), Fields: errs}
	}
	return out, nil
}

func invalidSummary(errs []FieldError) string {
	names := make([]string, len(errs))
	for i, e := range errs {
		names[i] = e.Name
	}
	return "invalid arguments: " + strings.Join(names, ", ")
}

func hasError(errs []FieldError, name string) bool {
	for _, e := range errs {
		if e.Name == name {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// convert checks v against t. When text is true, v is query-string text to convert.
func convert(t ArgumentType, v any, text bool) (any, error) {
	if text {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected text, got %s", JSONKind(v))
		}
		return fromText(t, s)
	}
	switch t {
	case TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case TypeBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case TypeNumber:
		if f, ok := toFloat(v); ok {
			return f, nil
		}
	case TypeInteger:
		if i, ok := toInt(v); ok {
			return i, nil
		}
		if _, ok := toFloat(v); ok {
			return nil, fmt.Errorf("expected an integer, got %v", v)
		}
	case TypeObject:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	case TypeArray:
		if a, ok := v.([]any); ok {
			return a, nil
		}
	default:
		return nil, fmt.Errorf("unknown declared type %q", t)
	}
	return nil, fmt.Errorf("expected %s %s, got %s", article(t), t, JSONKind(v))
}

func fromText(t ArgumentType, s string) (any, error) {
	switch t {
	case TypeString:
		return s, nil
	case TypeBoolean:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("expected a boolean (true or false), got %q", s)
		}
		return b, nil
	case TypeNumber:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("expected a number, got %q", s)
		}
		return f, nil
	case TypeInteger:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expected an integer, got %q", s)
		}
		return i, nil
	case TypeObject, TypeArray:
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("expected %s %s as JSON text, got %q", article(t), t, s)
		}
		return convert(t, v, false)
	}
	return nil, fmt.Errorf("unknown declared type %q", t)
}

func article(t ArgumentType) string {
	if t == TypeInteger || t == TypeObject || t == TypeArray {
		return "an"
	}
	return "a"
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		// 1.0 and 1e3 are integers too.
		f, err := n.Float64()
		if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 && wholeNumberText(string(n)) {
			return int64(f), true
		}
		return 0, false
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), true
		}
	}
	return 0, false
}

// wholeNumberText reports whether the JSON number text s is a whole number exactly: 2.0,
// 1e3 and 150e-1 are; 0.99999999999999999 and 1e-400 are not, though float64 rounds them
// to 1 and 0.
func wholeNumberText(s string) bool {
	mantissa, exp, _ := strings.Cut(strings.ToLower(s), "e")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(mantissa, "-"), ".")
	digits := whole + frac
	if strings.Trim(digits, "0") == "" {
		return true // zero, whatever the exponent
	}
	shift := 0
	if exp != "" {
		var err error
		if shift, err = strconv.Atoi(exp); err != nil {
			return false // a non-zero number this far from 1 is no int64
		}
	}
	point := len(whole) + shift // where the decimal point falls in digits
	if point >= len(digits) {
		return true
	}
	return point >= 0 && strings.Trim(digits[point:], "0") == ""
}

// JSONKind names the JSON type of a decoded value ("a string", "an array", …), for error
// messages.
func JSONKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int64, int32, uint64:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return fmt.Sprintf("%T", x)
	}
}
