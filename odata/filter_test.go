package odata

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/jobgate/jobgate/jobs"
)

func TestParseFilter_BuildsTheTree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenFilter  string
		expectRender string
	}{
		{"comparison", "Id eq 5", "Id eq 5"},
		{"every operator", "Id ne 1 and Id gt 2 and Id ge 3 and Id lt 4 and Id le 5",
			"Id ne 1 and Id gt 2 and Id ge 3 and Id lt 4 and Id le 5"},
		{"and binds tighter than or", "Id eq 1 or Id eq 2 and Id eq 3", "Id eq 1 or Id eq 2 and Id eq 3"},
		{"parentheses override", "(Id eq 1 or Id eq 2) and Id eq 3", "(Id eq 1 or Id eq 2) and Id eq 3"},
		{"redundant parentheses go", "((Id eq 1)) and ((Id eq 2))", "Id eq 1 and Id eq 2"},
		{"right-nested or keeps its group", "Id eq 1 or (Id eq 2 or Id eq 3)", "Id eq 1 or (Id eq 2 or Id eq 3)"},
		{"not negates the comparison", "not Id eq 5", "not Id eq 5"},
		{"not of a group", "not (Id eq 1 or Id eq 2)", "not (Id eq 1 or Id eq 2)"},
		{"not without a space", "not(Id eq 1)", "not Id eq 1"},
		{"keywords in any case", "NOT Id EQ 1 AND Enabled Eq TRUE Or Name eq NULL",
			"not Id eq 1 and Enabled eq true or Name eq null"},
		{"functions in any case", "Contains(Name,'a') and STARTSWITH(Name,'b') and endsWith(Name,'c')",
			"contains(Name,'a') and startswith(Name,'b') and endswith(Name,'c')"},
		{"tolower in a function", "contains(tolower(Name), 'nightly')", "contains(tolower(Name),'nightly')"},
		{"toupper in a comparison", "toupper(State) eq 'RUNNING'", "toupper(State) eq 'RUNNING'"},
		{"literal on the left flips the operator", "5 lt Id", "Id gt 5"},
		{"bare Bool field", "Enabled", "Enabled eq true"},
		{"not of a bare Bool field", "not Enabled", "not Enabled eq true"},
		{"not binding as OData ranks it agrees", "not Enabled eq false", "not Enabled eq false"},
		{"condition eq true is the condition", "contains(Name,'x') eq true", "contains(Name,'x')"},
		{"condition eq false is its negation", "contains(Name,'x') eq false", "not contains(Name,'x')"},
		{"true ne condition", "true ne (Id eq 1)", "not Id eq 1"},
		{"escaped quote", "Name eq 'it''s'", "Name eq 'it''s'"},
		{"empty string", "Name eq ''", "Name eq ''"},
		{"negative and decimal numbers", "Priority gt -2.5 and Id lt -3", "Priority gt -2.5 and Id lt -3"},
		{"exponent", "Priority lt 1.5e3", "Priority lt 1500.0"},
		{"integer beyond int64 becomes a decimal", "Id lt 99999999999999999999", "Id lt 1e+20"},
		{"null", "EndTime eq null and Name ne null", "EndTime eq null and Name ne null"},
		{"datetime unquoted", "CreationTime ge 2024-05-01T10:00:00Z", "CreationTime ge 2024-05-01T10:00:00Z"},
		{"datetime with fraction and offset", "CreationTime lt 2024-05-01T10:00:00.250-03:30",
			"CreationTime lt 2024-05-01T10:00:00.25-03:30"},
		{"datetime whose + arrived as a space", "CreationTime lt 2024-05-01T10:00:00 02:00",
			"CreationTime lt 2024-05-01T10:00:00+02:00"},
		{"datetime without seconds", "CreationTime lt 2024-05-01T10:00Z", "CreationTime lt 2024-05-01T10:00:00Z"},
		{"date alone is midnight UTC", "CreationTime lt 2024-05-01", "CreationTime lt 2024-05-01T00:00:00Z"},
		{"datetime quoted", "CreationTime gt '2024-05-01T10:00:00Z'", "CreationTime gt 2024-05-01T10:00:00Z"},
		{"datetime lowercase t and z", "CreationTime gt 2024-05-01t10:00:00z", "CreationTime gt 2024-05-01T10:00:00Z"},
		{"guid unquoted", "Key eq 0123ABCD-0000-0000-0000-00000000000A", "Key eq '0123abcd-0000-0000-0000-00000000000a'"},
		{"whitespace of every kind", "\tId\neq\r\n1 ", "Id eq 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := mustParse(t, url.Values{"$filter": {tt.givenFilter}})
			got := q.Filter.String()
			if got != tt.expectRender {
				t.Errorf("rendered %q, expect %q", got, tt.expectRender)
			}
			// The rendering parses back to the same tree.
			again := mustParse(t, url.Values{"$filter": {got}})
			if !reflect.DeepEqual(again.Filter, q.Filter) {
				t.Errorf("rendering %q parses back as %q", got, again.Filter)
			}
		})
	}
}

