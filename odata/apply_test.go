package odata

import (
	"net/url"
	"reflect"
	"testing"
)

func TestApply_FiltersSortsCountsAndPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		givenValues   url.Values
		expectIDs     []int
		expectMatched int
	}{
		{"defaults return everything in order", url.Values{}, []int{1, 2, 3, 4}, 4},
		{"filter and sort", url.Values{"$filter": {"Id ne 2"}, "$orderby": {"Id desc"}}, []int{4, 3, 1}, 3},
		{"top", url.Values{"$orderby": {"Id desc"}, "$top": {"2"}}, []int{4, 3}, 4},
		{"skip", url.Values{"$skip": {"1"}}, []int{2, 3, 4}, 4},
		{"skip and top", url.Values{"$orderby": {"CreationTime"}, "$skip": {"1"}, "$top": {"2"}}, []int{2, 1}, 4},
		{"top 0 still counts", url.Values{"$top": {"0"}, "$filter": {"Enabled"}}, []int{}, 2},
		{"skip past the end", url.Values{"$skip": {"10"}}, []int{}, 4},
		{"top past the end", url.Values{"$skip": {"3"}, "$top": {"10"}}, []int{4}, 4},
		{"nothing matches", url.Values{"$filter": {"Id gt 100"}}, []int{}, 0},
		{"stable sort keeps input order within ties", url.Values{"$orderby": {"State desc"}}, []int{1, 2, 4, 3}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := mustParse(t, tt.givenValues)
			items := testRecords()
			page, matched := Apply(items, q)
			if page == nil {
				t.Fatal("page is nil; it must encode as []")
			}
			if got := ids(page); !reflect.DeepEqual(got, tt.expectIDs) || matched != tt.expectMatched {
				t.Errorf("page %v matched %d, expect %v matched %d", got, matched, tt.expectIDs, tt.expectMatched)
			}
			if got := ids(items); !reflect.DeepEqual(got, []int{1, 2, 3, 4}) {
				t.Errorf("Apply reordered its input to %v", got)
			}
		})
	}
}

func TestApply_NilQueryReturnsEverything(t *testing.T) {
	t.Parallel()
	page, matched := Apply(testRecords(), nil)
	if got := ids(page); !reflect.DeepEqual(got, []int{1, 2, 3, 4}) || matched != 4 {
		t.Errorf("page %v matched %d", got, matched)
	}
	page, matched = Apply([]rec(nil), nil)
	if page == nil || len(page) != 0 || matched != 0 {
		t.Errorf("page %v matched %d, expect an empty page", page, matched)
	}
}
