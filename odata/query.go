// Package odata is the OData-lite query layer of the management API (docs/api.md §19): it
// parses and type-checks $filter, $orderby, $top, $skip, $count and $select against the
// Schema of an entity set, and evaluates the result over Records. Every list in the API
// (Jobs, Releases, ApiTriggers) goes through it, so they all accept and refuse the same
// queries with the same messages.
package odata

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// MaxLength is the longest value, in bytes, that any query option may have.
const MaxLength = 4096

// Options configure Parse.
type Options struct {
	// DefaultTop is the page size when the query has no $top. Optional. Default 100;
	// never more than MaxTop.
	DefaultTop int
	// MaxTop is the largest $top allowed. Optional. Default 1000.
	MaxTop int
}

// withDefaults fills in the documented defaults.
func (o Options) withDefaults() Options {
	if o.MaxTop <= 0 {
		o.MaxTop = 1000
	}
	if o.DefaultTop <= 0 {
		o.DefaultTop = 100
	}
	o.DefaultTop = min(o.DefaultTop, o.MaxTop)
	return o
}

// Query is a parsed, validated query.
type Query struct {
	// Filter selects the records to list; nil lists all.
	Filter Expr
	// OrderBy sorts the records, first key first; nil keeps the input order.
	OrderBy []OrderKey
	// Top is the page size and Skip the number of matching records before the page.
	Top, Skip int
	// Count asks for the number of matching records (@odata.count).
	Count bool
	// Select lists the fields to return, in the order given; nil returns all.
	Select []string
}

// OrderKey is one key of $orderby.
type OrderKey struct {
	Field string
	Desc  bool
}

// The query options Parse knows, in the order it reports their errors.
const (
	optFilter  = "$filter"
	optOrderBy = "$orderby"
	optTop     = "$top"
	optSkip    = "$skip"
	optCount   = "$count"
	optSelect  = "$select"
)

// knownOption reports whether name (in lower case) is an option Parse supports.
func knownOption(name string) bool {
	switch name {
	case optFilter, optOrderBy, optTop, optSkip, optCount, optSelect:
		return true
	}
	return false
}

// Parse reads the OData query options from values and checks them against schema.
// Option names match case-insensitively ($Filter is $filter, as OData 4.01 allows);
// parameters not starting with $ are left to the caller and ignored.
//
// It returns an *jobs.Error with code EINVALID when any option is malformed, names an
// unknown field, is given twice, is longer than MaxLength, or is not supported
// ($expand, $search, …). The error has one FieldError per bad option, named for the
// option, whose Detail says where (as "at position N", counting characters from 0) and
// what is wrong; its Message is "$option: detail", joined with "; " when several are bad.
func Parse(values url.Values, schema Schema, opt Options) (*Query, error) {
	opt = opt.withDefaults()
	q := &Query{Top: opt.DefaultTop}
	var errs optionErrors

	// Gather the $ options by canonical name, refusing unknown and repeated ones.
	given := map[string]string{}
	counts := map[string]int{}
	keys := make([]string, 0, len(values))
	for key := range values {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		if !strings.HasPrefix(key, "$") {
			continue
		}
		name := strings.ToLower(key)
		if !knownOption(name) {
			errs.add(key, "", key+" is not supported (supported: $filter, $orderby, $top, $skip, $count, $select)")
			continue
		}
		counts[name] += len(values[key])
		if v := values[key]; len(v) > 0 {
			given[name] = v[0]
		}
	}

	for _, name := range [...]string{optFilter, optOrderBy, optTop, optSkip, optCount, optSelect} {
		if counts[name] > 1 {
			errs.add(name, "is given "+strconv.Itoa(counts[name])+" times; give it once", "")
			continue
		}
		src, ok := given[name]
		if !ok {
			continue
		}
		if len(src) > MaxLength {
			errs.add(name, "is "+strconv.Itoa(len(src))+" bytes long; the limit is "+strconv.Itoa(MaxLength), "")
			continue
		}
		var err *syntaxError
		var detail string
		switch name {
		case optFilter:
			if strings.TrimSpace(src) != "" {
				q.Filter, err = parseFilter(src, schema)
			}
		case optOrderBy:
			q.OrderBy, err = parseOrderBy(src, schema)
		case optTop:
			q.Top, detail = parseTop(src, opt.MaxTop)
		case optSkip:
			q.Skip, detail = parseSkip(src)
		case optCount:
			q.Count, detail = parseCount(src)
		case optSelect:
			q.Select, err = parseSelect(src, schema)
		}
		if err != nil {
			detail = "at position " + strconv.Itoa(runeOffset(src, err.pos)) + ": " + err.msg
		}
		if detail != "" {
			errs.add(name, detail, "")
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return q, nil
}

// parseTop reads $top: a whole number from 0 to maxTop.
func parseTop(src string, maxTop int) (int, string) {
	n, err := strconv.Atoi(src)
	if err != nil && isDigits(strings.TrimPrefix(src, "+")) {
		n, err = maxTop+1, nil // too many digits for an int: certainly over the maximum
	}
	switch {
	case err != nil || n < 0:
		return 0, "expected a whole number from 0 to " + strconv.Itoa(maxTop) + ", got " + quote(src)
	case n > maxTop:
		return 0, quote(src) + " is more than the maximum of " + strconv.Itoa(maxTop)
	}
	return n, ""
}

// parseSkip reads $skip: a whole number from 0 up.
func parseSkip(src string) (int, string) {
	n, err := strconv.Atoi(src)
	if err != nil || n < 0 {
		return 0, "expected a whole number from 0 up, got " + quote(src)
	}
	return n, ""
}

// parseCount reads $count: true or false, in any case.
func parseCount(src string) (bool, string) {
	switch {
	case strings.EqualFold(src, "true"):
		return true, ""
	case strings.EqualFold(src, "false"):
		return false, ""
	}
	return false, "expected true or false, got " + quote(src)
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// Match reports whether r passes the filter; a Query without a filter matches everything.
func (q *Query) Match(r Record) bool {
	if q == nil || q.Filter == nil {
		return true
	}
	return q.Filter.Match(r)
}

// Project returns m restricted to the fields of $select (matched case-sensitively), plus any
// "@odata.…" annotations in m. With no $select it returns m itself.
func (q *Query) Project(m map[string]any) map[string]any {
	if q == nil || q.Select == nil || m == nil {
		return m
	}
	out := make(map[string]any, len(q.Select))
	for _, f := range q.Select {
		if v, ok := m[f]; ok {
			out[f] = v
		}
	}
	for k, v := range m {
		if strings.HasPrefix(k, "@") {
			out[k] = v
		}
	}
	return out
}