func TestParseFilter_RefusesSayingWhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenFilter  string
		expectDetail string
	}{
		{"unknown field", "Stat eq 'x'", `at position 0: unknown field "Stat" (did you mean "State"?)`},
		{"field names are case-sensitive", "id eq 1", `at position 0: unknown field "id" (did you mean "Id"?)`},
		{"number field with a string", "Id eq '5'", `at position 6: "Id" is a Number field; it cannot be compared with '5'`},
		{"string field with a number", "Name eq 5",
			`at position 8: "Name" is a String field; it cannot be compared with 5 (put text in single quotes)`},
		{"string field with a bare word", "State eq Running", `at position 9: unknown field "Running" (fields: CreationTime, Enabled, EndTime, Id, Key, Name, Priority, State)`},
		{"bool field with gt", "Enabled gt false", `at position 8: "Enabled" is a Bool field; it supports eq and ne, not gt`},
		{"bool field with a number", "Enabled eq 1", `at position 11: "Enabled" is a Bool field; it cannot be compared with 1 (use true or false)`},
		{"datetime field with a bad string", "CreationTime gt 'yesterday'",
			`at position 16: 'yesterday' is not a datetime (want RFC 3339, e.g. 2024-05-01T10:00:00Z)`},
		{"datetime field with a number", "CreationTime gt 2024",
			`at position 16: "CreationTime" is a DateTime field; it cannot be compared with 2024 (write a datetime such as 2024-05-01T10:00:00Z)`},
		{"datetime without a zone", "CreationTime gt 2024-05-01T10:00:00",
			`at position 16: malformed datetime "2024-05-01T10:00:00" (want RFC 3339, e.g. 2024-05-01T10:00:00Z)`},
		{"impossible datetime", "CreationTime gt 2024-13-01T10:00:00Z",
			`at position 16: malformed datetime "2024-13-01T10:00:00Z" (want RFC 3339, e.g. 2024-05-01T10:00:00Z)`},
		{"null with gt", "Id gt null", "at position 3: null can only be compared with eq or ne, not gt"},
		{"two fields", "Id eq Priority", `at position 6: comparing two fields is not supported; compare "Id" with a value`},
		{"two values", "1 eq 1", "at position 0: a comparison needs a field on one side, got two values"},
		{"a value alone", "true", `at position 0: expected a condition, got the value "true"`},
		{"a non-Bool field alone", "Id and Enabled", `at position 3: expected a comparison operator (eq, ne, gt, ge, lt, le) after "Id", got "and"`},
		{"missing right side", "Id eq", "at position 5: expected a field or a value, got the end of the filter"},
		{"missing operand after and", "Id eq 1 and", "at position 11: expected a field or a value, got the end of the filter"},
		{"operator as operand", "Id eq eq", `at position 6: expected a field or a value, got "eq"`},
		{"trailing garbage", "Id eq 1 Name eq 'x'", `at position 8: expected and, or, or the end of the filter, got "Name"`},
		{"unclosed parenthesis", "(Id eq 1 or Id eq 2", `at position 19: expected ")" to close the "(" at position 0, got the end of the filter`},
		{"stray closing parenthesis", "Id eq 1)", `at position 7: expected and, or, or the end of the filter, got ")"`},
		{"empty parentheses", "()", `at position 1: expected a field or a value, got ")"`},
		{"unterminated string", "Name eq 'abc", "at position 8: unterminated string: a closing ' is missing"},
		{"malformed number", "Id eq 5x", `at position 6: malformed number "5x"`},
		{"lone minus", "Id eq -", `at position 6: malformed number "-"`},
		{"number out of range", "Priority eq 1e400", `at position 12: number "1e400" is out of range`},
		{"unexpected character", "Id eq 1 && Id eq 2", `at position 8: unexpected character "&"`},
		{"unexpected non-ASCII character", "Id eq 1 é", `at position 8: unexpected character "é"`},
		{"unknown function", "length(Name) eq 3",
			`at position 0: unknown function "length" (functions: contains, startswith, endswith, tolower, toupper)`},
		{"function on a number field", "contains(Id,'1')", `at position 9: contains() needs a String field; "Id" is Number`},
		{"tolower on a number field", "tolower(Id) eq 'x'", `at position 8: tolower() needs a String field; "Id" is Number`},
		{"function without its parenthesis closed", "contains(Name,'x' or Id eq 1", `at position 18: expected ")", got "or"`},
		{"tolower without a field", "tolower('x') eq 'x'", `at position 8: expected a field, got "'x'"`},
		{"function with a number argument", "startswith(Name,1)",
			"at position 16: startswith() needs a text in single quotes as its second argument, got \"1\""},
		{"function missing its comma", "endswith(Name 'x')", `at position 14: expected ",", got "'x'"`},
		{"condition compared with a number", "contains(Name,'x') eq 1",
			"at position 19: a condition can only be compared with true or false, using eq or ne"},
		{"condition compared with gt", "(Id eq 1) gt true",
			"at position 10: a condition can only be compared with true or false, using eq or ne"},
		{"condition compared with a field", "Enabled eq (Id eq 1)", "at position 0: comparing a condition with a field is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(url.Values{"$filter": {tt.givenFilter}}, testSchema(), Options{})
			if err == nil {
				t.Fatal("Parse succeeded, expect an error")
			}
			je := asJobsError(t, err)
			expect := []jobs.FieldError{{Name: "$filter", Detail: tt.expectDetail}}
			if je.Code != jobs.EINVALID || !reflect.DeepEqual(je.Fields, expect) {
				t.Errorf("got %s %+v\nexpect      %+v", je.Code, je.Fields, expect)
			}
			if want := "$filter: " + tt.expectDetail; je.Message != want {
				t.Errorf("message = %q, expect %q", je.Message, want)
			}
		})
	}
}

