package odata

// word is a piece of an option value with its byte offset in the value.
type word struct {
	text string
	pos  int
}

// splitList cuts a comma-separated option value ($orderby, $select) into its items, each
// split into whitespace-separated words. A value of only whitespace has no items; an item
// of only whitespace (as in "Id,,Name" or a trailing comma) is an error at its position.
func splitList(src string) ([][]word, *syntaxError) {
	if len(words(src, 0)) == 0 {
		return nil, nil
	}
	var items [][]word
	start := 0
	for i := 0; i <= len(src); i++ {
		if i < len(src) && src[i] != ',' {
			continue
		}
		item := words(src[start:i], start)
		if len(item) == 0 {
			return nil, &syntaxError{i, "expected a field name before " + describeAt(src, i)}
		}
		items = append(items, item)
		start = i + 1
	}
	return items, nil
}

// words splits s at whitespace; offset is s's position in the whole value.
func words(s string, offset int) []word {
	var out []word
	for i := 0; i < len(s); {
		if isSpace(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		out = append(out, word{text: s[i:j], pos: offset + i})
		i = j
	}
	return out
}

// describeAt names what is at byte offset i of src, for an error message.
func describeAt(src string, i int) string {
	if i >= len(src) {
		return "the end"
	}
	return quote(src[i : i+1])
}
