package odata

import (
	"net/url"
	"reflect"
	"slices"
	"testing"
)

func TestLess_SortsByEveryKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenOrderBy string
		expectIDs    []int
	}{
		{"no keys keeps the input order", "", []int{1, 2, 3, 4}},
		{"number ascending, nulls first", "Priority", []int{3, 4, 1, 2}},
		{"number descending, nulls last", "Priority desc", []int{2, 1, 4, 3}},
		{"string then number", "State asc, Id desc", []int{3, 4, 2, 1}},
		{"string descending then number", "State desc,Id", []int{1, 2, 4, 3}},
		{"bool: null, false, true, then the next key", "Enabled, Id desc", []int{4, 2, 3, 1}},
		{"datetime across offsets", "CreationTime", []int{4, 2, 1, 3}},
		{"pointer datetime with nulls last descending", "EndTime desc,Id", []int{1, 2, 3, 4}},
		{"nulls first for strings", "Name", []int{4, 3, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := mustParse(t, url.Values{"$orderby": {tt.givenOrderBy}})
			records := testRecords()
			slices.SortStableFunc(records, func(a, b rec) int {
				switch {
				case q.Less(a, b):
					return -1
				case q.Less(b, a):
					return 1
				}
				return 0
			})
			if got := ids(records); !reflect.DeepEqual(got, tt.expectIDs) {
				t.Errorf("order %v, expect %v", got, tt.expectIDs)
			}
		})
	}
}

func TestLess_TiesAreNotLess(t *testing.T) {
	t.Parallel()
	q := mustParse(t, url.Values{"$orderby": {"State"}})
	a, b := rec{"Id": 1, "State": "Running"}, rec{"Id": 2, "State": "Running"}
	if q.Less(a, b) || q.Less(b, a) || q.Less(a, a) {
		t.Error("records equal on every key must not be less either way")
	}
	var none *Query
	if none.Less(a, b) {
		t.Error("a nil query orders nothing")
	}
}

func TestLess_OrdersMixedKindsConsistently(t *testing.T) {
	t.Parallel()
	// A Record that returns different kinds for one field still gets a total order:
	// null, bool, numbers (NaN first), strings, datetimes, anything else.
	q := mustParse(t, url.Values{"$orderby": {"Priority"}})
	values := []any{struct{}{}, at("2024-01-01T00:00:00Z"), "b", "a", 2.5, int64(2), nanValue(), true, false, nil}
	var records []rec
	for i, v := range values {
		records = append(records, rec{"Id": i, "Priority": v})
	}
	slices.SortStableFunc(records, func(a, b rec) int { return q.compare(a, b) })
	if got, expect := ids(records), []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}; !reflect.DeepEqual(got, expect) {
		t.Errorf("order %v, expect %v", got, expect)
	}
}

// nanValue returns a NaN without a constant expression the compiler would refuse.
func nanValue() float64 {
	zero := 0.0
	return zero / zero
}
