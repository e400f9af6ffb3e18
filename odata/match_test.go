package odata

import (
	"encoding/json"
	"math"
	"net/url"
	"reflect"
	"testing"
)

func TestMatch_EvaluatesOverRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		givenFilter string
		expectIDs   []int
	}{
		{"no filter matches all", "", []int{1, 2, 3, 4}},
		{"named string type", "State eq 'Successful'", []int{1}},
		{"ne includes nulls", "Name ne 'it''s mine'", []int{1, 3, 4}},
		{"eq null", "Name eq null", []int{4}},
		{"ne null", "Priority ne null", []int{1, 2, 4}},
		{"null pointer is null", "EndTime eq null", []int{2, 3, 4}},
		{"pointer to time", "EndTime ge 2024-05-01T12:00:00Z", []int{1}},
		{"null is not greater or less", "Priority gt 0 or Priority le 0", []int{1, 2, 4}},
		{"int64, float64 and uint8 against an integer", "Priority ge 2", []int{1, 2}},
		{"against a decimal", "Priority lt 2.5", []int{4}},
		{"decimal equality", "Priority eq 2.5", []int{1}},
		{"Id range", "Id gt 1 and Id le 3", []int{2, 3}},
		{"literal on the left", "3 le Id", []int{3, 4}},
		{"or", "Id eq 1 or State eq 'Faulted'", []int{1, 3}},
		{"precedence: and before or", "Id eq 1 or Id eq 2 and Enabled", []int{1}},
		{"parentheses", "(Id eq 1 or Id eq 2) and Enabled eq false", []int{2}},
		{"not", "not State eq 'Running'", []int{1, 3}},
		{"bare Bool field", "Enabled", []int{1, 3}},
		{"not a bare Bool field includes null", "not Enabled", []int{2, 4}},
		{"Bool ne", "Enabled ne true", []int{2, 4}},
		{"contains is case-sensitive", "contains(Name,'ightly')", []int{1}},
		{"contains with tolower", "contains(tolower(Name),'nightly')", []int{1, 3}},
		{"tolower does not lower the literal", "tolower(Name) eq 'Nightly report'", nil},
		{"toupper comparison", "toupper(State) eq 'RUNNING'", []int{2, 4}},
		{"startswith", "startswith(Name,'NIGHT')", []int{3}},
		{"endswith", "endswith(Name,'mine')", []int{2}},
		{"function on null never matches", "not contains(Name,'')", []int{4}},
		{"string ordering", "State lt 'Running'", []int{3}},
		{"datetime compares instants across offsets", "CreationTime lt 2024-05-01T10:00:00Z", []int{2, 4}},
		{"datetime equality across offsets", "CreationTime eq 2024-05-01T12:00:00+02:00", []int{1}},
		{"datetime with fraction", "CreationTime gt 2024-05-02T08:00:00Z", []int{3}},
		{"date is midnight UTC", "CreationTime lt 2024-05-01", []int{4}},
		{"guid literal", "Key eq 0123ABCD-0000-0000-0000-00000000000A", []int{1}},
		{"missing field is null", "Id eq 1 and EndTime ne null", []int{1}},
	}
	records := testRecords()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := mustParse(t, url.Values{"$filter": {tt.givenFilter}})
			var got []int
			for _, r := range records {
				if q.Match(r) {
					got = append(got, r["Id"].(int))
				}
			}
			if !reflect.DeepEqual(got, tt.expectIDs) {
				t.Errorf("matched %v, expect %v", got, tt.expectIDs)
			}
		})
	}
}

func TestMatch_ToleratesOddRecordValues(t *testing.T) {
	t.Parallel()
	big := int64(1<<62 + 1)
	tests := []struct {
		name        string
		givenFilter string
		givenValue  any // the Priority of the record
		expect      bool
	}{
		{"NaN equals nothing", "Priority eq 1", math.NaN(), false},
		{"NaN differs from everything", "Priority ne 1", math.NaN(), true},
		{"NaN is not less", "Priority lt 1", math.NaN(), false},
		{"large int64 compared exactly with a decimal", "Priority gt 4611686018427387904.0", big, true},
		{"large int64 compared exactly with an integer", "Priority eq 4611686018427387905", big, true},
		{"uint64 beyond int64", "Priority gt 9223372036854775807", uint64(math.MaxUint64), true},
		{"float32", "Priority eq 0.5", float32(0.5), true},
		{"json.Number", "Priority eq 7", json.Number("7"), true},
		{"pointer to int", "Priority eq 3", func() *int { n := 3; return &n }(), true},
		{"wrong type is not equal", "Priority eq 3", "3", false},
		{"wrong type is different", "Priority ne 3", "3", true},
		{"wrong type is not ordered", "Priority lt 3", true, false},
		{"a struct is not a number", "Priority eq 3", struct{}{}, false},
		{"a string field given an int", "Name eq 'x'", 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := mustParse(t, url.Values{"$filter": {tt.givenFilter}})
			r := rec{"Priority": tt.givenValue, "Name": tt.givenValue}
			if got := q.Match(r); got != tt.expect {
				t.Errorf("Match = %v, expect %v", got, tt.expect)
			}
		})
	}
}

func TestMatch_NilQueryOrRecord(t *testing.T) {
	t.Parallel()
	var q *Query
	if !q.Match(rec{}) {
		t.Error("nil query must match everything")
	}
	q = mustParse(t, url.Values{"$filter": {"Name eq null and CreationTime ne 2024-01-01T00:00:00Z"}})
	if !q.Match(nil) {
		t.Error("nil record must read as all nulls")
	}
}