func TestParseFilter_LimitsNestingAndLength(t *testing.T) {
	t.Parallel()
	nested := func(n int) string {
		return strings.Repeat("(", n) + "Id eq 1" + strings.Repeat(")", n)
	}
	tests := []struct {
		name         string
		givenFilter  string
		expectDetail string // "" = accepted
	}{
		{"parentheses at the limit", nested(MaxDepth), ""},
		{"parentheses past the limit", nested(MaxDepth + 1), "at position 64: nested more than 64 levels deep"},
		{"nots at the limit", strings.Repeat("not ", MaxDepth) + "Enabled", ""},
		{"nots past the limit", strings.Repeat("not ", MaxDepth+1) + "Enabled", "at position 256: nested more than 64 levels deep"},
		{"mixed nesting past the limit", strings.Repeat("not (", 40) + "Enabled" + strings.Repeat(")", 40),
			"at position 160: nested more than 64 levels deep"},
		{"a huge nesting is refused by length first", nested(100000), "is 200007 bytes long; the limit is 4096"},
		{"long flat input within the limit", "Id eq 1" + strings.Repeat(" or Id eq 1", (MaxLength-7)/11), ""},
		{"one byte too long", "Name eq '" + strings.Repeat("x", MaxLength-9) + "'", "is 4097 bytes long; the limit is 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(url.Values{"$filter": {tt.givenFilter}}, testSchema(), Options{})
			if tt.expectDetail == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse succeeded, expect an error")
			}
			je := asJobsError(t, err)
			if len(je.Fields) != 1 || je.Fields[0].Detail != tt.expectDetail {
				t.Errorf("fields = %+v, expect detail %q", je.Fields, tt.expectDetail)
			}
		})
	}
}
