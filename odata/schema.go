package odata

import (
	"fmt"
	"slices"
	"strings"
)

// FieldType is the type of a field that $filter, $orderby and $select may name. It decides
// which literals and operators a $filter may use with the field.
type FieldType int

// The field types. The zero FieldType is not one of them: a Schema entry must name a type.
const (
	// String fields hold text; Record.Field returns a string (or a named string type).
	String FieldType = iota + 1
	// Number fields hold integers or decimals; Record.Field returns an int, int64, float64
	// or any other Go integer or float type.
	Number
	// Bool fields hold true or false and support only eq and ne.
	Bool
	// DateTime fields hold instants; Record.Field returns a time.Time or *time.Time.
	DateTime
	// Object fields hold structured values (objects, arrays). $select may name them;
	// $filter and $orderby may not.
	Object
)

// String returns the type's name as error messages show it.
func (t FieldType) String() string {
	switch t {
	case String:
		return "String"
	case Number:
		return "Number"
	case Bool:
		return "Bool"
	case DateTime:
		return "DateTime"
	case Object:
		return "Object"
	}
	return fmt.Sprintf("FieldType(%d)", int(t))
}

// Schema declares the fields of one entity set, by exact PascalCase name. Names match
// case-sensitively, as in OData; a near miss gets a "did you mean" hint in the error.
// Field names should not be $filter keywords (and, or, not, eq, true, null, …): keywords
// are matched case-insensitively and win over fields.
type Schema map[string]FieldType

// unknownField says that name is not in the schema, suggesting the field the client most
// likely meant, or listing the fields when nothing is close.
func (s Schema) unknownField(name string) string {
	msg := "unknown field " + quote(name)
	if near := s.closest(name); near != "" {
		return msg + fmt.Sprintf(" (did you mean %q?)", near)
	}
	return msg + " (fields: " + strings.Join(s.names(), ", ") + ")"
}

// names returns the field names in sorted order, so messages are stable.
func (s Schema) names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// closest returns the field name that differs from name only in case, or failing that the
// one within a small edit distance; "" when none is close enough to be a useful hint.
func (s Schema) closest(name string) string {
	names := s.names()
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	// Allow one edit per three characters, at most two: "Stat" → "State", but no wild
	// guesses for two-letter names.
	budget := min(2, len(name)/3)
	if budget == 0 || len(name) > 64 {
		return ""
	}
	best, bestDist := "", budget+1
	lower := strings.ToLower(name)
	for _, n := range names {
		if d := editDistance(lower, strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, counted in bytes (names are
// ASCII identifiers).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quote renders client text for an error message: Go-quoted so control characters stay
// visible, and cut short so a long input does not flood the message.
func quote(s string) string {
	const limit = 40
	if len(s) > limit {
		cut := limit
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// isRuneStart reports whether b begins a UTF-8 sequence (or is ASCII).
func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
