package odata

// parseSelect reads $select: "*" for all fields, or a comma-separated list of fields. A
// field named twice is listed once.
func parseSelect(src string, schema Schema) ([]string, *syntaxError) {
	items, err := splitList(src)
	if err != nil || items == nil {
		return nil, err
	}
	if len(items) == 1 && len(items[0]) == 1 && items[0][0].text == "*" {
		return nil, nil
	}
	fields := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, item := range items {
		f := item[0]
		if _, ok := schema[f.text]; !ok {
			return nil, &syntaxError{f.pos, schema.unknownField(f.text)}
		}
		if len(item) > 1 {
			return nil, &syntaxError{item[1].pos, "expected , or the end after " + quote(f.text) + ", got " + quote(item[1].text)}
		}
		if !seen[f.text] {
			seen[f.text] = true
			fields = append(fields, f.text)
		}
	}
	return fields, nil
}
