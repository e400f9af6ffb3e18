package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// bindOne binds a single argument "x" of type t, given by the call.
func bindOne(t ArgumentType, v any, fromQuery bool) (map[string]any, error) {
	declared := map[string]Argument{"x": {Type: t}}
	return BindArguments(declared, nil, map[string]any{"x": v}, fromQuery)
}

// invalidFields returns the field errors of an EINVALID *Error, failing the test otherwise.
func invalidFields(t *testing.T, err error) []FieldError {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *jobs.Error", err, err)
	}
	if e.Code != EINVALID {
		t.Fatalf("code = %q, want %q", e.Code, EINVALID)
	}
	if len(e.Fields) == 0 {
		t.Fatalf("EINVALID without field errors: %v", e)
	}
	return e.Fields
}

func fieldNames(fields []FieldError) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	sort.Strings(names)
	return names
}

func TestBindArguments_AcceptsEachDeclaredTypeFromJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		givenType   ArgumentType
		givenValue  any
		expectValue any
	}{
		{name: "string", givenType: TypeString, givenValue: "hello", expectValue: "hello"},
		{name: "empty string", givenType: TypeString, givenValue: "", expectValue: ""},
		{name: "number from json.Number", givenType: TypeNumber, givenValue: json.Number("1.5"), expectValue: 1.5},
		{name: "number from json.Number integer", givenType: TypeNumber, givenValue: json.Number("2"), expectValue: 2.0},
		{name: "number from json.Number exponent", givenType: TypeNumber, givenValue: json.Number("-1e3"), expectValue: -1000.0},
		{name: "number from float64", givenType: TypeNumber, givenValue: 2.5, expectValue: 2.5},
		{name: "number from int", givenType: TypeNumber, givenValue: 3, expectValue: 3.0},
		{name: "number from int64", givenType: TypeNumber, givenValue: int64(-4), expectValue: -4.0},
		{name: "integer from json.Number 2", givenType: TypeInteger, givenValue: json.Number("2"), expectValue: int64(2)},
		{name: "integer from json.Number 2.0", givenType: TypeInteger, givenValue: json.Number("2.0"), expectValue: int64(2)},
		{name: "integer from json.Number 1e3", givenType: TypeInteger, givenValue: json.Number("1e3"), expectValue: int64(1000)},
		{name: "integer from json.Number 1.5e1", givenType: TypeInteger, givenValue: json.Number("1.5e1"), expectValue: int64(15)},
		{name: "integer from json.Number 150e-1", givenType: TypeInteger, givenValue: json.Number("150E-1"), expectValue: int64(15)},
		{name: "integer from json.Number -0.0", givenType: TypeInteger, givenValue: json.Number("-0.0"), expectValue: int64(0)},
		{name: "integer from json.Number zero with a huge exponent", givenType: TypeInteger, givenValue: json.Number("0e-99999999999999999999"), expectValue: int64(0)},
		{name: "integer from json.Number negative", givenType: TypeInteger, givenValue: json.Number("-17"), expectValue: int64(-17)},
		{name: "integer from json.Number beyond float precision kept exact", givenType: TypeInteger, givenValue: json.Number("9007199254740993"), expectValue: int64(9007199254740993)},
		{name: "integer from json.Number min int64", givenType: TypeInteger, givenValue: json.Number("-9223372036854775808"), expectValue: int64(-9223372036854775808)},
		{name: "integer from float64 2", givenType: TypeInteger, givenValue: 2.0, expectValue: int64(2)},
		{name: "integer from float64 1e3", givenType: TypeInteger, givenValue: 1e3, expectValue: int64(1000)},
		{name: "integer from int", givenType: TypeInteger, givenValue: 7, expectValue: int64(7)},
		{name: "integer from int64", givenType: TypeInteger, givenValue: int64(8), expectValue: int64(8)},
		{name: "boolean true", givenType: TypeBoolean, givenValue: true, expectValue: true},
		{name: "boolean false", givenType: TypeBoolean, givenValue: false, expectValue: false},
		{name: "object", givenType: TypeObject, givenValue: map[string]any{"a": json.Number("1"), "b": []any{"c"}}, expectValue: map[string]any{"a": json.Number("1"), "b": []any{"c"}}},
		{name: "empty object", givenType: TypeObject, givenValue: map[string]any{}, expectValue: map[string]any{}},
		{name: "array", givenType: TypeArray, givenValue: []any{json.Number("1"), "two", true, nil}, expectValue: []any{json.Number("1"), "two", true, nil}},
		{name: "empty array", givenType: TypeArray, givenValue: []any{}, expectValue: []any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := bindOne(tt.givenType, tt.givenValue, false)
			if err != nil {
				t.Fatalf("BindArguments: %v", err)
			}
			if !reflect.DeepEqual(got["x"], tt.expectValue) {
				t.Fatalf("x = %#v (%T), want %#v (%T)", got["x"], got["x"], tt.expectValue, tt.expectValue)
			}
		})
	}
}

