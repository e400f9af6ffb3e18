package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/internal/jsonbody"
	"github.com/jobgate/jobgate/jobs"
)

// body is a JSON object request body read field by field. It collects one error per bad
// field, so a client hears about all of them at once, and refuses fields nobody read.
type body struct {
	raw  map[string]json.RawMessage
	used map[string]bool
	errs []jobs.FieldError
	// prefix names the enclosing field of a nested object ("Arguments.x.").
	prefix string
}

// readBody reads the request body: one JSON object, at most MaxBody bytes.
// Codes: EINVALID, ETOOLARGE.
func (s *Server) readBody(c echo.Context) (*body, error) {
	limit := s.cfg.MaxBody
	if limit <= 0 {
		limit = 1 << 20
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, jobs.Errorf(jobs.ETOOLARGE, "the request body is larger than %d bytes", limit)
		}
		return nil, jobs.Errorf(jobs.EINVALID, "could not read the request body: %v", err)
	}
	raw, err := objectOf(data, "the request body")
	if err != nil {
		return nil, err
	}
	return newBody(raw, ""), nil
}

func newBody(raw map[string]json.RawMessage, prefix string) *body {
	return &body{raw: raw, used: map[string]bool{}, prefix: prefix}
}

// objectOf decodes data as one JSON object of raw fields. Codes: EINVALID.
func objectOf(data []byte, what string) (map[string]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, jobs.Errorf(jobs.EINVALID, "%s must be a JSON object", what)
	}
	if err := jsonbody.Check(data, what); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, jobs.Errorf(jobs.EINVALID, "%s is not valid JSON: %s", what, jsonbody.Describe(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, jobs.Errorf(jobs.EINVALID, "%s has data after its JSON object", what)
	}
	return raw, nil
}

func (b *body) bad(name, format string, args ...any) {
	b.errs = append(b.errs, jobs.FieldError{Name: b.prefix + name, Detail: fmt.Sprintf(format, args...)})
}

// given returns the raw value of field name, or nil when it is absent or null.
func (b *body) given(name string) json.RawMessage {
	b.used[name] = true
	v, ok := b.raw[name]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	return v
}

// decode reads field name into dst; absent or null leaves dst alone and returns false.
func (b *body) decode(name string, dst any, want string) bool {
	v := b.given(name)
	if v == nil {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		b.bad(name, "must be %s", want)
		return false
	}
	return true
}

// str reads a string field ("" when absent or null).
func (b *body) str(name string) string {
	var s string
	b.decode(name, &s, "a string")
	return s
}

// boolean reads a true/false field, def when absent or null.
func (b *body) boolean(name string, def bool) bool {
	v := def
	b.decode(name, &v, "true or false")
	return v
}

// integer reads a whole-number field, def when absent or null.
func (b *body) integer(name string, def int64) int64 {
	if v := b.given(name); v != nil && v[0] == '"' {
		b.bad(name, "must be a number, not text")
		return def
	}
	var n json.Number
	if !b.decode(name, &n, "a number") {
		return def
	}
	i, err := n.Int64()
	if err != nil {
		b.bad(name, "must be a whole number")
		return def
	}
	return i
}

// readOnly accepts fields a client may send back as it read them (Id, Key, Source…),
// ignoring them, and every "@odata." annotation.
func (b *body) readOnly(names ...string) {
	for _, n := range names {
		b.used[n] = true
	}
	for k := range b.raw {
		if strings.HasPrefix(k, "@odata.") {
			b.used[k] = true
		}
	}
}

// checkID refuses an Id in the body that differs from the one in the URL (when there is one).
func (b *body) checkID(id int64) {
	b.used["Id"] = true
	if id == 0 || b.given("Id") == nil {
		return
	}
	if got := b.integer("Id", id); got != id {
		b.bad("Id", "is %d in the URL; Id cannot be changed", id)
	}
}

// unknown reports every field nobody read, with the known field it most likely means.
func (b *body) unknown(known []string) {
	var names []string
	for k := range b.raw {
		if !b.used[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		hint := ""
		for _, f := range known {
			if strings.EqualFold(f, k) {
				hint = fmt.Sprintf(" (did you mean %q? field names are case-sensitive)", f)
			}
		}
		if hint == "" {
			hint = " (fields: " + strings.Join(known, ", ") + ")"
		}
		b.bad(k, "unknown field%s", hint)
	}
}

// err returns the collected problems as one EINVALID naming every field, or nil.
func (b *body) err(what string) error {
	if len(b.errs) == 0 {
		return nil
	}
	names := make([]string, len(b.errs))
	for i, f := range b.errs {
		names[i] = f.Name
	}
	return &jobs.Error{Code: jobs.EINVALID, Message: "invalid " + what + ": " + strings.Join(names, ", "), Fields: b.errs}
}

// merged returns the body of a PATCH applied over current, the entity as the API shows it:
// the fields the patch gives replace the current ones (null clears one).
func merged(current map[string]any, patch *body) *body {
	raw := map[string]json.RawMessage{}
	for k, v := range current {
		if strings.HasPrefix(k, "@") {
			continue
		}
		data, _ := json.Marshal(v)
		raw[k] = data
	}
	for k, v := range patch.raw {
		raw[k] = v
	}
	return newBody(raw, "")
}

// alsoInvalid adds the field errors of more (a semantic check of what a body that had
// errors of its own did say) to err, so one answer names every bad field. Fields err
// already names are not repeated, nor complaints that mention a field of known that could
// not be read.
func alsoInvalid(err, more error, known []string) error {
	var e, m *jobs.Error
	if !errors.As(err, &e) || !errors.As(more, &m) || m.Code != jobs.EINVALID {
		return err
	}
	named := map[string]bool{}
	for _, f := range e.Fields {
		named[f.Name] = true
	}
	// A field that could not be read looks absent to the check; its complaints about that
	// field ("give Builtin or Command") would mislead.
	mentions := func(f jobs.FieldError) bool {
		for n := range named {
			if !slices.Contains(known, n) {
				continue
			}
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(n) + `\b`).MatchString(f.Detail) {
				return true
			}
		}
		return named[f.Name]
	}
	out := &jobs.Error{Code: e.Code, Fields: append([]jobs.FieldError{}, e.Fields...)}
	for _, f := range m.Fields {
		if !mentions(f) {
			out.Fields = append(out.Fields, f)
		}
	}
	sort.SliceStable(out.Fields, func(i, k int) bool { return out.Fields[i].Name < out.Fields[k].Name })
	names := make([]string, len(out.Fields))
	for i, f := range out.Fields {
		names[i] = f.Name
	}
	prefix, _, _ := strings.Cut(e.Message, ":")
	out.Message = prefix + ": " + strings.Join(names, ", ")
	return out
}
