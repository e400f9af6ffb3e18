package odata

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/jobgate/jobgate/jobs"
)

func TestParse_ReadsEveryOption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenValues  url.Values
		givenOptions Options
		expect       Query // Filter compared by its rendering in expectFilter
		expectFilter string
	}{
		{
			name:        "no options gives the default page and no filter",
			givenValues: url.Values{},
			expect:      Query{Top: 100},
		},
		{
			name: "every option",
			givenValues: url.Values{
				"$filter":  {"State eq 'Running'"},
				"$orderby": {"CreationTime desc, Id"},
				"$top":     {"10"},
				"$skip":    {"20"},
				"$count":   {"true"},
				"$select":  {"Id, State,Id"},
			},
			expect: Query{
				OrderBy: []OrderKey{{Field: "CreationTime", Desc: true}, {Field: "Id"}},
				Top:     10, Skip: 20, Count: true, Select: []string{"Id", "State"},
			},
			expectFilter: "State eq 'Running'",
		},
		{
			name:         "option names and values are case-insensitive",
			givenValues:  url.Values{"$Filter": {"State EQ 'x'"}, "$ORDERBY": {"Id DESC"}, "$count": {"TRUE"}},
			expect:       Query{OrderBy: []OrderKey{{Field: "Id", Desc: true}}, Top: 100, Count: true},
			expectFilter: "State eq 'x'",
		},
		{
			name:        "parameters without $ belong to someone else",
			givenValues: url.Values{"filter": {"garbage"}, "api-version": {"2"}, "$top": {"0"}},
			expect:      Query{Top: 0},
		},
		{
			name:        "empty filter, orderby and select mean none",
			givenValues: url.Values{"$filter": {"  "}, "$orderby": {""}, "$select": {""}},
			expect:      Query{Top: 100},
		},
		{
			name:        "$select=* means all fields",
			givenValues: url.Values{"$select": {"*"}},
			expect:      Query{Top: 100},
		},
		{
			name:        "$count=false",
			givenValues: url.Values{"$count": {"False"}},
			expect:      Query{Top: 100},
		},
		{
			name:         "custom default and max",
			givenValues:  url.Values{},
			givenOptions: Options{DefaultTop: 20, MaxTop: 50},
			expect:       Query{Top: 20},
		},
		{
			name:         "default never exceeds max",
			givenValues:  url.Values{},
			givenOptions: Options{DefaultTop: 500, MaxTop: 50},
			expect:       Query{Top: 50},
		},
		{
			name:        "$top at the maximum",
			givenValues: url.Values{"$top": {"1000"}},
			expect:      Query{Top: 1000},
		},
		{
			name:        "$orderby accepts asc and a + decoded as a space",
			givenValues: url.Values{"$orderby": {"Name asc,Priority  desc ,Enabled"}},
			expect: Query{Top: 100, OrderBy: []OrderKey{
				{Field: "Name"}, {Field: "Priority", Desc: true}, {Field: "Enabled"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := Parse(tt.givenValues, testSchema(), tt.givenOptions)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			gotFilter := ""
			if q.Filter != nil {
				gotFilter = q.Filter.String()
			}
			if gotFilter != tt.expectFilter {
				t.Errorf("filter = %q, expect %q", gotFilter, tt.expectFilter)
			}
			q.Filter = nil
			if !reflect.DeepEqual(*q, tt.expect) {
				t.Errorf("query = %+v, expect %+v", *q, tt.expect)
			}
		})
	}
}

func TestParse_RefusesBadOptionsSayingWhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenValues  url.Values
		expectField  string
		expectDetail string // exact
	}{
		{"unknown option", url.Values{"$expand": {"Robot"}}, "$expand",
			"$expand is not supported (supported: $filter, $orderby, $top, $skip, $count, $select)"},
		{"unknown option keeps its spelling", url.Values{"$Foo": {""}}, "$Foo",
			"$Foo is not supported (supported: $filter, $orderby, $top, $skip, $count, $select)"},
		{"option given twice", url.Values{"$top": {"1", "2"}}, "$top", "is given 2 times; give it once"},
		{"option given twice in two spellings", url.Values{"$filter": {"Id eq 1"}, "$FILTER": {"Id eq 2"}}, "$filter",
			"is given 2 times; give it once"},
		{"too long", url.Values{"$orderby": {strings.Repeat(" ", MaxLength) + "Id"}}, "$orderby",
			"is 4098 bytes long; the limit is 4096"},
		{"$top over the maximum", url.Values{"$top": {"1001"}}, "$top", `"1001" is more than the maximum of 1000`},
		{"$top far over the maximum", url.Values{"$top": {"99999999999999999999999"}}, "$top",
			`"99999999999999999999999" is more than the maximum of 1000`},
		{"$top negative", url.Values{"$top": {"-1"}}, "$top", `expected a whole number from 0 to 1000, got "-1"`},
		{"$top not an integer", url.Values{"$top": {"1.5"}}, "$top", `expected a whole number from 0 to 1000, got "1.5"`},
		{"$top empty", url.Values{"$top": {""}}, "$top", `expected a whole number from 0 to 1000, got ""`},
		{"$skip negative", url.Values{"$skip": {"-5"}}, "$skip", `expected a whole number from 0 up, got "-5"`},
		{"$skip word", url.Values{"$skip": {"ten"}}, "$skip", `expected a whole number from 0 up, got "ten"`},
		{"$count not a bool", url.Values{"$count": {"yes"}}, "$count", `expected true or false, got "yes"`},
		{"$orderby direction", url.Values{"$orderby": {"Id up"}}, "$orderby",
			`at position 3: expected asc or desc after "Id", got "up"`},
		{"$orderby unknown field with a hint", url.Values{"$orderby": {"Id, state desc"}}, "$orderby",
			`at position 4: unknown field "state" (did you mean "State"?)`},
		{"$orderby field twice", url.Values{"$orderby": {"Id,Name,Id desc"}}, "$orderby",
			`at position 8: "Id" is already a sort key`},
		{"$orderby trailing comma", url.Values{"$orderby": {"Id,"}}, "$orderby",
			"at position 3: expected a field name before the end"},
		{"$orderby empty item", url.Values{"$orderby": {"Id,,Name"}}, "$orderby",
			`at position 3: expected a field name before ","`},
		{"$orderby extra word", url.Values{"$orderby": {"Id desc please"}}, "$orderby",
			`at position 8: expected , or the end after "Id desc", got "please"`},
		{"$select unknown field listing the fields", url.Values{"$select": {"Id,Robot"}}, "$select",
			`at position 3: unknown field "Robot" (fields: CreationTime, Enabled, EndTime, Id, Key, Name, Priority, State)`},
		{"$select two words", url.Values{"$select": {"Id Name"}}, "$select",
			`at position 3: expected , or the end after "Id", got "Name"`},
		{"$filter unknown field", url.Values{"$filter": {"Id gt 5 and Stat eq 'x'"}}, "$filter",
			`at position 12: unknown field "Stat" (did you mean "State"?)`},
		{"$filter positions count characters, not bytes", url.Values{"$filter": {"Name eq 'héhé' and Nme eq 'x'"}}, "$filter",
			`at position 19: unknown field "Nme" (did you mean "Name"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.givenValues, testSchema(), Options{})
			if err == nil {
				t.Fatal("Parse succeeded, expect an error")
			}
			je := asJobsError(t, err)
			if je.Code != jobs.EINVALID {
				t.Errorf("code = %q, expect %q", je.Code, jobs.EINVALID)
			}
			expect := []jobs.FieldError{{Name: tt.expectField, Detail: tt.expectDetail}}
			if !reflect.DeepEqual(je.Fields, expect) {
				t.Errorf("fields = %+v\nexpect   %+v", je.Fields, expect)
			}
			if !strings.Contains(je.Message, tt.expectDetail) {
				t.Errorf("message %q does not carry the detail", je.Message)
			}
		})
	}
}

func TestParse_ReportsEveryBadOptionAtOnce(t *testing.T) {
	t.Parallel()
	_, err := Parse(url.Values{
		"$filter": {"Id eq 'x'"},
		"$top":    {"5000"},
		"$expand": {"Robot"},
	}, testSchema(), Options{})
	je := asJobsError(t, err)
	expectMessage := `$expand is not supported (supported: $filter, $orderby, $top, $skip, $count, $select); ` +
		`$filter: at position 6: "Id" is a Number field; it cannot be compared with 'x'; ` +
		`$top: "5000" is more than the maximum of 1000`
	if je.Message != expectMessage {
		t.Errorf("message = %q\nexpect    %q", je.Message, expectMessage)
	}
	var names []string
	for _, f := range je.Fields {
		names = append(names, f.Name)
	}
	if expect := []string{"$expand", "$filter", "$top"}; !reflect.DeepEqual(names, expect) {
		t.Errorf("fields = %v, expect %v", names, expect)
	}
}

func TestProject_KeepsSelectedFieldsAndAnnotations(t *testing.T) {
	t.Parallel()
	entity := map[string]any{"Id": 1, "State": "Running", "Name": "x", "@odata.etag": "W/1"}
	tests := []struct {
		name        string
		givenSelect string
		expect      map[string]any
	}{
		{"no $select returns everything", "", entity},
		{"star returns everything", "*", entity},
		{"selected fields only", "State,Id",
			map[string]any{"Id": 1, "State": "Running", "@odata.etag": "W/1"}},
		{"a selected field the entity lacks is left out", "Id,Priority",
			map[string]any{"Id": 1, "@odata.etag": "W/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := mustParse(t, url.Values{"$select": {tt.givenSelect}})
			if got := q.Project(entity); !reflect.DeepEqual(got, tt.expect) {
				t.Errorf("Project = %v, expect %v", got, tt.expect)
			}
		})
	}
}