func TestBindArguments_RefusesWrongJSONTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenType    ArgumentType
		givenValue   any
		expectDetail string
	}{
		{name: "string given a number", givenType: TypeString, givenValue: json.Number("1"), expectDetail: "expected a string, got a number"},
		{name: "string given a boolean", givenType: TypeString, givenValue: true, expectDetail: "expected a string, got a boolean"},
		{name: "string given null", givenType: TypeString, givenValue: nil, expectDetail: "expected a string, got null"},
		{name: "string given an object", givenType: TypeString, givenValue: map[string]any{}, expectDetail: "expected a string, got an object"},
		{name: "string given an array", givenType: TypeString, givenValue: []any{}, expectDetail: "expected a string, got an array"},
		{name: "number given the string 1 (strict)", givenType: TypeNumber, givenValue: "1", expectDetail: "expected a number, got a string"},
		{name: "number given a boolean", givenType: TypeNumber, givenValue: false, expectDetail: "expected a number, got a boolean"},
		{name: "number given null", givenType: TypeNumber, givenValue: nil, expectDetail: "expected a number, got null"},
		{name: "number given an array", givenType: TypeNumber, givenValue: []any{json.Number("1")}, expectDetail: "expected a number, got an array"},
		{name: "number out of float64 range", givenType: TypeNumber, givenValue: json.Number("1e400"), expectDetail: "expected a number"},
		{name: "integer given json.Number 1.5", givenType: TypeInteger, givenValue: json.Number("1.5"), expectDetail: "expected an integer, got 1.5"},
		{name: "integer given float64 1.5", givenType: TypeInteger, givenValue: 1.5, expectDetail: "expected an integer, got 1.5"},
		{name: "integer given the string 2 (strict)", givenType: TypeInteger, givenValue: "2", expectDetail: "expected an integer, got a string"},
		{name: "integer given a boolean", givenType: TypeInteger, givenValue: true, expectDetail: "expected an integer, got a boolean"},
		{name: "integer given null", givenType: TypeInteger, givenValue: nil, expectDetail: "expected an integer, got null"},
		{name: "integer beyond int64", givenType: TypeInteger, givenValue: json.Number("9223372036854775808"), expectDetail: "expected an integer, got 9223372036854775808"},
		{name: "integer beyond exact float range", givenType: TypeInteger, givenValue: json.Number("1e20"), expectDetail: "expected an integer"},
		{name: "integer refuses a fraction float64 would round away", givenType: TypeInteger, givenValue: json.Number("0.99999999999999999"), expectDetail: "expected an integer, got 0.99999999999999999"},
		{name: "integer refuses a tiny fraction after the point", givenType: TypeInteger, givenValue: json.Number("2.0000000000000001"), expectDetail: "expected an integer"},
		{name: "integer refuses a fraction float64 would underflow", givenType: TypeInteger, givenValue: json.Number("1e-400"), expectDetail: "expected an integer"},
		{name: "boolean given the string true (strict)", givenType: TypeBoolean, givenValue: "true", expectDetail: "expected a boolean, got a string"},
		{name: "boolean given a number", givenType: TypeBoolean, givenValue: json.Number("1"), expectDetail: "expected a boolean, got a number"},
		{name: "boolean given null", givenType: TypeBoolean, givenValue: nil, expectDetail: "expected a boolean, got null"},
		{name: "object given an array", givenType: TypeObject, givenValue: []any{}, expectDetail: "expected an object, got an array"},
		{name: "object given JSON text", givenType: TypeObject, givenValue: "{}", expectDetail: "expected an object, got a string"},
		{name: "object given null", givenType: TypeObject, givenValue: nil, expectDetail: "expected an object, got null"},
		{name: "array given an object", givenType: TypeArray, givenValue: map[string]any{}, expectDetail: "expected an array, got an object"},
		{name: "array given JSON text", givenType: TypeArray, givenValue: "[]", expectDetail: "expected an array, got a string"},
		{name: "array given a number", givenType: TypeArray, givenValue: 1.0, expectDetail: "expected an array, got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := bindOne(tt.givenType, tt.givenValue, false)
			if got != nil {
				t.Fatalf("BindArguments returned %v with an error", got)
			}
			fields := invalidFields(t, err)
			if len(fields) != 1 || fields[0].Name != "x" {
				t.Fatalf("fields = %+v, want one naming x", fields)
			}
			if !strings.Contains(fields[0].Detail, tt.expectDetail) {
				t.Fatalf("detail = %q, want it to contain %q", fields[0].Detail, tt.expectDetail)
			}
		})
	}
}

