// Package jsonbody checks a JSON request body for what encoding/json lets pass silently:
// invalid UTF-8 (which it replaces with U+FFFD) and duplicate member names (of which it keeps
// the last). Either could make a proxy or a log see another request than the one run.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/jobgate/jobgate/jobs"
)

// frame is one open object or array while walking the tokens.
type frame struct {
	object    bool
	expectKey bool            // in an object: the next string token is a member name
	names     map[string]bool // in an object: the member names seen
	path      string          // where the frame is, for messages ("" for the body itself)
}

// Check returns nil, or an EINVALID *Error that says, worded for a person, that what (e.g.
// "the request body") is not UTF-8, names a member given twice, or where its JSON is broken.
// It reads the first JSON value only: data after it is left to the caller.
func Check(data []byte, what string) error {
	if !utf8.Valid(data) {
		return jobs.Errorf(jobs.EINVALID, "%s is not valid UTF-8 (at byte %d)", what, invalidAt(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a number too large for float64 is still JSON
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) && len(stack) == 0 {
			return nil
		}
		if err != nil {
			return jobs.Errorf(jobs.EINVALID, "%s is not valid JSON: %s", what, Describe(err))
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if top != nil && top.object && top.expectKey {
			if name, ok := tok.(string); ok {
				if top.names[name] {
					return jobs.Errorf(jobs.EINVALID, "%s gives member %q twice%s", what, name, top.where())
				}
				top.names[name] = true
				top.expectKey = false
				continue
			}
		}
		if top != nil && top.object {
			top.expectKey = true // a value (or the object's end) came: a name is next
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, expectKey: true, names: map[string]bool{}, path: childPath(stack)})
		case json.Delim('['):
			stack = append(stack, frame{path: childPath(stack)})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return nil // the first value is whole; what follows it is the caller's to judge
		}
	}
}

// childPath is where a new frame opened under stack is: deep enough to be told apart.
func childPath(stack []frame) string {
	if len(stack) == 0 {
		return ""
	}
	return fmt.Sprintf("nested %d deep", len(stack))
}

func (f *frame) where() string {
	if f.path == "" {
		return ""
	}
	return " (in an object " + f.path + ")"
}

// invalidAt is the offset of the first byte that is not part of valid UTF-8.
func invalidAt(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// Describe words an encoding/json error for a person: the syntax problem and its byte
// offset, or "unexpected end of input", never a Go type name.
func Describe(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field != "" {
			return fmt.Sprintf("%s is %s, which does not fit there (at byte %d)", typ.Field, typ.Value, typ.Offset)
		}
		return fmt.Sprintf("a JSON %s does not fit there (at byte %d)", typ.Value, typ.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown member " + name // the name is JSON text the client sent, quoted
	}
	return "it cannot be read as JSON"
}
