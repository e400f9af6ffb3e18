package odata

import "strings"

// parseOrderBy reads $orderby: a comma-separated list of "Field [asc|desc]", each field at
// most once.
func parseOrderBy(src string, schema Schema) ([]OrderKey, *syntaxError) {
	items, err := splitList(src)
	if err != nil {
		return nil, err
	}
	var keys []OrderKey
	seen := map[string]bool{}
	for _, item := range items {
		f := item[0]
		ft, ok := schema[f.text]
		if !ok {
			return nil, &syntaxError{f.pos, schema.unknownField(f.text)}
		}
		if ft == Object {
			return nil, &syntaxError{f.pos, quote(f.text) + " is a structured field; $orderby cannot use it"}
		}
		if seen[f.text] {
			return nil, &syntaxError{f.pos, quote(f.text) + " is already a sort key"}
		}
		seen[f.text] = true
		key := OrderKey{Field: f.text}
		if len(item) > 1 {
			switch dir := item[1]; {
			case strings.EqualFold(dir.text, "asc"):
			case strings.EqualFold(dir.text, "desc"):
				key.Desc = true
			default:
				return nil, &syntaxError{dir.pos, "expected asc or desc after " + quote(f.text) + ", got " + quote(dir.text)}
			}
		}
		if len(item) > 2 {
			return nil, &syntaxError{item[2].pos, "expected , or the end after " + quote(f.text+" "+item[1].text) +
				", got " + quote(item[2].text)}
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// Less reports whether a sorts before b by the $orderby keys, first key first. Nulls sort
// first ascending and last descending, as in OData; records equal on every key (or any two
// records when there are no keys) are not less, so a stable sort keeps their order.
func (q *Query) Less(a, b Record) bool { return q.compare(a, b) < 0 }

// compare orders a and b by the $orderby keys: negative, zero or positive.
func (q *Query) compare(a, b Record) int {
	if q == nil {
		return 0
	}
	for _, k := range q.OrderBy {
		c := orderValues(fieldValue(a, k.Field), fieldValue(b, k.Field))
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