func TestBindArguments_ConvertsQueryTextToDeclaredTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenType    ArgumentType
		givenText    any
		expectValue  any
		expectDetail string // non-empty: the text is refused with this detail
	}{
		{name: "string kept as is", givenType: TypeString, givenText: "42", expectValue: "42"},
		{name: "empty string", givenType: TypeString, givenText: "", expectValue: ""},
		{name: "number", givenType: TypeNumber, givenText: "1.5", expectValue: 1.5},
		{name: "negative number", givenType: TypeNumber, givenText: "-2", expectValue: -2.0},
		{name: "number with exponent", givenType: TypeNumber, givenText: "1e3", expectValue: 1000.0},
		{name: "number refuses abc", givenType: TypeNumber, givenText: "abc", expectDetail: `expected a number, got "abc"`},
		{name: "number refuses empty text", givenType: TypeNumber, givenText: "", expectDetail: `expected a number, got ""`},
		{name: "number refuses NaN", givenType: TypeNumber, givenText: "NaN", expectDetail: "expected a number"},
		{name: "number refuses Inf", givenType: TypeNumber, givenText: "Inf", expectDetail: "expected a number"},
		{name: "number refuses overflow", givenType: TypeNumber, givenText: "1e400", expectDetail: "expected a number"},
		{name: "integer", givenType: TypeInteger, givenText: "42", expectValue: int64(42)},
		{name: "negative integer", givenType: TypeInteger, givenText: "-7", expectValue: int64(-7)},
		{name: "integer refuses abc", givenType: TypeInteger, givenText: "abc", expectDetail: `expected an integer, got "abc"`},
		{name: "integer refuses 1.5", givenType: TypeInteger, givenText: "1.5", expectDetail: `expected an integer, got "1.5"`},
		{name: "integer refuses overflow", givenType: TypeInteger, givenText: "9223372036854775808", expectDetail: "expected an integer"},
		{name: "boolean true", givenType: TypeBoolean, givenText: "true", expectValue: true},
		{name: "boolean false", givenType: TypeBoolean, givenText: "false", expectValue: false},
		{name: "boolean refuses maybe", givenType: TypeBoolean, givenText: "maybe", expectDetail: `expected a boolean (true or false), got "maybe"`},
		{name: "boolean refuses empty text", givenType: TypeBoolean, givenText: "", expectDetail: "expected a boolean"},
		{name: "object from JSON text", givenType: TypeObject, givenText: `{"a":1,"b":"c"}`, expectValue: map[string]any{"a": 1.0, "b": "c"}},
		{name: "object refuses malformed JSON", givenType: TypeObject, givenText: "{", expectDetail: `expected an object as JSON text, got "{"`},
		{name: "object refuses an array", givenType: TypeObject, givenText: "[1]", expectDetail: "expected an object, got an array"},
		{name: "object refuses null", givenType: TypeObject, givenText: "null", expectDetail: "expected an object, got null"},
		{name: "array from JSON text", givenType: TypeArray, givenText: `[1,"x",true]`, expectValue: []any{1.0, "x", true}},
		{name: "array refuses malformed JSON", givenType: TypeArray, givenText: "[", expectDetail: `expected an array as JSON text, got "["`},
		{name: "array refuses an object", givenType: TypeArray, givenText: "{}", expectDetail: "expected an array, got an object"},
		{name: "value that is not text", givenType: TypeInteger, givenText: json.Number("1"), expectDetail: "expected text, got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := bindOne(tt.givenType, tt.givenText, true)
			if tt.expectDetail == "" {
				if err != nil {
					t.Fatalf("BindArguments: %v", err)
				}
				if !reflect.DeepEqual(got["x"], tt.expectValue) {
					t.Fatalf("x = %#v (%T), want %#v (%T)", got["x"], got["x"], tt.expectValue, tt.expectValue)
				}
				return
			}
			if got != nil {
				t.Fatalf("BindArguments returned %v with an error", got)
			}
			fields := invalidFields(t, err)
			if len(fields) != 1 || fields[0].Name != "x" || !strings.Contains(fields[0].Detail, tt.expectDetail) {
				t.Fatalf("fields = %+v, want one naming x with %q", fields, tt.expectDetail)
			}
		})
	}
}

