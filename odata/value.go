package odata

import (
	"cmp"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"time"
)

// Record is one entity as the query layer sees it. Field returns the named field's value:
// a string, any Go integer or float type, a bool, a time.Time, or nil for null. Named
// types (type State string) and pointers (*time.Time, nil meaning null) work too.
type Record interface {
	Field(name string) any
}

// valueKind is the kind of a normalised field value.
type valueKind int

const (
	kindNull valueKind = iota
	kindString
	kindInt
	kindFloat
	kindBool
	kindTime
	kindOther // a type no FieldType describes; compares equal to other such values
)

// value is a field or literal value reduced to the few kinds the query layer compares.
type value struct {
	kind valueKind
	s    string
	i    int64
	f    float64
	b    bool
	t    time.Time
}

// fieldValue reads one field of r; a nil Record has only nulls.
func fieldValue(r Record, name string) value {
	if r == nil {
		return value{}
	}
	return valueOf(r.Field(name))
}

// valueOf normalises v. The common types take a fast path; named and pointer types go
// through reflection.
func valueOf(v any) value {
	switch v := v.(type) {
	case nil:
		return value{}
	case string:
		return value{kind: kindString, s: v}
	case int64:
		return value{kind: kindInt, i: v}
	case int:
		return value{kind: kindInt, i: int64(v)}
	case float64:
		return value{kind: kindFloat, f: v}
	case bool:
		return value{kind: kindBool, b: v}
	case time.Time:
		return value{kind: kindTime, t: v}
	case *time.Time:
		if v == nil {
			return value{}
		}
		return value{kind: kindTime, t: *v}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return value{kind: kindInt, i: i}
		}
		if f, err := v.Float64(); err == nil {
			return value{kind: kindFloat, f: f}
		}
		return value{kind: kindOther}
	}
	return reflectValue(reflect.ValueOf(v))
}

// reflectValue normalises the values valueOf has no fast path for.
func reflectValue(rv reflect.Value) value {
	// Follow a bounded number of pointers, so a pointer cycle cannot loop forever.
	for range 8 {
		if rv.Kind() != reflect.Pointer && rv.Kind() != reflect.Interface {
			break
		}
		if rv.IsNil() {
			return value{}
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.String:
		return value{kind: kindString, s: rv.String()}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return value{kind: kindInt, i: rv.Int()}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return value{kind: kindInt, i: int64(u)}
		}
		return value{kind: kindFloat, f: float64(rv.Uint())}
	case reflect.Float32, reflect.Float64:
		return value{kind: kindFloat, f: rv.Float()}
	case reflect.Bool:
		return value{kind: kindBool, b: rv.Bool()}
	case reflect.Struct:
		if rv.CanInterface() {
			if t, ok := rv.Interface().(time.Time); ok {
				return value{kind: kindTime, t: t}
			}
		}
	case reflect.Pointer, reflect.Interface:
		return value{} // a chain of pointers longer than we follow
	}
	return value{kind: kindOther}
}

// compareValues compares two non-null values of comparable kinds, for $filter. ok is false
// when they cannot be compared: different kinds, or a NaN.
func compareValues(a, b value) (c int, ok bool) {
	switch {
	case a.kind == kindString && b.kind == kindString:
		return strings.Compare(a.s, b.s), true
	case isNumber(a) && isNumber(b):
		if (a.kind == kindFloat && math.IsNaN(a.f)) || (b.kind == kindFloat && math.IsNaN(b.f)) {
			return 0, false
		}
		return compareNumbers(a, b), true
	case a.kind == kindBool && b.kind == kindBool:
		return compareBools(a.b, b.b), true
	case a.kind == kindTime && b.kind == kindTime:
		return a.t.Compare(b.t), true
	}
	return 0, false
}

// orderValues is a total order over all values, for $orderby: null first, then values by
// kind (bool, number, string, datetime, other) and within a kind by value, with NaN
// before every other number. A well-behaved Record returns one kind per field, so only
// null and the field's own kind meet in practice; the rest keeps the order consistent
// whatever a Record returns, as sorting requires.
func orderValues(a, b value) int {
	if ra, rb := rank(a), rank(b); ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch {
	case a.kind == kindString:
		return strings.Compare(a.s, b.s)
	case isNumber(a):
		return compareNumbers(a, b)
	case a.kind == kindBool:
		return compareBools(a.b, b.b)
	case a.kind == kindTime:
		return a.t.Compare(b.t)
	}
	return 0
}

// rank orders the kinds for orderValues; ints and floats share a rank.
func rank(v value) int {
	switch v.kind {
	case kindNull:
		return 0
	case kindBool:
		return 1
	case kindInt, kindFloat:
		return 2
	case kindString:
		return 3
	case kindTime:
		return 4
	}
	return 5
}

func isNumber(v value) bool { return v.kind == kindInt || v.kind == kindFloat }

func compareBools(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// compareNumbers compares two numbers exactly, even an int64 beyond 2^53 with a float64;
// NaN sorts before every other number (as cmp.Compare does).
func compareNumbers(a, b value) int {
	switch {
	case a.kind == kindInt && b.kind == kindInt:
		return cmp.Compare(a.i, b.i)
	case a.kind == kindFloat && b.kind == kindFloat:
		return cmp.Compare(a.f, b.f)
	case a.kind == kindInt:
		return compareIntFloat(a.i, b.f)
	}
	return -compareIntFloat(b.i, a.f)
}

// compareIntFloat compares i with f without rounding i to a float64.
func compareIntFloat(i int64, f float64) int {
	switch {
	case math.IsNaN(f):
		return 1
	case f >= 1<<63:
		return -1
	case f < -(1 << 63):
		return 1
	}
	whole := math.Trunc(f)
	if c := cmp.Compare(i, int64(whole)); c != 0 {
		return c
	}
	// Same whole part: the fraction decides.
	return cmp.Compare(0, f-whole)
}
