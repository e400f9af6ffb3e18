package odata

import "slices"

// Apply filters, sorts (stably), counts and pages items. It returns the page and the number
// that matched before paging, which is @odata.count. items is not modified; the page is
// never nil, so it encodes as [] in JSON. A nil Query returns every item.
func Apply[T Record](items []T, q *Query) (page []T, matched int) {
	if q == nil {
		return append(make([]T, 0, len(items)), items...), len(items)
	}
	kept := make([]T, 0, len(items))
	for _, it := range items {
		if q.Match(it) {
			kept = append(kept, it)
		}
	}
	if len(q.OrderBy) > 0 {
		slices.SortStableFunc(kept, func(a, b T) int { return q.compare(a, b) })
	}
	matched = len(kept)
	lo := min(max(q.Skip, 0), matched)
	hi := lo + min(max(q.Top, 0), matched-lo)
	return kept[lo:hi:hi], matched
}