func TestBindArguments_MergesCallOverTriggerAndAppliesDefaults(t *testing.T) {
	t.Parallel()
	declared := map[string]Argument{
		"greeting": {Type: TypeString, Default: "hello"},
		"count":    {Type: TypeInteger, Default: 3},
		"loud":     {Type: TypeBoolean},
		"target":   {Type: TypeString, Required: true, Default: "world"},
	}
	tests := []struct {
		name          string
		givenTrigger  map[string]any
		givenCall     map[string]any
		givenFromQry  bool
		expectArgs    map[string]any
		expectMissing []string // declared names that must not be in the result
	}{
		{
			name:          "defaults applied when nothing is given",
			expectArgs:    map[string]any{"greeting": "hello", "count": int64(3), "target": "world"},
			expectMissing: []string{"loud"},
		},
		{
			name:         "trigger values used when the call omits them",
			givenTrigger: map[string]any{"greeting": "hi", "loud": true},
			expectArgs:   map[string]any{"greeting": "hi", "count": int64(3), "loud": true, "target": "world"},
		},
		{
			name:         "call values win over trigger values",
			givenTrigger: map[string]any{"greeting": "hi", "count": json.Number("5")},
			givenCall:    map[string]any{"greeting": "howdy"},
			expectArgs:   map[string]any{"greeting": "howdy", "count": int64(5), "target": "world"},
		},
		{
			name:       "call values win over defaults",
			givenCall:  map[string]any{"count": json.Number("9"), "target": "moon"},
			expectArgs: map[string]any{"greeting": "hello", "count": int64(9), "target": "moon"},
		},
		{
			name:         "query text from the call converted, trigger values keep their JSON types",
			givenTrigger: map[string]any{"count": 5, "loud": false},
			givenCall:    map[string]any{"loud": "true"},
			givenFromQry: true,
			expectArgs:   map[string]any{"greeting": "hello", "count": int64(5), "loud": true, "target": "world"},
		},
		{
			name:         "a bad trigger value is not checked when the call overrides it",
			givenTrigger: map[string]any{"count": "not a number"},
			givenCall:    map[string]any{"count": json.Number("1")},
			expectArgs:   map[string]any{"greeting": "hello", "count": int64(1), "target": "world"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := BindArguments(declared, tt.givenTrigger, tt.givenCall, tt.givenFromQry)
			if err != nil {
				t.Fatalf("BindArguments: %v", err)
			}
			if !reflect.DeepEqual(got, tt.expectArgs) {
				t.Fatalf("arguments = %#v, want %#v", got, tt.expectArgs)
			}
		})
	}
}

