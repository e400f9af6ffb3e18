package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/jobs"
)

// expectInvalid fails unless err is an EINVALID *jobs.Error whose message contains want.
func expectInvalid(t *testing.T, err error, want string) *jobs.Error {
	t.Helper()
	var e *jobs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *jobs.Error", err, err)
	}
	if e.Code != jobs.EINVALID {
		t.Fatalf("code = %q, want %q (%v)", e.Code, jobs.EINVALID, e)
	}
	if !strings.Contains(e.Message, want) {
		t.Fatalf("message = %q, want it to contain %q", e.Message, want)
	}
	return e
}

func TestDecodeObject_AcceptsJSONObjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		givenBody  string
		expectArgs map[string]any
	}{
		{name: "empty object", givenBody: `{}`, expectArgs: map[string]any{}},
		{name: "numbers kept exact", givenBody: `{"a":1,"b":2.50,"c":12345678901234567890}`, expectArgs: map[string]any{"a": json.Number("1"), "b": json.Number("2.50"), "c": json.Number("12345678901234567890")}},
		{name: "every JSON kind as a value", givenBody: `{"s":"x","t":true,"n":null,"o":{"k":[1,"y"]}}`, expectArgs: map[string]any{"s": "x", "t": true, "n": nil, "o": map[string]any{"k": []any{json.Number("1"), "y"}}}},
		{name: "$-prefixed keys kept for readCall", givenBody: `{"$callMode":"LongPolling","x":1}`, expectArgs: map[string]any{"$callMode": "LongPolling", "x": json.Number("1")}},
		{name: "whitespace around the object", givenBody: " \n\t{ \"a\" : 1 }\r\n ", expectArgs: map[string]any{"a": json.Number("1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeObject([]byte(tt.givenBody))
			if err != nil {
				t.Fatalf("decodeObject: %v", err)
			}
			if !reflect.DeepEqual(got, tt.expectArgs) {
				t.Fatalf("decodeObject = %#v, want %#v", got, tt.expectArgs)
			}
		})
	}
}

func TestDecodeObject_RefusesAnythingButOneJSONObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		givenBody     string
		expectMessage string
	}{
		{name: "array", givenBody: `[1,2]`, expectMessage: "must be a JSON object of arguments, got an array"},
		{name: "string", givenBody: `"hello"`, expectMessage: "must be a JSON object of arguments, got a string"},
		{name: "null", givenBody: `null`, expectMessage: "must be a JSON object of arguments, got null"},
		{name: "number", givenBody: `42`, expectMessage: "must be a JSON object of arguments, got a number"},
		{name: "boolean", givenBody: `true`, expectMessage: "must be a JSON object of arguments, got a boolean"},
		{name: "empty body", givenBody: ``, expectMessage: "not valid JSON: unexpected end of input"},
		{name: "unterminated object", givenBody: `{"a":1`, expectMessage: "not valid JSON: unexpected end of input"},
		{name: "missing value", givenBody: `{"a":}`, expectMessage: "not valid JSON"},
		{name: "syntax error gives its offset", givenBody: `{"a" 1}`, expectMessage: "at byte"},
		{name: "single quotes", givenBody: `{'a':1}`, expectMessage: "not valid JSON"},
		{name: "second object after the first", givenBody: `{} {}`, expectMessage: "data after its JSON object"},
		{name: "duplicate member name", givenBody: `{"a":1,"a":2}`, expectMessage: `the request body gives member "a" twice`},
		{name: "duplicate member name inside an argument", givenBody: `{"a":{"b":1,"b":2}}`, expectMessage: `gives member "b" twice`},
		{name: "invalid UTF-8", givenBody: "{\"a\":\"caf\xe9\"}", expectMessage: "the request body is not valid UTF-8 (at byte 9)"},
		{name: "text after the object", givenBody: `{"a":1}x`, expectMessage: "data after its JSON object"},
		{name: "stray closing bracket", givenBody: `{}]`, expectMessage: "data after its JSON object"},
		{name: "stray closing brace", givenBody: `{}}`, expectMessage: "data after its JSON object"},
		{name: "array after the object", givenBody: "{}\n[]", expectMessage: "data after its JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeObject([]byte(tt.givenBody))
			if got != nil {
				t.Fatalf("decodeObject returned %v with an error", got)
			}
			expectInvalid(t, err, tt.expectMessage)
		})
	}
}

