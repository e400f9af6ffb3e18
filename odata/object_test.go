package odata

import (
	"net/url"
	"testing"
)

// objectSchema has a structured field beside the scalar ones.
func objectSchema() Schema {
	s := testSchema()
	s["Arguments"] = Object
	return s
}

func TestParse_ObjectFieldsCanBeSelectedOnly(t *testing.T) {
	q, err := Parse(url.Values{"$select": {"Id,Arguments"}}, objectSchema(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := q.Project(map[string]any{"Id": 1, "Name": "x", "Arguments": map[string]any{"a": 1}})
	if len(got) != 2 || got["Arguments"] == nil {
		t.Fatalf("Project = %v, want Id and Arguments", got)
	}
	for option, value := range map[string]string{
		"$filter":  "Arguments eq null",
		"$orderby": "Name,Arguments desc",
	} {
		_, err := Parse(url.Values{option: {value}}, objectSchema(), Options{})
		e := asJobsError(t, err)
		if len(e.Fields) != 1 || e.Fields[0].Name != option {
			t.Fatalf("%s=%s: fields %v", option, value, e.Fields)
		}
		want := map[string]string{"$filter": "at position 0: \"Arguments\" is a structured field", "$orderby": "at position 5: \"Arguments\" is a structured field"}[option]
		if d := e.Fields[0].Detail; len(d) < len(want) || d[:len(want)] != want {
			t.Fatalf("%s: detail %q, want it to start with %q", option, d, want)
		}
	}
	if Object.String() != "Object" {
		t.Fatalf("Object.String() = %q", Object.String())
	}
}