func TestBindArguments_NamesEveryBadArgument(t *testing.T) {
	t.Parallel()
	declared := map[string]Argument{
		"name":  {Type: TypeString, Required: true},
		"count": {Type: TypeInteger},
		"flag":  {Type: TypeBoolean},
		"ratio": {Type: TypeNumber, Default: "one half"}, // a broken declaration
	}
	tests := []struct {
		name         string
		givenTrigger map[string]any
		givenCall    map[string]any
		givenFromQry bool
		expectFields map[string]string // name → part of its detail
	}{
		{
			name:         "required argument missing",
			givenCall:    map[string]any{"ratio": 0.5},
			expectFields: map[string]string{"name": `required argument "name" (string) is missing`},
		},
		{
			name:         "undeclared argument from the call",
			givenCall:    map[string]any{"name": "a", "ratio": 0.5, "colour": "red"},
			expectFields: map[string]string{"colour": `does not declare an argument "colour"`},
		},
		{
			name:         "undeclared argument from the trigger",
			givenTrigger: map[string]any{"size": json.Number("1")},
			givenCall:    map[string]any{"name": "a", "ratio": 0.5},
			expectFields: map[string]string{"size": `does not declare an argument "size"`},
		},
		{
			name:         "bad value of a required argument is named once, not also as missing",
			givenCall:    map[string]any{"name": json.Number("5"), "ratio": 0.5},
			expectFields: map[string]string{"name": "expected a string, got a number"},
		},
		{
			name:         "invalid declared default",
			givenCall:    map[string]any{"name": "a"},
			expectFields: map[string]string{"ratio": "the declared default is not valid"},
		},
		{
			name:         "several errors at once from JSON",
			givenCall:    map[string]any{"colour": "red", "count": "7", "flag": "yes", "ratio": 0.5},
			expectFields: map[string]string{"colour": "does not declare", "count": "expected an integer, got a string", "flag": "expected a boolean, got a string", "name": "is missing"},
		},
		{
			name:         "several errors at once from the query string",
			givenCall:    map[string]any{"count": "abc", "flag": "maybe", "ratio": "x", "extra": "1"},
			givenFromQry: true,
			expectFields: map[string]string{"count": `got "abc"`, "flag": `got "maybe"`, "ratio": `got "x"`, "extra": "does not declare", "name": "is missing"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := BindArguments(declared, tt.givenTrigger, tt.givenCall, tt.givenFromQry)
			if got != nil {
				t.Fatalf("BindArguments returned %v with an error", got)
			}
			fields := invalidFields(t, err)
			wantNames := make([]string, 0, len(tt.expectFields))
			for name := range tt.expectFields {
				wantNames = append(wantNames, name)
			}
			sort.Strings(wantNames)
			if gotNames := fieldNames(fields); !reflect.DeepEqual(gotNames, wantNames) {
				t.Fatalf("fields name %v, want %v (%+v)", gotNames, wantNames, fields)
			}
			for _, f := range fields {
				if !strings.Contains(f.Detail, tt.expectFields[f.Name]) {
					t.Errorf("detail of %s = %q, want it to contain %q", f.Name, f.Detail, tt.expectFields[f.Name])
				}
			}
			msg := ErrorMessage(err)
			for _, name := range wantNames {
				if !strings.Contains(msg, name) {
					t.Errorf("message %q does not name %q", msg, name)
				}
			}
		})
	}
}

// fuzzDeclared declares one argument of each type; "s" and "a" are required, "n" and "i"
// have defaults.
func fuzzDeclared() map[string]Argument {
	return map[string]Argument{
		"s": {Type: TypeString, Required: true},
		"n": {Type: TypeNumber, Default: 0.5},
		"i": {Type: TypeInteger, Default: 7},
		"b": {Type: TypeBoolean},
		"o": {Type: TypeObject},
		"a": {Type: TypeArray, Required: true},
	}
}

// goTypes is the Go type each declared type must come out as.
var goTypes = map[ArgumentType]reflect.Type{
	TypeString:  reflect.TypeFor[string](),
	TypeNumber:  reflect.TypeFor[float64](),
	TypeInteger: reflect.TypeFor[int64](),
	TypeBoolean: reflect.TypeFor[bool](),
	TypeObject:  reflect.TypeFor[map[string]any](),
	TypeArray:   reflect.TypeFor[[]any](),
}

