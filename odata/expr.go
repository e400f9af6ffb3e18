package odata

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Expr is a node of a parsed $filter: *And, *Or, *Not, *Compare or *Call. Parse has
// type-checked it against the Schema, so a store may translate it without checking again.
type Expr interface {
	// Match reports whether r satisfies the expression.
	Match(r Record) bool
	// String renders the expression in $filter syntax; parsing it gives the same tree.
	String() string
}

// And matches when both sides match.
type And struct{ Left, Right Expr }

// Or matches when either side matches.
type Or struct{ Left, Right Expr }

// Not matches when X does not.
type Not struct{ X Expr }

// Op is a comparison operator, named as in $filter.
type Op string

// The comparison operators.
const (
	Eq Op = "eq"
	Ne Op = "ne"
	Gt Op = "gt"
	Ge Op = "ge"
	Lt Op = "lt"
	Le Op = "le"
)

// flip returns the operator that gives the same result with the operands swapped.
func (o Op) flip() Op {
	switch o {
	case Gt:
		return Lt
	case Ge:
		return Le
	case Lt:
		return Gt
	case Le:
		return Ge
	}
	return o
}

// Case is a case conversion applied to a String field before it is compared:
// tolower(Name) or toupper(Name). The literal is not converted, as in OData.
type Case string

// The case conversions.
const (
	AsIs    Case = ""
	ToLower Case = "tolower"
	ToUpper Case = "toupper"
)

// apply converts s.
func (c Case) apply(s string) string {
	switch c {
	case ToLower:
		return strings.ToLower(s)
	case ToUpper:
		return strings.ToUpper(s)
	}
	return s
}

// wrap renders field with the conversion around it.
func (c Case) wrap(field string) string {
	if c == AsIs {
		return field
	}
	return string(c) + "(" + field + ")"
}

// Compare compares a field with a literal: Field Op Value. Parse always puts the field on
// the left (5 lt Id becomes Id gt 5) and a bare Bool field (Enabled) becomes Enabled eq true.
type Compare struct {
	Field string
	// Case is applied to the field's value first; only String fields have one.
	Case Case
	Op   Op
	// Value is nil (null), a string, an int64 or float64, a bool, or a time.Time, matching
	// the field's type. Null is only compared with eq or ne.
	Value any
}

// Func is a string function of $filter.
type Func string

// The string functions. Each takes a String field and a quoted text.
const (
	Contains   Func = "contains"
	StartsWith Func = "startswith"
	EndsWith   Func = "endswith"
)

// Call is a string function call: Func(Field, 'Arg'). A null field matches no call.
type Call struct {
	Func  Func
	Field string
	// Case is applied to the field's value first, as in contains(tolower(Name),'x').
	Case Case
	Arg  string
}

// Match reports whether both sides match r.
func (e *And) Match(r Record) bool { return e.Left.Match(r) && e.Right.Match(r) }

// Match reports whether either side matches r.
func (e *Or) Match(r Record) bool { return e.Left.Match(r) || e.Right.Match(r) }

// Match reports whether X does not match r.
func (e *Not) Match(r Record) bool { return !e.X.Match(r) }

// Match compares r's field with the literal. A null field equals only null: it makes eq
// (and gt, ge, lt, le) false and ne true. So does a field whose value has the wrong type
// for the comparison, which is a bug in the Record, not in the query.
func (e *Compare) Match(r Record) bool {
	v := fieldValue(r, e.Field)
	if v.kind == kindString {
		v.s = e.Case.apply(v.s)
	}
	lit := valueOf(e.Value)
	if lit.kind == kindNull || v.kind == kindNull {
		bothNull := lit.kind == kindNull && v.kind == kindNull
		switch e.Op {
		case Eq:
			return bothNull
		case Ne:
			return !bothNull
		}
		return false
	}
	c, ok := compareValues(v, lit)
	if !ok {
		return e.Op == Ne
	}
	switch e.Op {
	case Eq:
		return c == 0
	case Ne:
		return c != 0
	case Gt:
		return c > 0
	case Ge:
		return c >= 0
	case Lt:
		return c < 0
	case Le:
		return c <= 0
	}
	return false
}

// Match applies the function to r's field; a field that is null or not a string fails.
func (e *Call) Match(r Record) bool {
	v := fieldValue(r, e.Field)
	if v.kind != kindString {
		return false
	}
	s := e.Case.apply(v.s)
	switch e.Func {
	case Contains:
		return strings.Contains(s, e.Arg)
	case StartsWith:
		return strings.HasPrefix(s, e.Arg)
	case EndsWith:
		return strings.HasSuffix(s, e.Arg)
	}
	return false
}

// The renderings below add parentheses only where the tree needs them (and/or are
// left-associative, and binds tighter than or), so a rendering never nests deeper than
// the text it was parsed from and always parses back within the depth limit.

// String renders "Left and Right".
func (e *And) String() string {
	return group(e.Left, isOr) + " and " + group(e.Right, isAndOr)
}

// String renders "Left or Right".
func (e *Or) String() string {
	return e.Left.String() + " or " + group(e.Right, isOr)
}

// String renders "not X".
func (e *Not) String() string { return "not " + group(e.X, isAndOr) }

// String renders "Field op literal".
func (e *Compare) String() string {
	return e.Case.wrap(e.Field) + " " + string(e.Op) + " " + literal(e.Value)
}

// String renders "func(Field,'text')".
func (e *Call) String() string {
	return string(e.Func) + "(" + e.Case.wrap(e.Field) + "," + literal(e.Arg) + ")"
}

// group renders e, in parentheses when needsParens says so.
func group(e Expr, needsParens func(Expr) bool) string {
	if needsParens(e) {
		return "(" + e.String() + ")"
	}
	return e.String()
}

func isOr(e Expr) bool { _, ok := e.(*Or); return ok }

func isAndOr(e Expr) bool {
	_, and := e.(*And)
	return and || isOr(e)
}

// literal renders a Compare or Call value in $filter syntax.
func literal(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			// Not writable in $filter; Parse never produces these.
			return "null"
		}
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0" // keep it a decimal, so -0.0 stays -0.0
		}
		return s
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(v)
}
