package odata

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// testSchema is a Jobs-like entity set.
func testSchema() Schema {
	return Schema{
		"Id":           Number,
		"Key":          String,
		"State":        String,
		"Name":         String,
		"Priority":     Number,
		"Enabled":      Bool,
		"CreationTime": DateTime,
		"EndTime":      DateTime,
	}
}

// rec is a Record backed by a map; a missing field is null.
type rec map[string]any

func (r rec) Field(name string) any { return r[name] }

// ids returns the Id field of each record, to compare results compactly.
func ids(rs []rec) []int {
	out := make([]int, 0, len(rs))
	for _, r := range rs {
		out = append(out, r["Id"].(int))
	}
	return out
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// state is a named string type, as jobs.State is.
type state string

// testRecords are a few jobs with nulls, named types and pointers among their values.
func testRecords() []rec {
	end := at("2024-05-01T12:00:00Z")
	return []rec{
		{"Id": 1, "Key": "0123abcd-0000-0000-0000-00000000000a", "State": state("Successful"), "Name": "Nightly report",
			"Priority": 2.5, "Enabled": true, "CreationTime": at("2024-05-01T10:00:00Z"), "EndTime": &end},
		{"Id": 2, "Key": "k2", "State": "Running", "Name": "it's mine", "Priority": int64(10),
			"Enabled": false, "CreationTime": at("2024-05-01T11:30:00+02:00"), "EndTime": (*time.Time)(nil)},
		{"Id": 3, "Key": "k3", "State": "Faulted", "Name": "NIGHTLY backup", "Priority": nil,
			"Enabled": true, "CreationTime": at("2024-05-02T08:00:00.5Z")},
		{"Id": 4, "Key": "k4", "State": "Running", "Name": nil, "Priority": uint8(1),
			"Enabled": nil, "CreationTime": at("2024-04-30T23:59:59Z")},
	}
}

// mustParse parses values against testSchema or fails the test.
func mustParse(t *testing.T, values url.Values) *Query {
	t.Helper()
	q, err := Parse(values, testSchema(), Options{})
	if err != nil {
		t.Fatalf("Parse(%v): %v", values, err)
	}
	return q
}

// asJobsError unwraps err into the *jobs.Error Parse promises.
func asJobsError(t *testing.T, err error) *jobs.Error {
	t.Helper()
	var je *jobs.Error
	if !errors.As(err, &je) {
		t.Fatalf("error %v (%T) is not a *jobs.Error", err, err)
	}
	return je
}