// FuzzBindArguments feeds JSON bodies (decoded as the trigger handler decodes them) and query
// strings through BindArguments. Nothing may panic; a success must hold exactly declared
// arguments of their declared Go types with every required one present; a failure must be
// EINVALID, return nothing, and name each bad argument in Fields and in the Message.
func FuzzBindArguments(f *testing.F) {
	seeds := []struct {
		body  string
		query string
	}{
		{`{"s":"x","a":[]}`, "s=x&a=[]"},
		{`{"s":"x","n":1.5,"i":2,"b":true,"o":{"k":[1]},"a":[1,"2",null]}`, "s=x&n=1.5&i=2&b=true&o={}&a=[1]"},
		{`{"i":2.0,"a":[]}`, "i=2.0&a=[]"},
		{`{"i":1e3,"n":1e400,"a":[]}`, "i=1e3&n=1e400"},
		{`{"i":1.5,"n":"1","s":1}`, "i=abc&b=maybe&o={&a=]"},
		{`{"i":9223372036854775808,"n":-0,"a":[]}`, "i=9223372036854775808&n=NaN&n=Inf"},
		{`{"zz":1,"$callMode":"LongPolling"}`, "zz=1&$callMode=LongPolling"},
		{`{"o":null,"a":{},"b":"true"}`, "o=null&a={}&b=1"},
		{`[1,2]`, "%zz=1&s"},
		{`"x"`, "=&&&"},
		{`{"s":"\u0000\ud800","a":[],"i":-1e-400}`, "s=%00%FF&i=-0"},
		{`{} {}`, ""},
		{``, ``},
		// Inputs the fuzzer found that reach code the seeds above do not (chosen by coverage
		// from the generated corpus that used to sit in testdata/fuzz; see docs/architecture.md).
		{`{"i":[]}`, "0"},
		{`{"i":0E0}`, "0"},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.query)
	}
	declared := fuzzDeclared()
	trigger := map[string]any{"b": false, "n": json.Number("2.5")}
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			if obj, ok := v.(map[string]any); ok {
				out, err := BindArguments(declared, trigger, obj, false)
				checkBound(t, declared, trigger, obj, out, err)
			}
		}
		values, _ := url.ParseQuery(query) // a partly bad query still yields its good pairs
		qs := make(map[string]any, len(values))
		for k, vs := range values {
			qs[k] = vs[0]
		}
		out, err := BindArguments(declared, trigger, qs, true)
		checkBound(t, declared, trigger, qs, out, err)
	})
}

func checkBound(t *testing.T, declared map[string]Argument, trigger, call, out map[string]any, err error) {
	t.Helper()
	if err != nil {
		if out != nil {
			t.Fatalf("returned %v with error %v", out, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID || len(e.Fields) == 0 {
			t.Fatalf("error %#v is not EINVALID with fields", err)
		}
		for _, fe := range e.Fields {
			_, isDeclared := declared[fe.Name]
			_, inCall := call[fe.Name]
			_, inTrigger := trigger[fe.Name]
			if !isDeclared && !inCall && !inTrigger {
				t.Fatalf("field error names %q, which nobody gave or declared", fe.Name)
			}
			if fe.Detail == "" {
				t.Fatalf("field error for %q has no detail", fe.Name)
			}
			if !strings.Contains(e.Message, fe.Name) {
				t.Fatalf("message %q does not name %q", e.Message, fe.Name)
			}
		}
		return
	}
	for name, v := range out {
		decl, ok := declared[name]
		if !ok {
			t.Fatalf("result holds undeclared argument %q", name)
		}
		if got := reflect.TypeOf(v); got != goTypes[decl.Type] {
			t.Fatalf("argument %q (%s) came out as %v (%s), want %v", name, decl.Type, got, fmt.Sprint(v), goTypes[decl.Type])
		}
	}
	for name, decl := range declared {
		if _, ok := out[name]; decl.Required && !ok {
			t.Fatalf("required argument %q missing from %v", name, out)
		}
	}
	for name := range call {
		if _, ok := out[name]; !ok {
			t.Fatalf("call argument %q dropped without an error", name)
		}
	}
}