func mustFingerprint(t *testing.T, method, body string) string {
	t.Helper()
	raw, err := decodeObject([]byte(body))
	if err != nil {
		t.Fatalf("decodeObject(%q): %v", body, err)
	}
	fp, err := fingerprint(method, raw)
	if err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	return fp
}

func TestFingerprint_IgnoresKeyOrderAndSpacing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		givenMethod [2]string
		givenBody   [2]string
		expectSame  bool
	}{
		{name: "same object", givenMethod: [2]string{"POST", "POST"}, givenBody: [2]string{`{"a":1}`, `{"a":1}`}, expectSame: true},
		{name: "key order and spacing differ", givenMethod: [2]string{"POST", "POST"}, givenBody: [2]string{`{"a":1,"b":{"x":true,"y":[1,2]}}`, " { \"b\" : { \"y\" : [ 1 , 2 ] , \"x\" : true } ,\n \"a\" : 1 } "}, expectSame: true},
		{name: "$callMode counts", givenMethod: [2]string{"POST", "POST"}, givenBody: [2]string{`{"a":1}`, `{"a":1,"$callMode":"LongPolling"}`}},
		{name: "different value", givenMethod: [2]string{"POST", "POST"}, givenBody: [2]string{`{"a":1}`, `{"a":2}`}},
		{name: "number and string differ", givenMethod: [2]string{"POST", "POST"}, givenBody: [2]string{`{"a":1}`, `{"a":"1"}`}},
		{name: "different key", givenMethod: [2]string{"POST", "POST"}, givenBody: [2]string{`{"a":1}`, `{"b":1}`}},
		{name: "array order counts", givenMethod: [2]string{"POST", "POST"}, givenBody: [2]string{`{"a":[1,2]}`, `{"a":[2,1]}`}},
		{name: "extra argument", givenMethod: [2]string{"POST", "POST"}, givenBody: [2]string{`{"a":1}`, `{"a":1,"b":null}`}},
		{name: "different method", givenMethod: [2]string{"POST", "PUT"}, givenBody: [2]string{`{"a":1}`, `{"a":1}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first := mustFingerprint(t, tt.givenMethod[0], tt.givenBody[0])
			second := mustFingerprint(t, tt.givenMethod[1], tt.givenBody[1])
			if len(first) != 64 {
				t.Errorf("fingerprint %q is not a hex SHA-256", first)
			}
			if (first == second) != tt.expectSame {
				t.Fatalf("fingerprints %s and %s: same = %v, want %v", first, second, first == second, tt.expectSame)
			}
		})
	}
}

func TestIdempotencyKey_Validates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenValues  []string
		expectKey    string
		expectDetail string // non-empty: refused with this detail
	}{
		{name: "no header", givenValues: nil, expectKey: ""},
		{name: "plain key", givenValues: []string{"order-42"}, expectKey: "order-42"},
		{name: "UUID", givenValues: []string{"8e03978e-40d5-43e8-bc93-6894a57f9324"}, expectKey: "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{name: "surrounding spaces trimmed", givenValues: []string{"  abc \t"}, expectKey: "abc"},
		{name: "255 characters", givenValues: []string{strings.Repeat("k", 255)}, expectKey: strings.Repeat("k", 255)},
		{name: "every visible ASCII character", givenValues: []string{"!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"}, expectKey: "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"},
		{name: "empty", givenValues: []string{""}, expectDetail: "must be 1 to 255 characters"},
		{name: "only spaces", givenValues: []string{"   "}, expectDetail: "must be 1 to 255 characters"},
		{name: "256 characters", givenValues: []string{strings.Repeat("k", 256)}, expectDetail: "must be 1 to 255 characters"},
		{name: "space inside", givenValues: []string{"a b"}, expectDetail: "must be visible ASCII characters"},
		{name: "tab inside", givenValues: []string{"a\tb"}, expectDetail: "must be visible ASCII characters"},
		{name: "NUL", givenValues: []string{"a\x00b"}, expectDetail: "must be visible ASCII characters"},
		{name: "DEL", givenValues: []string{"a\x7fb"}, expectDetail: "must be visible ASCII characters"},
		{name: "non-ASCII", givenValues: []string{"clé"}, expectDetail: "must be visible ASCII characters"},
		{name: "invalid UTF-8", givenValues: []string{"a\xffb"}, expectDetail: "must be visible ASCII characters"},
		{name: "two headers", givenValues: []string{"a", "b"}, expectDetail: "is given more than once"},
		{name: "two equal headers", givenValues: []string{"a", "a"}, expectDetail: "is given more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := idempotencyKey(tt.givenValues)
			if tt.expectDetail == "" {
				if err != nil {
					t.Fatalf("idempotencyKey: %v", err)
				}
				if got != tt.expectKey {
					t.Fatalf("key = %q, want %q", got, tt.expectKey)
				}
				return
			}
			if got != "" {
				t.Fatalf("key = %q with an error", got)
			}
			e := expectInvalid(t, err, tt.expectDetail)
			if !strings.HasPrefix(e.Message, "Idempotency-Key ") {
				t.Errorf("message %q does not name Idempotency-Key", e.Message)
			}
			if len(e.Fields) != 1 || e.Fields[0].Name != "Idempotency-Key" || e.Fields[0].Detail != tt.expectDetail {
				t.Errorf("fields = %+v, want one naming Idempotency-Key with %q", e.Fields, tt.expectDetail)
			}
		})
	}
}

func TestReadCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		givenMethod   string
		givenTarget   string
		givenBody     string
		expectArgs    map[string]any
		expectQuery   bool
		expectMode    string
		expectHasMode bool
		expectCode    string // non-empty: refused with this code
		expectMessage string
	}{
		{name: "GET query string is text", givenMethod: http.MethodGet, givenTarget: "/t?a=1&b=x", expectArgs: map[string]any{"a": "1", "b": "x"}, expectQuery: true},
		{name: "GET $callMode from the query", givenMethod: http.MethodGet, givenTarget: "/t?$callMode=LongPolling&a=1", expectArgs: map[string]any{"a": "1"}, expectQuery: true, expectMode: "LongPolling", expectHasMode: true},
		{name: "GET repeated parameter refused", givenMethod: http.MethodGet, givenTarget: "/t?a=1&a=2", expectCode: jobs.EINVALID, expectMessage: `query parameter "a" is given 2 times`},
		{name: "POST JSON object", givenMethod: http.MethodPost, givenTarget: "/t", givenBody: `{"a":1,"b":"x"}`, expectArgs: map[string]any{"a": json.Number("1"), "b": "x"}},
		{name: "POST $-prefixed keys are not arguments", givenMethod: http.MethodPost, givenTarget: "/t", givenBody: `{"$callMode":"fireandforget","$other":1,"a":true}`, expectArgs: map[string]any{"a": true}, expectMode: "fireandforget", expectHasMode: true},
		{name: "POST empty body means no arguments", givenMethod: http.MethodPost, givenTarget: "/t", givenBody: "  \n", expectArgs: map[string]any{}},
		{name: "POST query string is not arguments", givenMethod: http.MethodPost, givenTarget: "/t?a=1", givenBody: "", expectArgs: map[string]any{}},
		{name: "PUT body not an object", givenMethod: http.MethodPut, givenTarget: "/t", givenBody: `[1]`, expectCode: jobs.EINVALID, expectMessage: "must be a JSON object"},
		{name: "DELETE $callMode not a string", givenMethod: http.MethodDelete, givenTarget: "/t", givenBody: `{"$callMode":1}`, expectCode: jobs.EINVALID, expectMessage: "$callMode must be a string"},
		{name: "body over the limit", givenMethod: http.MethodPost, givenTarget: "/t", givenBody: `{"a":"` + strings.Repeat("x", 64) + `"}`, expectCode: jobs.ETOOLARGE, expectMessage: "larger than 64 bytes"},
	}
	h := NewHandler(Config{MaxBody: 64})
	e := echo.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.givenMethod, tt.givenTarget, strings.NewReader(tt.givenBody))
			got, err := h.readCall(e.NewContext(req, httptest.NewRecorder()))
			if tt.expectCode != "" {
				var je *jobs.Error
				if !errors.As(err, &je) || je.Code != tt.expectCode || !strings.Contains(je.Message, tt.expectMessage) {
					t.Fatalf("error = %v, want %s containing %q", err, tt.expectCode, tt.expectMessage)
				}
				return
			}
			if err != nil {
				t.Fatalf("readCall: %v", err)
			}
			if !reflect.DeepEqual(got.args, tt.expectArgs) {
				t.Errorf("args = %#v, want %#v", got.args, tt.expectArgs)
			}
			if got.fromQuery != tt.expectQuery || got.mode != tt.expectMode || got.hasMode != tt.expectHasMode {
				t.Errorf("fromQuery, mode, hasMode = %v, %q, %v; want %v, %q, %v", got.fromQuery, got.mode, got.hasMode, tt.expectQuery, tt.expectMode, tt.expectHasMode)
			}
			if fp, err := fingerprint(tt.givenMethod, got.raw); err != nil || len(fp) != 64 {
				t.Errorf("fingerprint = %q, %v", fp, err)
			}
		})
	}
}

// FuzzDecodeObject feeds arbitrary bodies to decodeObject. It must never panic; it must accept
// exactly the bodies that are one JSON object in UTF-8 without a duplicate member name; a refusal must be EINVALID; and an accepted
// object's fingerprint must survive re-encoding (it is canonical).
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, ` {"a":[1,{"b":null}],"c":"\u00e9\ud800"} `, `{"n":12345678901234567890,"f":-1.5e-300}`,
		`{"$callMode":"LongPolling"}`, `{"a":1,"a":2}`, `{"<>&":"\u2028"}`,
		`[]`, `"x"`, `null`, `1`, `true`, ``, ` `, `{`, `{"a":}`, `{} {}`, `{}x`, `{}]`, `{}}`,
		"{\"a\":\"\xff\"}", "\xef\xbb\xbf{}", `{"a":1e400}`, `{"a":01}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeObject(body)
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		isObject := json.Valid(body) && len(trimmed) > 0 && trimmed[0] == '{'
		if err != nil {
			var e *jobs.Error
			if !errors.As(err, &e) || e.Code != jobs.EINVALID || e.Message == "" {
				t.Fatalf("error %#v is not EINVALID with a message", err)
			}
			if got != nil {
				t.Fatalf("returned %v with an error", got)
			}
			// Besides non-objects, only invalid UTF-8 and a member name given twice are refused.
			if isObject && utf8.Valid(body) && !strings.Contains(e.Message, "twice") {
				t.Fatalf("refused the JSON object %q: %v", body, err)
			}
			return
		}
		if !isObject || !utf8.Valid(body) {
			t.Fatalf("accepted %q, which is not one JSON object in UTF-8", body)
		}
		if got == nil {
			t.Fatalf("accepted %q as a nil map", body)
		}
		fp, err := fingerprint(http.MethodPost, got)
		if err != nil {
			t.Fatalf("fingerprint of a decoded object: %v", err)
		}
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		reparsed, err := decodeObject(again)
		if err != nil {
			t.Fatalf("re-encoded %q refused: %v", again, err)
		}
		if fp2, _ := fingerprint(http.MethodPost, reparsed); fp2 != fp {
			t.Fatalf("fingerprint changed after re-encoding %q as %q", body, again)
		}
	})
}
